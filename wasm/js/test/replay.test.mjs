// The columnar ReplayBuffer of the installed package, against the contract
// in DESIGN.md ("npm package"): shapes and dtypes, copies at the boundary,
// distributions (chi-square at false-alarm rate 1e-3 per test, each with a
// wrong distribution that must be rejected, so the test has power), weights
// against a JS reference written from the formulas, every error code with
// the state unchanged, stale generations, snapshot continuation, and the
// CommonJS and init entries in fresh processes.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { lib, project, codeOf, chi2, chi2Critical } from '../pkg.mjs';

const { ReplayBuffer } = lib;

const SCHEMA = {
  obs: { shape: [2, 2] },
  action: { dtype: 'int32' },
  reward: {},
  id: { dtype: 'uint32' },
  done: { dtype: 'uint8' },
  ret: { dtype: 'float64' },
};

function row(i) {
  return { obs: [i, -i, i / 2, 0.25], action: 3 - i, reward: i / 4, id: i, done: i % 2, ret: i * 1e300 };
}

function filled(options, n) {
  const b = new ReplayBuffer({ columns: SCHEMA, ...options });
  for (let i = 0; i < n; i++) b.add(row(i));
  return b;
}

test('columns: defaults, dtypes, shapes; a batch row j is draw j', () => {
  const b = filled({ capacity: 16, seed: 3 }, 10);
  assert.equal(b.size, 10);
  assert.equal(b.capacity, 16);
  assert.equal(b.beta, 0.4);
  const s = b.sample(32);
  const types = { obs: Float32Array, action: Int32Array, reward: Float32Array, id: Uint32Array, done: Uint8Array, ret: Float64Array };
  for (const [name, T] of Object.entries(types)) assert.ok(s.columns[name] instanceof T, name);
  assert.deepEqual(Object.keys(s.columns), Object.keys(SCHEMA));
  // The result keys in the order DESIGN.md lists them.
  assert.deepEqual(Object.keys(s), ['indices', 'generations', 'weights', 'probabilities', 'columns']);
  const per = new lib.PrioritizedReplayBuffer({ capacity: 4 });
  per.add('x');
  assert.deepEqual(Object.keys(per.sample(1)), ['indices', 'weights', 'probabilities', 'generations', 'items']);
  assert.equal(s.columns.obs.length, 32 * 4);
  for (const k of ['indices', 'generations']) assert.ok(s[k] instanceof Uint32Array);
  for (const k of ['weights', 'probabilities']) assert.ok(s[k] instanceof Float64Array);
  for (let j = 0; j < 32; j++) {
    const i = s.indices[j];
    assert.equal(s.columns.id[j], i, 'rows were added in slot order');
    assert.deepEqual([...s.columns.obs.subarray(4 * j, 4 * j + 4)], [i, -i, i / 2, 0.25]);
    assert.equal(s.columns.action[j], 3 - i);
    assert.equal(s.columns.done[j], i % 2);
    assert.equal(s.columns.ret[j], i * 1e300);
    assert.deepEqual(b.get(i).obs, new Float32Array([i, -i, i / 2, 0.25]));
  }
  // extend: row-major, every column the same count.
  const count = b.extend({
    obs: new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]), action: new Int32Array([7, 8]), reward: [0, 1],
    id: Uint32Array.of(100, 101), done: [1, 0], ret: new Float64Array([0.5, -0.5]),
  }, [1, 2]);
  assert.equal(count, 2);
  assert.equal(b.size, 12);
  assert.deepEqual(b.get(11).obs, new Float32Array([5, 6, 7, 8]));
  assert.equal(b.get(11).id[0], 101);
  assert.equal(b.get(10).ret[0], 0.5);
  b.clear();
  assert.equal(b.size, 0);
  assert.equal(codeOf(() => b.sample(1)), 'Empty');
  b.add(row(5));
  assert.equal(b.get(0).id[0], 5);
  b.free();
});

