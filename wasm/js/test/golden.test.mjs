// The golden vectors of tests/golden/, reproduced exactly through the public
// JS API of the installed package: same seed, same indices and weights as the
// native core, bit for bit.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { lib, goldenDir } from '../pkg.mjs';

const { ReplayBuffer, PrioritizedReplayBuffer, AdaptiveBatchSampler, RewardWeightedSampler, iwSftWeights } = lib;
const load = (name) => JSON.parse(fs.readFileSync(path.join(goldenDir, `${name}.json`), 'utf8'));
// Object.is distinguishes -0 and compares NaN; for finite doubles it is bit equality.
const sameBits = (got, want, what) => {
  assert.equal(got.length, want.length, what);
  want.forEach((w, i) => assert.ok(Object.is(got[i], w), `${what}[${i}]: ${got[i]} !== ${w}`));
};

/** Replays a PER golden file on a buffer: `add(k, priority)` adds item k, `items(sample)` reads them back. */
function replayPer(c, r, add, items) {
  let item = 0;
  for (const op of c.ops) {
    if (op.op === 'add') {
      const slots = op.priorities.map((p) => add(item++, p === null ? undefined : p));
      assert.deepEqual(slots, op.expect.slots);
    } else if (op.op === 'sample') {
      assert.ok(Object.is(r.beta, op.expect.beta));
      const s = r.sample(op.batch);
      assert.deepEqual([...s.indices], op.expect.slots);
      assert.deepEqual([...s.generations], op.expect.generations);
      assert.deepEqual(items(s), op.expect.items);
      sameBits(s.probabilities, op.expect.probabilities, 'probabilities');
      sameBits(s.weights, op.expect.weights, 'weights');
    } else if (op.op === 'update') {
      assert.equal(r.updatePriorities(op.slots, op.tdErrors, op.generations), op.expect.stale);
    } else throw new Error(op.op);
  }
}

for (const name of ['per_proportional', 'per_rank', 'per_fixed1024']) {
  test(`golden ${name}`, () => {
    const c = load(name);
    const r = new PrioritizedReplayBuffer(c.config);
    replayPer(c, r, (k, p) => r.add(k, p), (s) => s.items);
  });
  // The columnar ReplayBuffer holds the same selector: the same vectors, with
  // each item as a row of a uint32 column.
  test(`golden ${name} through ReplayBuffer`, () => {
    const c = load(name);
    const { rank, ...options } = c.config;
    const r = new ReplayBuffer({ ...options, kind: rank ? 'rank' : 'proportional', columns: { item: { dtype: 'uint32' } } });
    replayPer(c, r, (k, p) => r.add({ item: k }, p), (s) => [...s.columns.item]);
  });
}

for (const name of ['adaptive_ema', 'adaptive_adaboost', 'adaptive_ohem']) {
  test(`golden ${name}`, () => {
    const c = load(name);
    const s = new AdaptiveBatchSampler(c.config);
    for (const op of c.ops) {
      if (op.op === 'sample') {
        const r = s.sample(op.batch);
        assert.deepEqual([...r.indices], op.expect.indices);
        sameBits(r.weights, op.expect.weights, 'weights');
      } else {
        s.updateWeights(op.indices, op.losses);
        sameBits(s.probabilities(), op.expect.probabilities, 'probabilities');
      }
    }
  });
}

test('golden reward', () => {
  const c = load('reward');
  const s = new RewardWeightedSampler(c.config);
  for (const op of c.ops) {
    if (op.op === 'extend') s.extend(op.rewards);
    else {
      const r = s.sample(op.batch);
      assert.deepEqual([...r.indices], op.expect.indices);
      sameBits(r.weights, op.expect.weights, 'weights');
    }
  }
});

test('golden iw', () => {
  for (const { op, expect, ...options } of load('iw').ops) {
    sameBits(iwSftWeights(options), expect, op);
  }
});
