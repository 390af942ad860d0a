// The wasm build in Node on bench.py's workload, through the npm package's
// own API:
//   node tests/perf/wasm.mjs N B         PrioritizedReplayBuffer (items are JS
//                                        numbers; sample returns typed arrays and items)
//   node tests/perf/wasm.mjs N B table   ReplayBuffer, the columnar headline: a
//                                        float32 obs of 4 values, an int32 action and
//                                        a float32 reward (peers' adasample-table)
// -> one JSON line
import { PrioritizedReplayBuffer, ReplayBuffer } from '../../wasm/pkg/index.js';

const [n, b] = process.argv.slice(2, 4).map(Number);
const table = process.argv[4] === 'table';
if (!(n > 0 && b > 0)) {
  console.error('usage: node tests/perf/wasm.mjs N B [table]');
  process.exit(2);
}
// Raw priorities uniform in [0.001, 2.001), as peers/src/main.rs draws them
// (a 32-bit xorshift here: BigInt arithmetic would cost more than the step).
let state = 0x9e3779b9;
function next() {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) / 2 ** 32 * 2 + 1e-3;
}
const options = { capacity: n, alpha: 0.6, beta: 0.4, epsilon: 1e-6, seed: 1 };
const columns = { obs: { shape: [4] }, action: { dtype: 'int32' }, reward: {} };
const per = table ? new ReplayBuffer({ ...options, columns }) : new PrioritizedReplayBuffer(options);
const obs = new Float32Array([0, 0.5, -0.5, 1]);
const row = (i) => {
  obs[0] = i;
  return { obs, action: i % 2, reward: 1 };
};
for (let i = 0; i < n; i++) per.add(table ? row(i) : i, next());

function time(f, secs = 1) {
  let t = performance.now();
  f();
  const first = (performance.now() - t) / 1e3;
  const reps = Math.max(3, Math.floor(secs / Math.max(first, 1e-9)));
  t = performance.now();
  for (let r = 0; r < reps; r++) f();
  return (performance.now() - t) / 1e3 / reps;
}
const tds = new Float64Array(b);
// Warm-up: V8 runs wasm first as baseline (Liftoff) code and tiers hot
// functions up to optimized code after a while; a training loop runs for
// hours, so the steady state is what compares with native.
const warm = performance.now();
while (performance.now() - warm < 1500) {
  const s = per.sample(b);
  for (let j = 0; j < b; j++) tds[j] = next();
  per.updatePriorities(s.indices, tds, s.generations);
}
const sample = time(() => per.sample(b));
const step = time(() => {
  const s = per.sample(b);
  for (let j = 0; j < b; j++) tds[j] = next();
  per.updatePriorities(s.indices, tds, s.generations);
});
// The update alone: one of 32 batches drawn beforehand, in turn.
const batches = Array.from({ length: 32 }, () => per.sample(b));
let turn = 0;
const update = time(() => {
  const s = batches[turn++ % batches.length];
  for (let j = 0; j < b; j++) tds[j] = next();
  per.updatePriorities(s.indices, tds, s.generations);
});
let item = 0;
const chunks = Math.max(1, Math.floor(Math.min(n, 1 << 18) / b));
const add = time(() => {
  for (let c = 0; c < chunks * b; c++) per.add(table ? row(item++) : item++);
});
console.log(JSON.stringify({
  system: table ? 'adasample-wasm-table' : 'adasample-wasm', n, b,
  sample_ns_per_index: +(sample / b * 1e9).toFixed(2),
  step_per_s: +(1 / step).toFixed(1),
  add_per_s: Math.round(chunks * b / add),
  update_per_s: +(1 / update).toFixed(1),
}));