test('values are copied in and out', () => {
  const b = new ReplayBuffer({ capacity: 4, columns: { x: { shape: [3] } } });
  const x = new Float32Array([1, 2, 3]);
  b.add({ x });
  x[0] = 99;
  const got = b.get(0).x;
  assert.deepEqual([...got], [1, 2, 3]);
  got[1] = 42;
  const s = b.sample(1);
  s.columns.x[2] = -7;
  assert.deepEqual([...b.get(0).x], [1, 2, 3]);
  const many = new Float64Array([4, 5, 6, 7, 8, 9]);
  b.extend({ x: many });
  many.fill(0);
  assert.deepEqual([...b.get(2).x], [7, 8, 9]);
});

/** Counts of `draws` batch-of-one draws (independent, unlike a stratified batch). */
function counts(b, n, draws) {
  const c = new Array(n).fill(0);
  for (let k = 0; k < draws; k++) c[b.sample(1).indices[0]] += 1;
  return c;
}

function assertFits(c, probs, label) {
  const { stat, dof } = chi2(c, probs);
  assert.ok(stat < chi2Critical(dof), `${label}: chi2 ${stat.toFixed(1)} on ${dof} df`);
}

function assertRejects(c, probs, label) {
  const { stat, dof } = chi2(c, probs);
  assert.ok(stat > chi2Critical(dof), `${label}: a wrong distribution passed (chi2 ${stat.toFixed(1)} on ${dof} df)`);
}

test('distributions: proportional, rank and uniform match their P(i) (chi-square)', () => {
  const n = 24, draws = 24000;
  const priorities = Array.from({ length: n }, (_, i) => 0.05 + ((i * 7) % n) / 4);
  const uniformP = new Array(n).fill(1 / n);
  // proportional: P ∝ (x + eps)^alpha
  const prop = new ReplayBuffer({ capacity: n, columns: { x: {} }, alpha: 0.7, seed: 11 });
  priorities.forEach((p, i) => prop.add({ x: i }, p));
  const pp = priorities.map((p) => (p + 1e-6) ** 0.7);
  const propP = pp.map((p) => p / pp.reduce((a, b) => a + b, 0));
  const pc = counts(prop, n, draws);
  assertFits(pc, propP, 'proportional');
  assertRejects(pc, uniformP, 'proportional against uniform');
  // rank: P ∝ rank^-alpha, rank 1 the largest priority
  const rank = new ReplayBuffer({ capacity: n, columns: { x: {} }, kind: 'rank', seed: 12 });
  priorities.forEach((p, i) => rank.add({ x: i }, p));
  const order = priorities.map((p, i) => [p, i]).sort((a, b) => b[0] - a[0]);
  const rp = new Array(n);
  order.forEach(([, i], r) => { rp[i] = (r + 1) ** -0.7; });
  const rankP = rp.map((p) => p / rp.reduce((a, b) => a + b, 0));
  const rc = counts(rank, n, draws);
  assertFits(rc, rankP, 'rank');
  assertRejects(rc, propP, 'rank against proportional');
  // uniform
  const uni = new ReplayBuffer({ capacity: n, columns: { x: {} }, kind: 'uniform', seed: 13 });
  priorities.forEach((p, i) => uni.add({ x: i }, p));
  const uc = counts(uni, n, draws);
  assertFits(uc, uniformP, 'uniform');
  assertRejects(uc, propP, 'uniform against proportional');
});

test('without replacement: distinct rows; uniform inclusion B/N', () => {
  for (const kind of ['proportional', 'rank', 'uniform']) {
    const b = filled({ capacity: 32, kind, withoutReplacement: true, seed: 5 }, 20);
    for (let t = 0; t < 50; t++) {
      const s = b.sample(20);
      assert.equal(new Set(s.indices).size, 20, kind);
      b.updatePriorities(s.indices, s.indices.map((i) => i % 5), s.generations);
    }
    assert.equal(codeOf(() => b.sample(21)), 'BatchTooLarge', kind);
  }
  const n = 16, k = 4, rounds = 6000;
  const b = new ReplayBuffer({ capacity: n, columns: { x: {} }, kind: 'uniform', withoutReplacement: true, seed: 9 });
  for (let i = 0; i < n; i++) b.add({ x: i });
  const c = new Array(n).fill(0);
  for (let t = 0; t < rounds; t++) for (const i of b.sample(k).indices) c[i] += 1;
  assertFits(c, new Array(n).fill(1 / n), 'uniform inclusion');
});

