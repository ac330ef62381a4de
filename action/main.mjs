// The action's main step: the job's OIDC token (GitHub's token endpoint,
// for the trust policy's audience) → POST /v1/oidc/exchange → a temporary
// key, masked, exported as LATCHKEY_API_KEY, kept for the post step.
import { input, command, Failure, appendTo, apiBase, problem, redact, TIMEOUT_MS } from "./lib.mjs";

const KEY = /^lk_[A-Za-z0-9_]+$/;

async function idToken(audience) {
  const url = process.env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const bearer = process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (!url || !bearer) {
    throw new Failure(
      "id_token_unavailable",
      "this job cannot request an OIDC token: give the workflow or job `permissions: id-token: write`",
    );
  }
  const target = new URL(url);
  target.searchParams.set("audience", audience);
  let last = "";
  // GitHub's endpoint is retried on a network error or a 5xx (asking is idempotent).
  for (let attempt = 1; attempt <= 3; attempt++) {
    let res;
    try {
      res = await fetch(target, {
        headers: { authorization: `bearer ${bearer}`, accept: "application/json" },
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (e) {
      last = `could not reach GitHub's token endpoint (${e.name})`;
      await new Promise((r) => setTimeout(r, 1000 * attempt));
      continue;
    }
    if (res.ok) {
      const body = await res.json().catch(() => null);
      if (!body || typeof body.value !== "string" || !body.value) {
        throw new Failure("id_token_request_failed", "GitHub's token endpoint answered without a token");
      }
      return body.value;
    }
    last = `GitHub's token endpoint answered ${res.status}`;
    if (res.status < 500) break;
    await new Promise((r) => setTimeout(r, 1000 * attempt));
  }
  throw new Failure("id_token_request_failed", last);
}

async function exchange(base, token) {
  let res;
  try {
    res = await fetch(`${base}/v1/oidc/exchange`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ token }),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (e) {
    throw new Failure("exchange_unreachable", `could not reach ${base} (${e.name})`);
  }
  if (!res.ok) {
    const { code, detail } = await problem(res);
    throw new Failure(code, `Latchkey refused the token (${res.status}): ${redact(detail, token)}`);
  }
  const body = await res.json().catch(() => null);
  if (!body || typeof body.key !== "string" || !KEY.test(body.key)) {
    throw new Failure("unexpected_answer", "the exchange answered without a key");
  }
  return body;
}

async function main() {
  const orgId = input("org-id");
  if (!orgId) throw new Failure("input_missing", "the org-id input is required");
  const rawUrl = input("api-url");
  if (!rawUrl) throw new Failure("input_missing", "the api-url input is required (your deployment's base URL)");
  const base = apiBase(rawUrl);
  const audience = input("audience") || `latchkey:${orgId}`;
  const revoke = (input("revoke") || "true").toLowerCase() !== "false";

  const token = await idToken(audience);
  // As GitHub's own toolkit does: the token never shows in the log.
  command("add-mask", token);
  const got = await exchange(base, token);
  const key = got.key;
  command("add-mask", key);

  appendTo("GITHUB_ENV", [["LATCHKEY_API_KEY", key]]);
  const outputs = [];
  if (typeof got.expires_at === "string") outputs.push(["expires-at", got.expires_at]);
  if (typeof got.key_id === "string") outputs.push(["key-id", got.key_id]);
  appendTo("GITHUB_OUTPUT", outputs);
  if (revoke) appendTo("GITHUB_STATE", [["key", key], ["api_url", base]]);

  const scopes = Array.isArray(got.scopes) ? got.scopes.join(" ") : "";
  console.log(`Latchkey: a temporary key ${got.key_id || ""} for ${orgId}, scopes ${scopes}, until ${got.expires_at}` +
    (revoke ? "; revoked when the job ends." : "."));
}

main().catch((e) => {
  if (e instanceof Failure) {
    command("error", `${e.code}: ${e.message}`);
  } else {
    command("error", `internal_error: ${e && e.name ? e.name : "error"}`);
  }
  process.exitCode = 1;
});
