// A typed client for the Latchkey API: openapi-fetch over the types
// generated from /openapi.json (src/schema.d.ts; scripts/gen-ts-client.sh).
//
//   const lk = latchkey("https://latchkey.example.com", process.env.LATCHKEY_API_KEY);
//   const { data, error } = await lk.GET("/v1/orgs/{org_id}/members", { params: { path: { org_id } } });
import createClient from "openapi-fetch";
import type { Client } from "openapi-fetch";
import type { components, paths } from "./schema";

export type { components, operations, paths } from "./schema";
export type { Call, Concrete, ListPath, Method, Options, PathOf, RequestBody } from "./routes";

/** The API's named schemas, e.g. `Schemas["TrustPolicyView"]`. */
export type Schemas = components["schemas"];
/** An RFC 9457 problem with its stable `code`. */
export type Problem = Schemas["Problem"];

/** A bearer: an API key, an access token, or a function that gives the current one. */
export type Credential = string | (() => string | undefined);

/** A client for `baseUrl` (e.g. `https://latchkey.example.com`), sending `credential` as the bearer. */
export function latchkey(baseUrl: string, credential?: Credential): Client<paths> {
  const client = createClient<paths>({ baseUrl: baseUrl.replace(/\/+$/, "") });
  if (credential !== undefined) {
    client.use({
      onRequest({ request }) {
        const bearer = typeof credential === "function" ? credential() : credential;
        if (bearer) request.headers.set("Authorization", `Bearer ${bearer}`);
        return request;
      },
    });
  }
  return client;
}

/** Trades a CI job's OIDC token for a temporary key (`POST /v1/oidc/exchange`). */
export async function exchange(baseUrl: string, token: string): Promise<Schemas["ExchangedKey"]> {
  const { data, error } = await latchkey(baseUrl).POST("/v1/oidc/exchange", { body: { token } });
  if (error) throw new LatchkeyError(error);
  return data;
}

/** Revokes the calling key (`DELETE /v1/api-keys/current`), e.g. when a job ends. */
export async function revokeCurrentKey(baseUrl: string, key: string): Promise<void> {
  const { error } = await latchkey(baseUrl, key).DELETE("/v1/api-keys/current");
  if (error) throw new LatchkeyError(error);
}

/** A refusal, carrying the problem's `code`. */
export class LatchkeyError extends Error {
  readonly code: string;
  readonly problem: Problem;
  constructor(problem: Problem) {
    super(problem.detail ?? problem.title);
    this.code = problem.code;
    this.problem = problem;
  }
}