test('weights and probabilities equal a JS reference of the formulas, with beta annealed', () => {
  const n = 40, alpha = 0.6, beta0 = 0.4, betaSteps = 10, eps = 1e-6;
  const b = new ReplayBuffer({ capacity: 64, columns: { x: {} }, alpha, beta: beta0, betaFinal: 1, betaSteps, seed: 21 });
  const raw = [];
  for (let i = 0; i < n; i++) {
    const x = i % 7 === 0 ? 1e-300 : i * 3.5 + 0.25; // tiny and large priorities side by side
    raw.push(x);
    b.add({ x: i }, x);
  }
  for (let t = 0; t < 25; t++) {
    const beta = beta0 + (1 - beta0) * Math.min(t / betaSteps, 1);
    assert.ok(Math.abs(b.beta - beta) < 1e-15, `beta at step ${t}`);
    const p = raw.map((x) => (x + eps) ** alpha);
    const total = p.reduce((a, c) => a + c, 0);
    const pmin = Math.min(...p);
    const s = b.sample(16);
    for (let j = 0; j < 16; j++) {
      const i = s.indices[j];
      const P = p[i] / total;
      const w = (pmin / p[i]) ** beta;
      assert.ok(Math.abs(s.probabilities[j] - P) <= 1e-12 * P, `P(${i}) ${s.probabilities[j]} vs ${P}`);
      assert.ok(Math.abs(s.weights[j] - w) <= 1e-12 * w, `w(${i}) ${s.weights[j]} vs ${w}`);
    }
    const td = Array.from(s.indices, (i) => ((i * 13 + t) % 11) - 5); // signs are dropped
    b.updatePriorities(s.indices, td, s.generations);
    // A slot drawn twice takes its last update.
    s.indices.forEach((i, j) => { raw[i] = Math.abs(td[j]); });
  }
  // uniform: P = 1/N, weights 1, beta 0
  const u = filled({ capacity: 8, kind: 'uniform' }, 5);
  const s = u.sample(6);
  assert.deepEqual([...s.weights], new Array(6).fill(1));
  assert.deepEqual([...s.probabilities], new Array(6).fill(1 / 5));
  assert.equal(u.beta, 0);
});

