// The action's post step: revokes the key main.mjs obtained
// (DELETE /v1/api-keys/current with the key itself). A failure here never
// fails the job: the key expires on its own soon anyway; it is a warning.
import { command, problem, TIMEOUT_MS } from "./lib.mjs";

async function post() {
  const key = process.env.STATE_key;
  const base = process.env.STATE_api_url;
  if (!key || !base) return; // nothing obtained, or revoke: false
  let res;
  try {
    res = await fetch(`${base}/v1/api-keys/current`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${key}`, accept: "application/json" },
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (e) {
    command("warning", `Latchkey: could not revoke the temporary key (${e.name}); it expires on its own`);
    return;
  }
  if (res.status === 204) {
    console.log("Latchkey: the temporary key is revoked.");
    return;
  }
  const { code } = await problem(res);
  command("warning", `Latchkey: the temporary key was not revoked (${res.status} ${code}); it expires on its own`);
}

post().catch((e) => {
  command("warning", `Latchkey: revoking the key failed (${e && e.name ? e.name : "error"})`);
});
