// The wasm side: median process CPU time of one hash in V8 (three warm-up
// hashes first, as a Worker's isolate would be warm), printed in ms.
import { readFileSync } from 'node:fs';
const n = +(process.argv[3] || 15);
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]), {});
const ms = [];
for (let i = 0; i < n + 3; i++) {
  const started = process.cpuUsage();
  if (instance.exports.run(i) === 0) throw new Error('hashing failed');
  const used = process.cpuUsage(started);
  if (i >= 3) ms.push((used.user + used.system) / 1000);
}
ms.sort((a, b) => a - b);
console.log(ms[ms.length >> 1].toFixed(1));