test('every error code, with the state unchanged', () => {
  const configs = [
    [() => new ReplayBuffer(), 'InvalidConfig'],
    [() => new ReplayBuffer({ capacity: 4 }), 'InvalidConfig'],
    [() => new ReplayBuffer({ capacity: 4, columns: {} }), 'InvalidConfig'],
    [() => new ReplayBuffer({ capacity: 0, columns: { x: {} } }), 'InvalidConfig'],
    [() => new ReplayBuffer({ capacity: 4, columns: { x: { shape: [0] } } }), 'InvalidConfig'],
    [() => new ReplayBuffer({ capacity: 4, columns: { x: { shape: [2.5] } } }), 'InvalidConfig'],
    [() => new ReplayBuffer({ capacity: 4, columns: { x: { shape: 3 } } }), 'InvalidConfig'],
    [() => new ReplayBuffer({ capacity: 4, columns: { x: { shape: [1, 1, 1, 1, 1, 1, 1, 1, 1] } } }), 'InvalidConfig'],
    [() => new ReplayBuffer({ capacity: 4, columns: { x: { dtype: 'int64' } } }), 'InvalidConfig'],
    [() => new ReplayBuffer({ capacity: 4, columns: { x: { dtype: 'float32', size: 2 } } }), 'InvalidConfig'],
    [() => new ReplayBuffer({ capacity: 4, columns: { x: {} }, kind: 'prioritized' }), 'InvalidConfig'],
    [() => new ReplayBuffer({ capacity: 4, columns: { x: {} }, alpah: 1 }), 'InvalidConfig'],
    [() => new ReplayBuffer({ capacity: 4, columns: { x: {} }, alpha: 2 }), 'InvalidConfig'],
    [() => new ReplayBuffer({ capacity: 4, columns: { x: {} }, withoutReplacement: 'yes' }), 'InvalidConfig'],
    [() => new ReplayBuffer({ capacity: 4, columns: [{ x: {} }] }), 'InvalidConfig'],
  ];
  configs.forEach(([f, code], k) => assert.equal(codeOf(f), code, `config case ${k}: ${f}`));

  for (const kind of ['proportional', 'rank', 'uniform']) {
    const b = new ReplayBuffer({ capacity: 8, columns: SCHEMA, kind, withoutReplacement: kind === 'rank', seed: 2 });
    assert.equal(codeOf(() => b.sample(1)), 'Empty');
    for (let i = 0; i < 5; i++) b.add(row(i));
    const before = b.snapshot();
    const check = (f, code) => {
      assert.equal(codeOf(f), code, `${kind}: ${f}`);
      assert.deepEqual(b.snapshot(), before, `${kind}: state changed by ${f}`);
    };
    const ok = row(9);
    check(() => b.add({ ...ok, action: 1.5 }), 'SchemaMismatch');
    check(() => b.add({ ...ok, action: NaN }), 'SchemaMismatch');
    check(() => b.add({ ...ok, action: 2 ** 31 }), 'SchemaMismatch');
    check(() => b.add({ ...ok, done: 256 }), 'SchemaMismatch');
    check(() => b.add({ ...ok, done: -1 }), 'SchemaMismatch');
    check(() => b.add({ ...ok, id: -1 }), 'SchemaMismatch');
    check(() => b.add({ ...ok, reward: 1e39 }), 'SchemaMismatch');
    check(() => b.add({ ...ok, obs: [1, 2, 3] }), 'SchemaMismatch');
    check(() => b.add({ ...ok, obs: 1 }), 'SchemaMismatch');
    check(() => { const r = { ...ok }; delete r.ret; b.add(r); }, 'SchemaMismatch');
    check(() => b.add({ ...ok, extra: 1 }), 'SchemaMismatch');
    check(() => b.add({ ...ok, obs: 'abcd' }), 'InvalidArgument');
    check(() => b.add([1, 2]), 'InvalidArgument');
    check(() => b.add(7), 'InvalidArgument');
    check(() => b.extend({ obs: new Float32Array(8), action: [1, 2], reward: [0, 0], id: [1, 2], done: [0, 0], ret: [0] }), 'SchemaMismatch');
    check(() => b.extend({ obs: new Float32Array(7), action: [1, 2], reward: [0, 0], id: [1, 2], done: [0, 0], ret: [0, 0] }), 'SchemaMismatch');
    check(() => b.extend({ obs: new Float32Array(8), action: [1, 2.5], reward: [0, 0], id: [1, 2], done: [0, 0], ret: [0, 0] }), 'SchemaMismatch');
    check(() => b.extend({ obs: new Float32Array(8), action: [1, 2], reward: [0, 0], id: [1, 2], done: [0, 0], ret: [0, 0] }, [1]), 'LengthMismatch');
    check(() => b.get(5), 'IndexOutOfRange');
    check(() => b.get(-1), 'InvalidArgument');
    check(() => b.sample('2'), 'InvalidArgument');
    check(() => b.sample(2 ** 24), 'InvalidArgument');
    check(() => b.updatePriorities([0, 1], [1]), 'LengthMismatch');
    check(() => b.updatePriorities([0, 1], [1, 1], [0]), 'LengthMismatch');
    check(() => b.updatePriorities([0, 9], [1, 1]), 'IndexOutOfRange');
    check(() => b.updatePriorities([0, 1], [1, NaN]), 'InvalidPriority');
    check(() => b.updatePriorities([0, 1], [1, 1e300]), 'ValueTooLarge');
    check(() => b.add(ok, -1), 'InvalidPriority');
    check(() => b.add(ok, Infinity), 'InvalidPriority');
    check(() => b.add(ok, 1e300), 'ValueTooLarge');
    if (kind === 'rank') check(() => b.sample(6), 'BatchTooLarge');
    const snap = b.snapshot();
    check(() => ReplayBuffer.restore(snap.subarray(0, snap.length - 1)), 'CorruptSnapshot');
    const flipped = snap.slice();
    flipped[20] ^= 4;
    check(() => ReplayBuffer.restore(flipped), 'CorruptSnapshot');
    const version = snap.slice();
    version[4] = 9;
    check(() => ReplayBuffer.restore(version), 'UnsupportedSnapshotVersion');
    check(() => ReplayBuffer.restore([1, 2, 3]), 'InvalidArgument');
    // Still usable.
    assert.equal(b.add(ok), 5);
  }
});

