// make profile: records a CPU profile of the Worker through workerd's inspector
// (Chrome DevTools protocol on wrangler's --inspector-port) while a load command
// runs, writes the .cpuprofile (open it in Chrome DevTools → Performance) and
// prints the functions that took the most self time.
// Usage: node scripts/profile.mjs <inspector-port> <out.cpuprofile> -- <load command…>
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

const [port, out, sep, ...load] = process.argv.slice(2);
if (!port || !out || sep !== "--" || load.length === 0) {
  console.error("usage: profile.mjs <inspector-port> <out.cpuprofile> -- <load command…>");
  process.exit(2);
}
const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
const target = targets.find((t) => t.webSocketDebuggerUrl);
if (!target) throw new Error(`no debuggable target on inspector port ${port}`);

// wrangler's inspector proxy admits local origins only.
const ws = new WebSocket(target.webSocketDebuggerUrl, { headers: { Origin: "http://localhost" } });
await new Promise((ok, fail) => { ws.onopen = ok; ws.onerror = fail; });
let next = 0;
const waiting = new Map();
ws.onmessage = (m) => {
  const msg = JSON.parse(m.data);
  const w = waiting.get(msg.id);
  if (!w) return;
  waiting.delete(msg.id);
  if (msg.error) w.fail(new Error(JSON.stringify(msg.error))); else w.ok(msg.result);
};
const send = (method, params = {}) => new Promise((ok, fail) => {
  const id = ++next;
  waiting.set(id, { ok, fail });
  ws.send(JSON.stringify({ id, method, params }));
});

await send("Profiler.enable");
await send("Profiler.setSamplingInterval", { interval: 100 }); // µs
await send("Profiler.start");
const run = spawnSync(load[0], load.slice(1), { stdio: ["ignore", "inherit", "inherit"] });
const { profile } = await send("Profiler.stop");
ws.close();
if (run.status !== 0) throw new Error(`load command failed: ${load.join(" ")}`);

mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(profile));

// Self time per function: samples land on nodes; every delta belongs to the sample it precedes.
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map();
let total = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  const f = byId.get(id).callFrame;
  const name = f.functionName || "(anonymous)";
  const where = f.url ? f.url.split("/").pop() : "";
  const key = where ? `${name}  [${where}]` : name;
  self.set(key, (self.get(key) ?? 0) + dt);
  total += dt;
});
// Where the time goes by origin: our wasm, its JS glue, workerd's internals, V8.
const origin = new Map();
profile.samples.forEach((id, i) => {
  const url = byId.get(id).callFrame.url || "";
  const name = byId.get(id).callFrame.functionName;
  const o = name === "(idle)" ? "(idle)" : url.includes(".wasm") ? "our wasm" : url.endsWith("shim.js") || url.endsWith("shim.mjs") ? "wasm-bindgen glue (shim.js)"
    : url.startsWith("cloudflare-internal") || url.startsWith("node-internal") ? "workerd internals (D1, rate limiter, …)" : url ? url.split("/").pop() : "V8 / runtime (no script)";
  origin.set(o, (origin.get(o) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const idle = self.get("(idle)") ?? 0;
const busy = total - idle;
console.log(`\nCPU profile: ${(total / 1e3).toFixed(0)} ms sampled, ${(busy / 1e3).toFixed(0)} ms busy (${(100 * busy / total).toFixed(0)} %), written to ${out}`);
console.log("busy time by origin:");
[...origin.entries()].filter(([k]) => k !== "(idle)").sort((a, b) => b[1] - a[1])
  .forEach(([k, t]) => console.log(`${(100 * t / busy).toFixed(1).padStart(6)} %  ${(t / 1e3).toFixed(1).padStart(8)} ms  ${k}`));
console.log("top functions by self time (share of busy time):");
[...self.entries()].filter(([k]) => k !== "(idle)").sort((a, b) => b[1] - a[1]).slice(0, 30)
  .forEach(([k, t]) => console.log(`${(100 * t / busy).toFixed(1).padStart(6)} %  ${(t / 1e3).toFixed(1).padStart(8)} ms  ${k}`));
process.exit(0); // the inspector proxy does not always finish the close handshake
