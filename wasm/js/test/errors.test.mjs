// Every bad input throws an Error whose `code` names the Rust error variant,
// and leaves the object exactly as it was (compared through snapshots and
// through the next draws).
import test from 'node:test';
import assert from 'node:assert/strict';
import { lib, codeOf } from '../pkg.mjs';

const { SumTree, PrioritizedReplayBuffer, AdaptiveBatchSampler, RewardWeightedSampler, iwSftWeights } = lib;
const BAD = [NaN, Infinity, -Infinity];

test('constructor options: unknown keys, wrong types, out of range', () => {
  const cases = [
    [() => new PrioritizedReplayBuffer(), 'InvalidConfig'],
    [() => new PrioritizedReplayBuffer(5), 'InvalidConfig'],
    [() => new PrioritizedReplayBuffer([]), 'InvalidConfig'],
    [() => new PrioritizedReplayBuffer({}), 'InvalidConfig'],
    [() => new PrioritizedReplayBuffer({ capacity: 0 }), 'InvalidConfig'],
    [() => new PrioritizedReplayBuffer({ capacity: -3 }), 'InvalidConfig'],
    [() => new PrioritizedReplayBuffer({ capacity: 2.5 }), 'InvalidConfig'],
    [() => new PrioritizedReplayBuffer({ capacity: '8' }), 'InvalidConfig'],
    [() => new PrioritizedReplayBuffer({ capacity: 8, alpah: 0.5 }), 'InvalidConfig'],
    [() => new PrioritizedReplayBuffer({ capacity: 8, alpha: 1.5 }), 'InvalidConfig'],
    [() => new PrioritizedReplayBuffer({ capacity: 8, alpha: NaN }), 'InvalidConfig'],
    [() => new PrioritizedReplayBuffer({ capacity: 8, beta: -0.1 }), 'InvalidConfig'],
    [() => new PrioritizedReplayBuffer({ capacity: 8, betaFinal: 2 }), 'InvalidConfig'],
    [() => new PrioritizedReplayBuffer({ capacity: 8, betaSteps: -1 }), 'InvalidConfig'],
    [() => new PrioritizedReplayBuffer({ capacity: 8, epsilon: -1 }), 'InvalidConfig'],
    [() => new PrioritizedReplayBuffer({ capacity: 8, rank: 'yes' }), 'InvalidConfig'],
    // wasm32: a tree of 2^32 - 1 slots needs a power of two past 32 bits.
    [() => new PrioritizedReplayBuffer({ capacity: 2 ** 32 - 1 }), 'InvalidConfig'],
    [() => new PrioritizedReplayBuffer({ capacity: 8, epsilon: 2 }), 'InvalidConfig'],
    [() => new AdaptiveBatchSampler({ datasetSize: 0 }), 'InvalidConfig'],
    [() => new AdaptiveBatchSampler({ datasetSize: 10, learningRate: 0 }), 'InvalidConfig'],
    [() => new AdaptiveBatchSampler({ datasetSize: 10, mode: 'boost' }), 'InvalidConfig'],
    [() => new AdaptiveBatchSampler({ datasetSize: 10, alpha: 1 }), 'InvalidConfig'],
    [() => new RewardWeightedSampler({ temperature: 0 }), 'InvalidConfig'],
    [() => new RewardWeightedSampler({ temperature: -1 }), 'InvalidConfig'],
    [() => new RewardWeightedSampler({ maxWeight: 0.5 }), 'InvalidConfig'],
    [() => new RewardWeightedSampler({ capacity: 5 }), 'InvalidConfig'],
    [() => new SumTree(0), 'InvalidConfig'],
    [() => new SumTree(-1), 'InvalidArgument'],
  ];
  cases.forEach(([f, code], k) => assert.equal(codeOf(f), code, `case ${k}: ${f}`));
  const e = (() => { try { new PrioritizedReplayBuffer({ capacity: 8, alpha: 3 }); } catch (err) { return err; } })();
  assert.match(e.message, /alpha/);
});

test('PER: bad calls throw and change nothing', () => {
  for (const rank of [false, true]) {
    const r = new PrioritizedReplayBuffer({ capacity: 8, rank, seed: 4 });
    assert.equal(codeOf(() => r.sample(2)), 'Empty');
    for (let i = 0; i < 5; i++) r.add({ i });
    const before = r.snapshot();
    const check = (f, code) => {
      assert.equal(codeOf(f), code, `${f}`);
      assert.deepEqual(r.snapshot(), before, `state changed by ${f}`);
    };
    for (const v of [...BAD, -1]) check(() => r.add('z', v), 'InvalidPriority');
    for (const v of BAD) check(() => r.updatePriorities([0, 1], [2, v]), 'InvalidPriority');
    check(() => r.updatePriorities([0, 5], [1, 1]), 'IndexOutOfRange');
    check(() => r.updatePriorities([0, -1], [1, 1]), 'InvalidArgument');
    check(() => r.updatePriorities([0, 1.5], [1, 1]), 'InvalidArgument');
    check(() => r.updatePriorities([0, 1], [1]), 'LengthMismatch');
    check(() => r.updatePriorities([0, 1], [1, 1], [0]), 'LengthMismatch');
    check(() => r.updatePriorities('0', [1]), 'InvalidArgument');
    check(() => r.updatePriorities([0], ['x']), 'InvalidArgument');
    check(() => r.updatePriorities([0], new BigInt64Array(1)), 'InvalidArgument');
    check(() => r.sample(-1), 'InvalidArgument');
    check(() => r.sample(2.5), 'InvalidArgument');
    check(() => r.sample(NaN), 'InvalidArgument');
    check(() => r.sample(2 ** 40), 'InvalidArgument');
    check(() => PrioritizedReplayBuffer.restore(new Uint8Array([1, 2, 3])), 'CorruptSnapshot');
    const truncated = before.slice(0, before.length - 3);
    check(() => PrioritizedReplayBuffer.restore(truncated), 'CorruptSnapshot');
    // Still fully working after all of that.
    assert.equal(r.sample(3).indices.length, 3);
  }
});