test('memory the module cannot get is AllocationFailed, and the buffer keeps working', () => {
  const wide = new ReplayBuffer({ capacity: 4, columns: { x: { shape: [1 << 16] } } });
  wide.add({ x: new Float32Array(1 << 16).fill(0.5) });
  const before = wide.snapshot();
  assert.equal(codeOf(() => wide.sample(1 << 16)), 'AllocationFailed'); // 16 GiB of output
  assert.deepEqual(wide.snapshot(), before);
  assert.equal(wide.sample(1).columns.x[7], 0.5);
  // A row whose bytes overflow, refused before anything is allocated.
  assert.equal(codeOf(() => new ReplayBuffer({ capacity: 2 ** 32 - 1, columns: { x: { shape: [2 ** 31, 2 ** 31] } } })), 'InvalidConfig');
});

test('stale generations: updates to overwritten slots are skipped and counted', () => {
  const b = new ReplayBuffer({ capacity: 8, columns: { x: {} }, seed: 4 });
  for (let i = 0; i < 8; i++) b.add({ x: i }, 1);
  const s = b.sample(8);
  b.add({ x: 8 }, 1); // slot 0
  b.add({ x: 9 }, 1); // slot 1
  const expectStale = [...s.indices].filter((i) => i < 2).length;
  const twin = ReplayBuffer.restore(b.snapshot());
  assert.equal(b.updatePriorities(s.indices, new Array(8).fill(5), s.generations), expectStale);
  // The stale entries changed nothing: the same update without them gives the same state.
  const keep = [...s.indices.keys()].filter((j) => s.indices[j] >= 2);
  assert.equal(twin.updatePriorities(keep.map((j) => s.indices[j]), keep.map(() => 5), keep.map((j) => s.generations[j])), 0);
  assert.deepEqual(b.snapshot(), twin.snapshot());
  assert.equal(b.get(0).x[0], 8);
  const again = b.sample(4);
  assert.ok(again.generations.every((g, j) => g === (again.indices[j] < 2 ? 1 : 0)));
  // Without generations, the current rows are updated.
  assert.equal(b.updatePriorities([0, 1], [1, 1]), 0);
});

test('snapshot: a restored buffer continues exactly, for every kind', () => {
  for (const kind of ['proportional', 'rank', 'uniform']) {
    const a = filled({ capacity: 12, kind, seed: 8, betaSteps: 30 }, 17); // wrapped
    const run = (b) => {
      const out = [];
      for (let t = 0; t < 30; t++) {
        const s = b.sample(5);
        out.push([...s.indices, ...s.weights, ...s.probabilities, ...s.columns.obs, ...s.columns.ret, b.beta]);
        b.updatePriorities(s.indices, Array.from(s.indices, (i) => (i + t) % 4), s.generations);
        if (t % 7 === 0) b.add(row(100 + t), t % 2 ? 0.5 : undefined);
      }
      return out;
    };
    const bytes = a.snapshot();
    const b = ReplayBuffer.restore(bytes);
    assert.equal(b.size, a.size);
    assert.equal(b.capacity, a.capacity);
    assert.deepEqual(run(b), run(a), kind);
    assert.deepEqual(a.snapshot(), b.snapshot());
  }
});

