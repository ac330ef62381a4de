// Types for a caller that names routes by their concrete path, as the
// console's `api(method, path, body)` does: every (method, path, body) the
// OpenAPI document allows, so `tsc` refuses a path or a body that drifted
// from it. Derived from the generated `paths` (src/schema.d.ts) only.
import type { paths } from "./schema";

export type { paths };

/** The methods the API uses. */
export type Method = "get" | "put" | "post" | "delete" | "patch";

/**
 * A path pattern as the concrete paths that match it:
 * `"/v1/orgs/{org_id}/members"` → `` `/v1/orgs/${string}/members` ``.
 */
export type Concrete<P extends string> = P extends `${infer Head}{${string}}${infer Tail}`
  ? `${Head}${string}${Concrete<Tail>}`
  : P;

/** A concrete path, with or without a query string. */
export type PathOf<P extends string> = Concrete<P> | `${Concrete<P>}?${string}`;

/** The operation of `P` for `M` (`never` when the path has none). */
export type Operation<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;

/** The JSON request body of an operation (`never` when it takes none). */
export type RequestBody<O> = O extends { requestBody?: infer R }
  ? [NonNullable<R>] extends [never]
    ? never
    : NonNullable<R> extends { content: { "application/json": infer B } }
      ? B
      : never
  : never;

/** Options of the console's `api()` besides the route and body. */
export interface Options {
  /** Send the access token (default true). */
  auth?: boolean;
  /** The session routes' cookie mode (`X-Latchkey-Client: browser`). */
  browser?: boolean;
  /** Answer the body as text (a CSV export). */
  text?: boolean;
}

/** The body and options: a body the operation requires, may take, or none. */
type BodyArgs<O> = [RequestBody<O>] extends [never]
  ? [body?: undefined, options?: Options]
  : O extends { requestBody: unknown }
    ? [body: RequestBody<O>, options?: Options]
    : [body?: RequestBody<O>, options?: Options];

/** Every call the document allows: `[METHOD, concrete path, body?, options?]`. */
export type Call = {
  [P in keyof paths & string]: {
    [M in Method]: [Operation<P, M>] extends [never]
      ? never
      : [method: Uppercase<M>, path: PathOf<P>, ...rest: BodyArgs<Operation<P, M>>];
  }[Method];
}[keyof paths & string];

/** Paths of the collections a screen reads whole (GET routes). */
export type ListPath = {
  [P in keyof paths & string]: [Operation<P, "get">] extends [never] ? never : PathOf<P>;
}[keyof paths & string];

/**
 * The console's members panel sends a workspace's member and invitation
 * calls through the org's route types: these routes must exist for both.
 */
type Mirrored = "/members" | "/members/{user_id}" | "/invitations" | "/invitations/{id}" | "/invitations/{id}/resend";
type Exists<P> = [P] extends [keyof paths] ? true : false;
export const workspacesMirrorOrgs: Exists<`/v1/orgs/{org_id}${Mirrored}`> & Exists<`/v1/workspaces/{ws_id}${Mirrored}`> = true;