test('snapshot of a non-JSON item throws ItemNotSerializable and keeps working', () => {
  const r = new PrioritizedReplayBuffer({ capacity: 4 });
  r.add({ big: 1n });
  assert.equal(codeOf(() => r.snapshot()), 'ItemNotSerializable');
  assert.equal(r.sample(1).items[0].big, 1n);
});

test('no resource exhaustion traps: a code, and every object keeps working', () => {
  const r = new PrioritizedReplayBuffer({ capacity: 16, seed: 2 });
  for (let i = 0; i < 4; i++) r.add({ i });
  // A state too large for the engine to serialize (JSON past V8's string
  // limit): a code, the buffer unchanged and usable (was: RuntimeError
  // "unreachable", then "recursive use of an object detected").
  const big = 'x'.repeat(2 ** 27);
  const wide = new PrioritizedReplayBuffer({ capacity: 16 });
  for (let i = 0; i < 8; i++) wide.add(big);
  assert.equal(codeOf(() => wide.snapshot()), 'AllocationFailed');
  assert.equal(wide.size, 8);
  assert.equal(wide.sample(2).items[0].length, 2 ** 27);
  wide.add('small');
  // A cyclic item: ItemNotSerializable, and still usable.
  const cyclic = {};
  cyclic.self = cyclic;
  r.add(cyclic);
  assert.equal(codeOf(() => r.snapshot()), 'ItemNotSerializable');
  assert.equal(r.sample(3).indices.length, 3);
  // wasm memory exhaustion: 2^31 slots of tree are 16 GiB.
  assert.equal(codeOf(() => new SumTree(2 ** 31)), 'AllocationFailed');
  assert.equal(codeOf(() => new AdaptiveBatchSampler({ datasetSize: 2 ** 31 })), 'AllocationFailed');
  // A huge capacity allocates as it fills.
  const huge = new PrioritizedReplayBuffer({ capacity: 2 ** 31 });
  huge.add(1);
  assert.equal(huge.sample(4).items.length, 4);
  // Batch sizes checked before allocating: Empty, not memory.
  assert.equal(codeOf(() => new PrioritizedReplayBuffer({ capacity: 4 }).sample(2 ** 24 - 1)), 'Empty');
  assert.equal(codeOf(() => new RewardWeightedSampler().sample(2 ** 24 - 1)), 'Empty');
  // Values whose sums would overflow are refused, not silently wrong.
  const p = new PrioritizedReplayBuffer({ capacity: 4, alpha: 1 });
  assert.equal(codeOf(() => p.add('a', 1e300)), 'ValueTooLarge');
  p.add('b', 1);
  assert.equal(codeOf(() => p.updatePriorities([0], [1e308])), 'ValueTooLarge');
  assert.equal(codeOf(() => new AdaptiveBatchSampler({ datasetSize: 3 }).updateWeights([0], [1e308])), 'ValueTooLarge');
  // Snapshots restore undefined, null and arrays as they were.
  const s = new PrioritizedReplayBuffer({ capacity: 4, seed: 9 });
  s.add(undefined);
  s.add([1, 2]);
  s.add(null);
  const back = PrioritizedReplayBuffer.restore(s.snapshot());
  const drawn = back.sample(16);
  for (let j = 0; j < 16; j++) {
    assert.deepEqual(drawn.items[j], [undefined, [1, 2], null][drawn.indices[j]]);
  }
  // Bit flips anywhere: a code or a working buffer, never a trap.
  const good = s.snapshot();
  for (let k = 0; k < 8 * good.length; k++) {
    const bytes = good.slice();
    bytes[k >> 3] ^= 1 << (k & 7);
    try {
      PrioritizedReplayBuffer.restore(bytes).sample(2);
    } catch (e) {
      assert.ok(['CorruptSnapshot', 'UnsupportedSnapshotVersion', 'InvalidConfig', 'Empty'].includes(e.code), `${k}: ${e}`);
    }
  }
});

