// Random calls on every class of the installed package, with any JS value
// where a number goes (NaN, infinities, -0, huge and fractional numbers,
// strings, BigInts, arrays of them, typed arrays): every call returns or throws
// an Error whose `code` is one of the documented ones, a throwing call leaves
// the object as it was (compared through its snapshot or its outputs), and no
// call traps (a trap would make every later call on the object fail).
// A fixed seed per round; 3 seconds per class (ADASAMPLE_FUZZ_SECONDS).
import test from 'node:test';
import assert from 'node:assert/strict';
import { lib } from '../pkg.mjs';

const { ReplayBuffer, SumTree, PrioritizedReplayBuffer, AdaptiveBatchSampler, RewardWeightedSampler, iwSftWeights } = lib;
const CODES = new Set(['InvalidPriority', 'IndexOutOfRange', 'Empty', 'InvalidConfig', 'InvalidArgument',
  'LengthMismatch', 'BatchTooLarge', 'StorageTooSmall', 'CorruptSnapshot', 'UnsupportedSnapshotVersion',
  'ItemNotSerializable', 'AllocationFailed', 'BufferFull', 'ValueTooLarge', 'ResultOverflow', 'NotConfigured',
  'InvalidSize', 'SchemaMismatch']);
const SECONDS = Number(process.env.ADASAMPLE_FUZZ_SECONDS ?? 3);

/** xorshift32: reproducible rounds. */
function rng(seed) {
  let x = seed | 1;
  return () => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return (x >>> 0) / 2 ** 32; };
}

const SPECIAL = [0, -0, 1, -1, 0.5, 2.5, 1e-300, 5e-324, 1e296, 1e300, 1.7976931348623157e308, -1e308,
  NaN, Infinity, -Infinity, 2 ** 31, 2 ** 32, 2 ** 53];

function value(r) {
  const k = r();
  if (k < 0.5) return Math.floor(r() * 12);
  if (k < 0.75) return SPECIAL[Math.floor(r() * SPECIAL.length)];
  if (k < 0.85) return (r() - 0.5) * 20;
  if (k < 0.9) return ['3', null, undefined, 1n, {}, true][Math.floor(r() * 6)];
  return -r() * 30;
}

function numbers(r) {
  const n = Math.floor(r() * 6);
  const xs = Array.from({ length: n }, () => value(r));
  const k = r();
  if (k < 0.6) return xs;
  const clean = xs.map((x) => (typeof x === 'number' ? x : 0));
  if (k < 0.8) return Float64Array.from(clean);
  if (k < 0.9) return Uint32Array.from(clean.map((x) => (Number.isFinite(x) ? Math.abs(x) % 2 ** 32 : 0)));
  return value(r);
}

/** Calls `f`; on a throw, checks the code and that `state()` did not change. */
function call(f, state) {
  const before = state();
  try {
    f();
    return true;
  } catch (e) {
    assert.ok(e instanceof Error, `threw a non-Error: ${e}`);
    assert.ok(CODES.has(e.code), `unknown code ${e.code}: ${e.message}`);
    assert.deepEqual(state(), before, `a refused call changed the state: ${e.code} ${e.message}`);
    return false;
  }
}

function fuzz(name, round) {
  test(`fuzz ${name}: random calls, documented codes, unchanged on error, no trap`, () => {
    const start = Date.now();
    let rounds = 0, calls = 0;
    while (rounds === 0 || Date.now() - start < SECONDS * 1000) {
      calls += round(rng(0x9e3779b9 + rounds * 7919));
      rounds += 1;
    }
    console.log(`fuzz ${name}: ${calls} calls in ${rounds} rounds, ${((Date.now() - start) / 1000).toFixed(1)} s`);
  });
}

fuzz('PrioritizedReplayBuffer', (r) => {
  let b;
  try {
    b = new PrioritizedReplayBuffer({ capacity: 1 + Math.floor(r() * 20), rank: r() < 0.4, alpha: r() < 0.2 ? value(r) : 0.6 });
  } catch (e) {
    assert.ok(CODES.has(e.code));
    return 1;
  }
  const state = () => [...b.snapshot()];
  for (let i = 0; i < 30; i++) {
    const k = r();
    if (k < 0.35) call(() => b.add({ i }, r() < 0.5 ? undefined : value(r)), state);
    else if (k < 0.6) call(() => b.updatePriorities(numbers(r), numbers(r), r() < 0.5 ? undefined : numbers(r)), state);
    else if (k < 0.85) call(() => b.sample(value(r)), state);
    else {
      const bytes = b.snapshot();
      if (bytes.length > 0) bytes[Math.floor(r() * bytes.length)] ^= 1 << Math.floor(r() * 8);
      call(() => PrioritizedReplayBuffer.restore(r() < 0.5 ? bytes : b.snapshot()), state);
    }
  }
  // Still working: a draw, or Empty when nothing was added.
  call(() => assert.equal(b.sample(1).indices.length, 1), state);
  return 31;
});

const DTYPES = ['float32', 'float64', 'int32', 'uint32', 'uint8', 'int64', undefined];

/** A column's values: numbers of any kind, as an array or any typed array, or a lone value. */
function columnValues(r, width) {
  // Huge shapes (a fuzzed dimension) get short, wrong-length input.
  const n = width > 64 ? Math.floor(r() * 8) : r() < 0.8 ? width : Math.floor(r() * (2 * width + 2));
  const xs = Array.from({ length: n }, () => (r() < 0.85 ? Math.floor(r() * 300) - 20 : value(r)));
  const k = r();
  if (k < 0.3) return xs;
  const clean = xs.map((x) => (typeof x === 'number' ? x : 0));
  if (k < 0.5) return Float32Array.from(clean);
  if (k < 0.6) return Float64Array.from(clean);
  if (k < 0.7) return Int32Array.from(clean);
  if (k < 0.8) return Uint8Array.from(clean);
  return n === 1 ? xs[0] : value(r);
}

