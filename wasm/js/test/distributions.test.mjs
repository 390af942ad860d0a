// Sampling frequencies and importance weights through the package, against an
// independent JS reference of the formulas (not read back from the package).
// Chi-square tests at significance 1e-3: with a correct sampler and an ideal
// generator each would fail with probability 0.001 (seeds are fixed, so runs
// are deterministic); each is also run against a slightly wrong distribution,
// which it must reject (the test has power).
import test from 'node:test';
import assert from 'node:assert/strict';
import { lib, chi2, chi2Critical } from '../pkg.mjs';

const { PrioritizedReplayBuffer, AdaptiveBatchSampler, RewardWeightedSampler, iwSftWeights } = lib;

function assertFits(name, counts, probs) {
  const { stat, dof } = chi2(counts, probs);
  const crit = chi2Critical(dof);
  assert.ok(stat < crit, `${name}: chi2 ${stat.toFixed(1)} >= ${crit.toFixed(1)} (dof ${dof})`);
  const half = probs.length >> 1;
  const wrong = probs.map((p, i) => (i < half ? p * 1.05 : p));
  const z = wrong.reduce((a, b) => a + b, 0);
  assert.ok(chi2(counts, wrong.map((p) => p / z)).stat > crit, `${name}: no power`);
}

const close = (a, b, rel = 1e-12) => Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b), 1e-300);

test('proportional PER: frequencies follow P(i), weights follow the paper', () => {
  const n = 40, alpha = 0.6, beta = 0.4, eps = 1e-6;
  const raw = Array.from({ length: n }, (_, i) => (i % 8) * 0.4);
  const r = new PrioritizedReplayBuffer({ capacity: n, seed: 17 });
  raw.forEach((p, i) => r.add(i, p));
  const pri = raw.map((d) => (d + eps) ** alpha);
  const total = pri.reduce((a, b) => a + b, 0);
  const P = pri.map((p) => p / total);
  const maxW = Math.max(...P.map((p) => (n * p) ** -beta));
  const counts = new Array(n).fill(0);
  for (let k = 0; k < 3000; k++) {
    const s = r.sample(64);
    s.indices.forEach((slot, j) => {
      counts[slot] += 1;
      assert.ok(close(s.probabilities[j], P[slot], 1e-12));
      assert.ok(close(s.weights[j], (n * P[slot]) ** -beta / maxW, 1e-12), `${s.weights[j]}`);
      assert.equal(s.items[j], slot);
    });
  }
  assertFits('proportional', counts, P);
});

test('rank PER: frequencies follow rank^-alpha', () => {
  const n = 30, alpha = 0.7;
  const r = new PrioritizedReplayBuffer({ capacity: n, rank: true, seed: 3 });
  const raw = Array.from({ length: n }, (_, i) => (i * 11) % n);
  raw.forEach((p, i) => r.add(i, p));
  const order = [...raw.keys()].sort((a, b) => raw[b] - raw[a] || a - b);
  const z = order.reduce((acc, _, k) => acc + (k + 1) ** -alpha, 0);
  const P = new Array(n);
  order.forEach((slot, k) => { P[slot] = (k + 1) ** -alpha / z; });
  const counts = new Array(n).fill(0);
  for (let k = 0; k < 4000; k++) r.sample(32).indices.forEach((s) => { counts[s] += 1; });
  assertFits('rank', counts, P);
});

test('beta anneals linearly to betaFinal over betaSteps samples', () => {
  const r = new PrioritizedReplayBuffer({ capacity: 4, beta: 0.4, betaFinal: 1, betaSteps: 3 });
  r.add('x');
  const seen = [];
  for (let k = 0; k < 5; k++) { seen.push(r.beta); r.sample(1); }
  [0.4, 0.6, 0.8, 1, 1].forEach((b, k) => assert.ok(close(seen[k], b, 1e-12), `${seen}`));
});

test('adaptive (EMA): frequencies follow (1-g) s/sum + g/N, weights (N P)^-b normalised', () => {
  const n = 20, lr = 0.5, gamma = 0.1, beta = 0.5;
  const s = new AdaptiveBatchSampler({ datasetSize: n, learningRate: lr, seed: 5 });
  const all = Uint32Array.from({ length: n }, (_, i) => i);
  const losses = Float64Array.from(all, (i) => (i % 4) * 1.5);
  s.updateWeights(all, losses);
  const score = Array.from(losses, (l) => (1 - lr) * 1 + lr * l);
  const sum = score.reduce((a, b) => a + b, 0);
  const P = score.map((x) => (1 - gamma) * x / sum + gamma / n);
  Array.from(s.probabilities()).forEach((p, i) => assert.ok(close(p, P[i], 1e-12)));
  const maxW = Math.max(...P.map((p) => (n * p) ** -beta));
  const counts = new Array(n).fill(0);
  for (let k = 0; k < 3000; k++) {
    const { indices, weights } = s.sample(40);
    indices.forEach((i, j) => {
      counts[i] += 1;
      assert.ok(close(weights[j], (n * P[i]) ** -beta / maxW, 1e-12));
    });
  }
  assertFits('adaptive', counts, P);
});

