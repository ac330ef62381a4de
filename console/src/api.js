// The one way the console talks to the Worker: JSON over fetch, same origin,
// the public /v1 API only. Failures become ApiError, which carries the
// problem+json `code`, `detail` and per-field `errors` the forms show.
// Every request's method, path and body are type-checked (`tsc -p
// clients/typescript`) against the types generated from /openapi.json.
// @ts-check
import { session } from "./session.js";

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && problem.detail) || `Request failed (${status})`);
    this.status = status;
    this.code = (problem && problem.code) || "network_error";
    if (this.code === "csrf_rejected") {
      // The Worker accepts browser sessions only from its own address (APP_URL).
      this.message = "Signing in works only at this service's own address. Open the console at the address its emails link to.";
    }
    // { field: message } for validation_failed and password_too_common.
    this.fields = {};
    for (const f of (problem && problem.errors) || []) this.fields[f.field] = f.message;
  }
}

// Sends one request. `auth` (default true) adds the in-memory access token
// and, when it has expired, refreshes once through the cookie and retries.
// `browser` marks the session routes' cookie mode (X-Latchkey-Client).
// `text` answers the body as text (a CSV export) instead of parsed JSON.
/** @typedef {import("../../clients/typescript/src/routes").Call} Call */
/** @typedef {import("../../clients/typescript/src/routes").ListPath} ListPath */
/**
 * A path pattern of the document as the concrete paths that match it.
 * @template {keyof import("../../clients/typescript/src/schema").paths & string} P
 * @typedef {import("../../clients/typescript/src/routes").Concrete<P>} Path
 */
/** @typedef {import("../../clients/typescript/src/schema").components["schemas"]} Schemas */
/**
 * @param {Call} call `[METHOD, path, body?, options?]`, as the document allows
 * @returns {Promise<any>}
 */
export async function api(...call) {
  const [method, path, body, { auth = true, browser = false, text: asText = false } = {}] = call;
  const send = async () => {
    const headers = { accept: asText ? "text/csv, application/problem+json" : "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (browser) headers["x-latchkey-client"] = "browser";
    const token = auth ? session.accessToken() : null;
    if (token) headers.authorization = `Bearer ${token}`;
    let res;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
        cache: "no-store",
      });
    } catch {
      throw new ApiError(0, { detail: "Latchkey could not be reached. Check your connection and try again.", code: "network_error" });
    }
    const text = await res.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    return { res, data, token, text };
  };
  let { res, data, token, text } = await send();
  // The access token expired or its session ended (`unauthenticated`; other
  // 401s, e.g. a wrong current password or 2FA code, are answers to show):
  // one refresh through the cookie, one retry, else signed out.
  const stale = (r, d) => r.status === 401 && d && d.code === "unauthenticated";
  if (stale(res, data) && auth && token) {
    if (await session.refresh()) ({ res, data, text } = await send());
    if (stale(res, data)) session.expired();
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return asText ? text : data;
}

// Every page of a collection, following next_cursor (bounded, for lists a
// screen shows whole).
/**
 * @param {ListPath} path
 * @returns {Promise<any[]>}
 */
export async function all(path, max = 10) {
  const out = [];
  let cursor = null;
  for (let i = 0; i < max; i++) {
    const sep = path.includes("?") ? "&" : "?";
    const query = sep + "limit=100" + (cursor ? "&cursor=" + encodeURIComponent(cursor) : "");
    // `path` is checked by its type; a query string keeps a GET a GET.
    const page = await api(.../** @type {Call} */ (["GET", path + query]));
    out.push(...page.data);
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return out;
}

export const enc = encodeURIComponent;