fuzz('ReplayBuffer', (r) => {
  let b;
  const columns = {};
  const widths = {};
  const ncols = 1 + Math.floor(r() * 3);
  for (let c = 0; c < ncols; c++) {
    const shape = r() < 0.5 ? [] : Array.from({ length: 1 + Math.floor(r() * 2) }, () => (r() < 0.95 ? 1 + Math.floor(r() * 3) : value(r)));
    const spec = {};
    if (r() < 0.9) spec.shape = shape;
    const dtype = DTYPES[Math.floor(r() * DTYPES.length)];
    if (dtype) spec.dtype = dtype;
    columns[`c${c}`] = spec;
    widths[`c${c}`] = shape.reduce((a, d) => a * (typeof d === 'number' && Number.isFinite(d) ? Math.abs(d) : 1), 1);
  }
  try {
    b = new ReplayBuffer({
      capacity: r() < 0.9 ? 1 + Math.floor(r() * 20) : value(r), columns,
      kind: ['proportional', 'rank', 'uniform', 'x'][Math.floor(r() * 4)],
      withoutReplacement: r() < 0.3, alpha: r() < 0.2 ? value(r) : 0.6,
    });
  } catch (e) {
    assert.ok(CODES.has(e.code), `${e.code}: ${e.message}`);
    return 1;
  }
  const state = () => [...b.snapshot()];
  const rowOf = (count) => {
    const row = {};
    for (const name of Object.keys(columns)) if (r() < 0.97) row[name] = columnValues(r, widths[name] * count);
    if (r() < 0.03) row.extra = 1;
    return row;
  };
  for (let i = 0; i < 30; i++) {
    const k = r();
    if (k < 0.3) call(() => b.add(rowOf(1), r() < 0.5 ? undefined : value(r)), state);
    else if (k < 0.4) { const n = Math.floor(r() * 4); call(() => b.extend(rowOf(n), r() < 0.5 ? undefined : numbers(r)), state); }
    else if (k < 0.6) call(() => b.updatePriorities(numbers(r), numbers(r), r() < 0.5 ? undefined : numbers(r)), state);
    else if (k < 0.8) call(() => b.sample(value(r)), state);
    else if (k < 0.9) call(() => b.get(value(r)), state);
    else {
      const bytes = b.snapshot();
      if (bytes.length > 0) bytes[Math.floor(r() * bytes.length)] ^= 1 << Math.floor(r() * 8);
      call(() => ReplayBuffer.restore(r() < 0.5 ? bytes : b.snapshot()), state);
    }
  }
  call(() => assert.equal(b.sample(1).indices.length, 1), state);
  return 31;
});

fuzz('AdaptiveBatchSampler', (r) => {
  let s;
  try {
    const options = { datasetSize: value(r), mode: ['ema', 'adaboost', 'ohem'][Math.floor(r() * 3)], learningRate: r() < 0.3 ? value(r) : 0.5 };
    if (r() < 0.3) options.prior = numbers(r);
    if (r() < 0.3) options.target = r() < 0.5 ? 'prior' : 'uniform';
    s = new AdaptiveBatchSampler(options);
  } catch (e) {
    assert.ok(CODES.has(e.code));
    return 1;
  }
  const state = () => [[...s.probabilities()], s.prior() && [...s.prior()]];
  for (let i = 0; i < 30; i++) {
    const k = r();
    if (k < 0.4) call(() => s.updateWeights(numbers(r), numbers(r)), state);
    else if (k < 0.5) call(() => s.updatePrior(numbers(r), numbers(r)), state);
    else if (k < 0.55) call(() => s.setPrior(numbers(r)), state);
    else call(() => s.sample(value(r)), state);
  }
  return 31;
});

fuzz('RewardWeightedSampler', (r) => {
  let s;
  try {
    s = new RewardWeightedSampler(r() < 0.5 ? undefined : { temperature: value(r), maxWeight: r() < 0.5 ? 20 : value(r) });
  } catch (e) {
    assert.ok(CODES.has(e.code));
    return 1;
  }
  const state = () => s.size;
  for (let i = 0; i < 30; i++) {
    const k = r();
    if (k < 0.3) call(() => s.push(value(r)), state);
    else if (k < 0.6) call(() => s.extend(numbers(r)), state);
    else call(() => s.sample(value(r)), state);
  }
  return 31;
});

fuzz('SumTree and iwSftWeights', (r) => {
  let t;
  try {
    t = new SumTree(value(r));
  } catch (e) {
    assert.ok(CODES.has(e.code));
    t = new SumTree(4);
  }
  const state = () => [t.total(), t.min(), t.capacity];
  for (let i = 0; i < 20; i++) {
    const k = r();
    if (k < 0.5) call(() => t.set(value(r), value(r)), state);
    else if (k < 0.8) call(() => t.find(value(r)), state);
    else call(() => t.get(value(r)), state);
    assert.ok(Number.isFinite(t.total()));
  }
  for (let i = 0; i < 10; i++) {
    const opts = { policyLogProbs: numbers(r), refLogProbs: numbers(r), seqLen: value(r) };
    if (r() < 0.3) opts.mask = numbers(r);
    if (r() < 0.3) opts.temperature = value(r);
    if (r() < 0.2) opts.mode = r() < 0.5 ? 'token' : 'x';
    call(() => {
      const w = iwSftWeights(opts);
      assert.ok([...w].every((x) => Number.isFinite(x) && x >= 0), `${w}`);
    }, () => 0);
  }
  return 30;
});