test('adaptive with a prior: frequencies and both weight targets follow the formulas', () => {
  // Three classes of 4, 12 and 24 examples; the prior is 4 / class size.
  const n = 40, lr = 0.5, gamma = 0.1, beta = 0.5;
  const size = (i) => (i < 4 ? 4 : i < 16 ? 12 : 24);
  const q = Array.from({ length: n }, (_, i) => 4 / size(i));
  const all = Uint32Array.from({ length: n }, (_, i) => i);
  const losses = Float64Array.from(all, (i) => (i % 5) * 0.7);
  const score = Array.from(losses, (l) => (1 - lr) * 1 + lr * l);
  const M = score.reduce((a, x, i) => a + q[i] * x, 0);
  const Q = q.reduce((a, b) => a + b, 0);
  const P = score.map((x, i) => (1 - gamma) * q[i] * x / M + gamma * q[i] / Q);
  // Target 'prior': (q/Q / P)^beta normalised by its dataset max (at the smallest score).
  const r = P.map((p, i) => (q[i] / Q / p) ** beta);
  const maxR = Math.max(...r);
  // Target 'uniform': (N P)^-beta over the bound (1-g) min(q s)/M + g min(q)/Q.
  const lb = (1 - gamma) * Math.min(...score.map((x, i) => q[i] * x)) / M + gamma * Math.min(...q) / Q;
  for (const target of ['prior', 'uniform']) {
    const s = new AdaptiveBatchSampler({ datasetSize: n, learningRate: lr, seed: 8, prior: Float64Array.from(q), target });
    assert.deepEqual([...s.prior()], q);
    s.updateWeights(all, losses);
    Array.from(s.probabilities()).forEach((p, i) => assert.ok(close(p, P[i], 1e-12), `${i}: ${p} vs ${P[i]}`));
    const counts = new Array(n).fill(0);
    for (let k = 0; k < 6000; k++) {
      const { indices, weights } = s.sample(40);
      indices.forEach((i, j) => {
        counts[i] += 1;
        const want = target === 'prior' ? r[i] / maxR : (lb / P[i]) ** beta;
        assert.ok(close(weights[j], want, 1e-9), `${target} ${i}: ${weights[j]} vs ${want}`);
      });
    }
    assertFits(`adaptive prior (${target})`, counts, P);
  }
  // updatePrior on a sampler without one starts from q = 1: the same distribution.
  const plain = new AdaptiveBatchSampler({ datasetSize: 6, seed: 1 });
  assert.equal(plain.prior(), null);
  const before = [...plain.probabilities()];
  plain.updatePrior([2], [1]);
  [...plain.probabilities()].forEach((p, i) => assert.ok(close(p, before[i], 1e-15)));
  plain.setPrior([1, 1, 1, 1, 1, 0.5]);
  assert.ok(plain.probabilities()[5] < plain.probabilities()[0]);
});

test('adaptive (OHEM): the batch is the hardest of its candidate pool', () => {
  const s = new AdaptiveBatchSampler({ datasetSize: 8, learningRate: 1, mode: 'ohem', seed: 1 });
  const all = [0, 1, 2, 3, 4, 5, 6, 7];
  s.updateWeights(all, [0, 9, 0, 8, 0, 7, 0, 0]);
  const { indices, weights } = s.sample(2);
  // pool = 4 x 2 = 8 = everything: the two largest losses.
  assert.deepEqual([...indices].sort(), [1, 3]);
  assert.deepEqual([...weights], [1, 1]);
});

test('reward-weighted: frequencies follow exp((R - max R) / T)', () => {
  const rewards = Array.from({ length: 25 }, (_, i) => ((i * 7) % 25) / 8);
  const T = 0.9;
  const s = new RewardWeightedSampler({ temperature: T, seed: 2 });
  s.extend(Float64Array.from(rewards));
  const top = Math.max(...rewards);
  const w = rewards.map((r) => Math.exp((r - top) / T));
  const z = w.reduce((a, b) => a + b, 0);
  const counts = new Array(rewards.length).fill(0);
  for (let k = 0; k < 3000; k++) s.sample(50).indices.forEach((i) => { counts[i] += 1; });
  assertFits('rwr', counts, w.map((x) => x / z));
});

test('iw-SFT weights match the formula (paper direction), sequence and token', () => {
  const pol = [-0.2, -1.1, -0.7, -3.0, -0.4, -0.9];
  const ref = [-0.5, -1.0, -0.2, -1.0, -2.0, -0.3];
  const mask = [1, 1, 0, 1, 1, 1];
  const seq = iwSftWeights({ policyLogProbs: pol, refLogProbs: ref, mask, seqLen: 3, temperature: 2 });
  const d = pol.map((p, i) => p - ref[i]);
  const w0 = Math.min(Math.exp((d[0] + d[1]) / 2 / 2), 16);
  const w1 = Math.min(Math.exp((d[3] + d[4] + d[5]) / 3 / 2), 16);
  assert.ok(close(seq[0], w0, 1e-15) && close(seq[1], w1, 1e-15), `${seq}`);
  const tok = iwSftWeights({ policyLogProbs: pol, refLogProbs: ref, mask, seqLen: 3, mode: 'token' });
  d.forEach((x, i) => {
    const want = mask[i] ? Math.min(Math.max(Math.exp(x), 0.2), 1.8) : 0;
    assert.ok(close(tok[i], want, 1e-15), `token ${i}: ${tok[i]} vs ${want}`);
  });
});