test('adaptive, reward, tree and iw: bad calls throw and change nothing', () => {
  const a = new AdaptiveBatchSampler({ datasetSize: 5, seed: 1 });
  const p = a.probabilities();
  for (const v of [...BAD, -1]) assert.equal(codeOf(() => a.updateWeights([0, 1], [1, v])), 'InvalidArgument');
  assert.equal(codeOf(() => a.updateWeights([0, 5], [1, 1])), 'IndexOutOfRange');
  assert.equal(codeOf(() => a.updateWeights([0], [1, 1])), 'LengthMismatch');
  assert.deepEqual(a.probabilities(), p);
  const ohem = new AdaptiveBatchSampler({ datasetSize: 3, mode: 'ohem' });
  assert.equal(codeOf(() => ohem.sample(4)), 'BatchTooLarge');
  // The prior: each value in (0, 1], one per example, not on OHEM.
  assert.equal(codeOf(() => ohem.setPrior([1, 1, 1])), 'InvalidConfig');
  assert.equal(codeOf(() => new AdaptiveBatchSampler({ datasetSize: 3, mode: 'ohem', prior: [1, 1, 1] })), 'InvalidConfig');
  assert.equal(codeOf(() => new AdaptiveBatchSampler({ datasetSize: 3, target: 'balanced' })), 'InvalidConfig');
  assert.equal(codeOf(() => new AdaptiveBatchSampler({ datasetSize: 3, prior: [1, 1] })), 'LengthMismatch');
  assert.equal(codeOf(() => new AdaptiveBatchSampler({ datasetSize: 3, prior: 'x' })), 'InvalidArgument');
  for (const v of [...BAD, 0, -0, 1.5, -1]) {
    assert.equal(codeOf(() => a.setPrior([1, 1, v, 1, 1])), 'InvalidArgument', `${v}`);
    assert.equal(codeOf(() => a.updatePrior([0, 1], [1, v])), 'InvalidArgument', `${v}`);
  }
  assert.equal(codeOf(() => a.updatePrior([0, 5], [1, 1])), 'IndexOutOfRange');
  assert.equal(codeOf(() => a.updatePrior([0], [1, 1])), 'LengthMismatch');
  assert.equal(codeOf(() => a.setPrior([1, 1])), 'LengthMismatch');
  assert.equal(a.prior(), null);
  assert.deepEqual(a.probabilities(), p);
  a.setPrior([1, 0.5, 0.5, 1, 1]);
  const withPrior = a.probabilities();
  assert.equal(codeOf(() => a.updatePrior([0, 1], [0.5, 2])), 'InvalidArgument');
  assert.deepEqual(a.probabilities(), withPrior);
  assert.deepEqual([...a.prior()], [1, 0.5, 0.5, 1, 1]);

  const s = new RewardWeightedSampler();
  assert.equal(codeOf(() => s.sample(1)), 'Empty');
  s.extend([1, 2]);
  assert.equal(codeOf(() => s.extend([3, NaN])), 'InvalidArgument');
  assert.equal(codeOf(() => s.push(Infinity)), 'InvalidArgument');
  assert.equal(s.size, 2);

  const t = new SumTree(3);
  t.set(1, 2);
  for (const v of [...BAD, -1]) assert.equal(codeOf(() => t.set(0, v)), 'InvalidPriority');
  assert.equal(codeOf(() => t.set(3, 1)), 'IndexOutOfRange');
  assert.equal(codeOf(() => t.get(7)), 'IndexOutOfRange');
  for (const u of [-1, 2, NaN]) assert.equal(codeOf(() => t.find(u)), 'InvalidArgument');
  assert.equal(t.total(), 2);
  assert.equal(new SumTree(2).min(), undefined);
  assert.equal(codeOf(() => new SumTree(2).find(0)), 'Empty');

  const ok = { policyLogProbs: [-1, -1], refLogProbs: [-1, -1], seqLen: 2 };
  assert.equal(codeOf(() => iwSftWeights()), 'InvalidConfig');
  assert.equal(codeOf(() => iwSftWeights({ ...ok, tempreature: 1 })), 'InvalidConfig');
  assert.equal(codeOf(() => iwSftWeights({ ...ok, seqLen: 0 })), 'InvalidSize');
  assert.equal(codeOf(() => iwSftWeights({ ...ok, seqLen: 3 })), 'LengthMismatch');
  assert.equal(codeOf(() => iwSftWeights({ ...ok, refLogProbs: [-1] })), 'LengthMismatch');
  assert.equal(codeOf(() => iwSftWeights({ ...ok, policyLogProbs: [-1, NaN] })), 'InvalidArgument');
  assert.equal(codeOf(() => iwSftWeights({ ...ok, policyLogProbs: [-1, 2.5] })), 'InvalidArgument');
  assert.equal(codeOf(() => iwSftWeights({ ...ok, temperature: 0 })), 'InvalidConfig');
  assert.equal(codeOf(() => iwSftWeights({ ...ok, mode: 'tokens' })), 'InvalidConfig');
  assert.equal(codeOf(() => iwSftWeights({ ...ok, mask: [1] })), 'LengthMismatch');
  assert.deepEqual([...iwSftWeights(ok)], [1]);
});