test('CommonJS: require("adasample") gives the same draws as the ESM entry', () => {
  const ref = new ReplayBuffer({ capacity: 16, columns: { x: { dtype: 'uint8' } }, seed: 77 });
  for (let i = 0; i < 10; i++) ref.add({ x: i }, i + 1);
  const want = [...ref.sample(8).indices].join(',');
  const file = path.join(project, 'user.cjs');
  fs.writeFileSync(file, `const { ReplayBuffer, SumTree, PrioritizedReplayBuffer, AdaptiveBatchSampler, RewardWeightedSampler, iwSftWeights } = require('adasample');
const b = new ReplayBuffer({ capacity: 16, columns: { x: { dtype: 'uint8' } }, seed: 77 });
for (let i = 0; i < 10; i++) b.add({ x: i }, i + 1);
let code = null;
try { b.add({ x: 300 }); } catch (e) { code = e.code; }
console.log(JSON.stringify({ draws: [...b.sample(8).indices].join(','), code, classes: [SumTree, PrioritizedReplayBuffer, AdaptiveBatchSampler, RewardWeightedSampler, iwSftWeights].map((c) => typeof c) }));
`);
  const got = JSON.parse(execFileSync(process.execPath, [file], { cwd: project, encoding: 'utf8' }));
  assert.equal(got.draws, want);
  assert.equal(got.code, 'SchemaMismatch');
  assert.deepEqual(got.classes, new Array(5).fill('function'));
});

test('adasample/init with a precompiled module; adasample/wasm is the module', () => {
  const file = path.join(project, 'edge.mjs');
  fs.writeFileSync(file, `import { init, ReplayBuffer, SumTree } from 'adasample/init';
import { readFileSync } from 'node:fs';
const out = {};
try { new SumTree(4); out.before = 'no error'; } catch (e) { out.before = e instanceof Error; }
try { await init('not a module'); } catch (e) { out.bad = e.code; }
const bytes = readFileSync(new URL(import.meta.resolve('adasample/wasm')));
out.magic = [...bytes.subarray(0, 4)].join(',');
const module = new WebAssembly.Module(bytes); // what an edge runtime's bundler hands over
const p = init(Promise.resolve(module));
out.same = p === init(module);
await p;
const b = new ReplayBuffer({ capacity: 16, columns: { x: { dtype: 'uint8' } }, seed: 77 });
for (let i = 0; i < 10; i++) b.add({ x: i }, i + 1);
out.draws = [...b.sample(8).indices].join(',');
console.log(JSON.stringify(out));
`);
  const got = JSON.parse(execFileSync(process.execPath, [file], { cwd: project, encoding: 'utf8' }));
  const ref = new ReplayBuffer({ capacity: 16, columns: { x: { dtype: 'uint8' } }, seed: 77 });
  for (let i = 0; i < 10; i++) ref.add({ x: i }, i + 1);
  assert.equal(got.before, true, 'a class used before init throws');
  assert.equal(got.bad, 'InvalidArgument');
  assert.equal(got.magic, '0,97,115,109');
  assert.equal(got.same, true);
  assert.equal(got.draws, [...ref.sample(8).indices].join(','));
  // The init entry does not pull in the inlined module.
  const init = fs.readFileSync(path.join(project, 'node_modules', 'adasample', 'init.js'), 'utf8');
  assert.ok(!init.includes('adasample_wasm'), 'init.js imports the inlined module');
});
