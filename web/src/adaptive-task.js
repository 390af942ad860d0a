// The imbalanced 2D task and the model of the adaptive-sampling demo, kept
// free of the DOM so that the unit tests can run them.
import { AdaptiveBatchSampler } from 'adasample';
import { rng } from './cliffwalk.js';

function normal(rand) {
  const u = 1 - rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** [{ x, y, label }]: `n0` points of class 0 around the origin, `n1` of class 1 overlapping it. */
export function makeData(n0, n1, seed) {
  const rand = rng(seed);
  const pts = [];
  for (let i = 0; i < n0; i++) pts.push({ x: normal(rand), y: normal(rand), label: 0 });
  for (let i = 0; i < n1; i++) pts.push({ x: 1.3 + 0.55 * normal(rand), y: 1.3 + 0.55 * normal(rand), label: 1 });
  return pts;
}

const features = ({ x, y }) => [1, x, y, x * x, y * y, x * y];
const sigmoid = (z) => 1 / (1 + Math.exp(-z));

export function predict(w, p) {
  return sigmoid(features(p).reduce((acc, f, k) => acc + f * w[k], 0));
}

/** Log loss of one example (clipped away from log 0). */
export function loss(w, p) {
  const q = Math.min(Math.max(predict(w, p), 1e-12), 1 - 1e-12);
  return -(p.label ? Math.log(q) : Math.log(1 - q));
}

/** Recall of each class and their mean (balanced accuracy). */
export function evaluate(w, data) {
  const hit = [0, 0], count = [0, 0];
  for (const p of data) {
    count[p.label]++;
    if ((predict(w, p) >= 0.5 ? 1 : 0) === p.label) hit[p.label]++;
  }
  const recall = hit.map((h, c) => h / count[c]);
  return { recall, balanced: (recall[0] + recall[1]) / 2 };
}

/** The class-balanced prior: the smallest class size over each point's class size. */
export function classPrior(data) {
  const count = [0, 0];
  for (const p of data) count[p.label]++;
  const smallest = Math.min(...count.filter((c) => c > 0));
  return Float64Array.from(data, (p) => smallest / count[p.label]);
}

/**
 * A trainer for one method: 'uniform' (seeded JS draws), 'ema' or 'ohem'
 * (adasample's AdaptiveBatchSampler), 'balanced' (the sampler with the
 * class-balanced prior and a floor of 1: each class half of every batch, no
 * loss feedback) or 'balanced-ema' (that prior times the EMA scores, weights
 * toward the balanced objective). `epoch()` runs one pass of N/B batches.
 */
export function makeTrainer(method, data, { batch = 32, lr = 0.5, step = 0.2, seed = 1 } = {}) {
  const w = [0, 0, 0, 0, 0, 0];
  const rand = rng(seed * 7919);
  const balanced = method === 'balanced' || method === 'balanced-ema';
  const options = { datasetSize: data.length, learningRate: lr, mode: method === 'ohem' ? 'ohem' : 'ema', seed };
  if (balanced) Object.assign(options, { prior: classPrior(data), target: 'prior' });
  const sampler = method === 'uniform' ? null : new AdaptiveBatchSampler(options);
  // Class-balanced without feedback: the losses never move the scores, so the
  // distribution is the prior itself (the uniform floor's share is irrelevant).
  const feedback = method !== 'uniform' && method !== 'balanced';
  function draw() {
    if (sampler) return sampler.sample(batch);
    const indices = Uint32Array.from({ length: batch }, () => Math.floor(rand() * data.length));
    return { indices, weights: new Float64Array(batch).fill(1) };
  }
  return {
    w,
    epoch() {
      for (let b = 0; b < Math.ceil(data.length / batch); b++) {
        const { indices, weights } = draw();
        const grad = [0, 0, 0, 0, 0, 0];
        const losses = new Float64Array(indices.length);
        indices.forEach((i, j) => {
          const p = data[i];
          const err = predict(w, p) - p.label;
          features(p).forEach((f, k) => { grad[k] += weights[j] * err * f; });
          losses[j] = loss(w, p);
        });
        grad.forEach((g, k) => { w[k] -= (step * g) / indices.length; });
        if (feedback) sampler.updateWeights(indices, losses);
      }
    },
    free() { sampler?.free(); },
  };
}
