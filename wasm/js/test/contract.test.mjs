// The JS contract: names, defaults, result types, items, stale generations,
// snapshot/restore continuing identically.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { lib, project } from '../pkg.mjs';

const { SumTree, PrioritizedReplayBuffer, AdaptiveBatchSampler, RewardWeightedSampler, iwSftWeights } = lib;

test('exports exactly the contract', () => {
  const classes = ['AdaptiveBatchSampler', 'PrioritizedReplayBuffer', 'ReplayBuffer', 'RewardWeightedSampler', 'SumTree', 'iwSftWeights'];
  assert.deepEqual(Object.keys(lib).sort(), classes);
  // The package's exports map: the three entries and the raw module, nothing else.
  const pkg = JSON.parse(fs.readFileSync(path.join(project, 'node_modules', 'adasample', 'package.json'), 'utf8'));
  assert.deepEqual(Object.keys(pkg.exports).sort(), ['.', './init', './package.json', './wasm']);
  for (const k of ['repository', 'homepage', 'bugs', 'license', 'keywords']) assert.ok(pkg[k], k);
});

test('PER: getters, defaults equal to Rust, typed results, arbitrary items', () => {
  const r = new PrioritizedReplayBuffer({ capacity: 4 });
  assert.equal(r.capacity, 4);
  assert.equal(r.size, 0);
  assert.equal(r.beta, 0.4);
  assert.equal(new PrioritizedReplayBuffer({ capacity: 4, rank: true }).beta, 0.5);
  const items = [{ a: 1 }, 'two', [3], null, undefined, 6];
  items.forEach((it) => r.add(it));
  assert.equal(r.size, 4);
  const s = r.sample(8);
  assert.ok(s.indices instanceof Uint32Array && s.generations instanceof Uint32Array);
  assert.ok(s.weights instanceof Float64Array && s.probabilities instanceof Float64Array);
  assert.ok(Array.isArray(s.items) && s.items.length === 8);
  // Slots 0 and 1 were overwritten by `undefined` and 6 (generation 1).
  s.indices.forEach((slot, j) => {
    const want = [undefined, 6, [3], null][slot];
    assert.deepEqual(s.items[j], want);
    assert.equal(s.generations[j], slot < 2 ? 1 : 0);
  });
  // Items come back as the very objects stored, not copies.
  const arr = r.sample(64).items.find((x) => Array.isArray(x));
  assert.equal(arr, r.sample(64).items.find((x) => Array.isArray(x)));
});

test('PER: a new item gets the largest raw priority seen; add(item, p) uses p', () => {
  const r = new PrioritizedReplayBuffer({ capacity: 8, alpha: 1, epsilon: 0 });
  r.add('a', 3);
  r.add('b');       // max raw seen: 3
  r.add('c', 1);
  const s = r.sample(1000);
  const freq = (slot) => s.indices.filter((i) => i === slot).length / 1000;
  assert.ok(Math.abs(freq(0) - 3 / 7) < 0.01 && Math.abs(freq(1) - 3 / 7) < 0.01 && Math.abs(freq(2) - 1 / 7) < 0.01);
});

test('PER: stale generations are skipped and counted', () => {
  const r = new PrioritizedReplayBuffer({ capacity: 3, seed: 9 });
  ['a', 'b', 'c'].forEach((x) => r.add(x));
  const s = r.sample(3);
  r.add('d'); // overwrites slot 0
  const stale = r.updatePriorities(s.indices, [5, 5, 5], s.generations);
  assert.equal(stale, s.indices.filter((i) => i === 0).length);
  // Without generations the current items are updated.
  assert.equal(r.updatePriorities([0, 1], [1, 1]), 0);
});

test('PER: snapshot/restore continues identically (items, schedule, generator)', () => {
  for (const rank of [false, true]) {
    const a = new PrioritizedReplayBuffer({ capacity: 32, rank, seed: 12, betaSteps: 10 });
    for (let i = 0; i < 50; i++) a.add({ i, tag: `t${i}` });
    for (let k = 0; k < 5; k++) {
      const s = a.sample(8);
      a.updatePriorities(s.indices, s.indices.map((x) => Math.sin(x + k)), s.generations);
    }
    const b = PrioritizedReplayBuffer.restore(a.snapshot());
    assert.equal(b.beta, a.beta);
    assert.equal(b.size, a.size);
    for (let k = 0; k < 10; k++) {
      const sa = a.sample(8), sb = b.sample(8);
      assert.deepEqual(sb, sa);
      a.updatePriorities(sa.indices, sa.weights, sa.generations);
      b.updatePriorities(sb.indices, sb.weights, sb.generations);
      a.add(k); b.add(k);
    }
  }
});

test('adaptive, reward, tree and iw: shapes and defaults', () => {
  const a = new AdaptiveBatchSampler({ datasetSize: 10 });
  const { indices, weights } = a.sample(4);
  assert.ok(indices instanceof Uint32Array && weights instanceof Float64Array);
  assert.deepEqual([...a.probabilities()], new Array(10).fill(0.1));
  a.updateWeights(new Uint32Array([0]), new Float64Array([5]));
  assert.ok(a.probabilities()[0] > 0.1);
  for (const mode of ['ema', 'adaboost', 'ohem']) new AdaptiveBatchSampler({ datasetSize: 4, mode }).sample(2);

  const s = new RewardWeightedSampler({ temperature: 0.5, maxWeight: 20, seed: 3 });
  assert.equal(s.push(1), 0);
  s.extend(new Float32Array([2, 3]));
  assert.equal(s.push(0), 3);
  assert.equal(s.size, 4);
  const r = s.sample(5);
  assert.ok(r.indices.every((i) => i < 4));

  const t = new SumTree(4);
  t.set(0, 1); t.set(2, 3);
  assert.deepEqual([t.total(), t.min(), t.find(0.5), t.find(1), t.get(2), t.capacity], [4, 1, 0, 2, 3, 4]);

  const w = iwSftWeights({ policyLogProbs: new Float32Array([-1, -1]), refLogProbs: [-1, -1], seqLen: 1, mode: 'token', mask: [true, false] });
  assert.deepEqual([...w], [1, 0]);
});
