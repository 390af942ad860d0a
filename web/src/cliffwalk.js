// The Blind Cliffwalk of Schaul et al. (2016), section 3 and Figure 1: a chain
// of n states with two actions; the "right" one moves on (and at the last state
// ends the episode with reward 1), the "wrong" one ends it with reward 0. A
// random agent needs about 2^n episodes to see the reward once, so the
// rewarding transition is rare in the replay memory. Tabular Q-learning from
// that memory: how many updates until Q is learned (mean squared error to Q*
// below a threshold), for uniform replay, proportional PER, rank PER, and an
// oracle that greedily picks the update that most reduces the global error.
// Sampling goes through the adasample package: no sampler is written here.
// The memory is its columnar ReplayBuffer: a transition is a row of five
// typed columns, and a draw comes back as those columns.
import { ReplayBuffer } from 'adasample';

/** A small seeded generator for the environment (mulberry32). */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The replay memory: every transition of 2^n random episodes (the expected
 * number for one success), played on until the rewarding transition has been
 * seen at least once. A transition is [state, action, reward, next, terminal];
 * action 1 is "right".
 */
export function fillMemory(n, seed) {
  const rand = rng(seed);
  const memory = [];
  let seen = 0;
  for (let episode = 0; episode < 2 ** n || seen === 0; episode++) {
    for (let s = 0; ; s++) {
      const a = rand() < 0.5 ? 1 : 0;
      if (a === 0) { memory.push([s, 0, 0, s, true]); break; }
      if (s === n - 1) { memory.push([s, 1, 1, s, true]); seen++; break; }
      memory.push([s, 1, 0, s + 1, false]);
    }
  }
  return memory;
}

/** The replay memory's columns: one row per transition. */
const COLUMNS = {
  state: { dtype: 'int32' },
  action: { dtype: 'uint8' },
  reward: { dtype: 'float32' },
  next: { dtype: 'int32' },
  terminal: { dtype: 'uint8' },
};

/** Q*: the right action is worth gamma^(steps to the reward - 1), the wrong one 0. */
export function optimalQ(n, gamma) {
  return Array.from({ length: n }, (_, s) => [0, gamma ** (n - 1 - s)]);
}

function mse(q, qStar) {
  let sum = 0;
  for (let s = 0; s < q.length; s++) for (let a = 0; a < 2; a++) sum += (q[s][a] - qStar[s][a]) ** 2;
  return sum / (2 * q.length);
}

/**
 * Updates of tabular Q-learning (step size `lr`) until the mean squared error
 * to Q* is below `threshold`, or `maxUpdates`. sampler: 'uniform' | 'per' |
 * 'rank' | 'oracle'. Returns { updates, learned }.
 */
export function updatesToLearn(n, sampler, seed, { lr = 0.25, threshold = 1e-3, maxUpdates = 300000, alpha } = {}) {
  const gamma = 1 - 1 / n;
  const memory = fillMemory(n, seed);
  const qStar = optimalQ(n, gamma);
  const q = Array.from({ length: n }, () => [0, 0]);
  const tdError = ([s, a, r, next, terminal]) => r + (terminal ? 0 : gamma * Math.max(q[next][0], q[next][1])) - q[s][a];
  let buffer = null;
  if (sampler !== 'oracle') {
    const kind = sampler === 'uniform' ? 'uniform' : sampler === 'rank' ? 'rank' : 'proportional';
    const options = { capacity: memory.length, kind, seed, beta: 0, betaFinal: 0, columns: COLUMNS };
    if (alpha !== undefined && sampler !== 'uniform') options.alpha = alpha;
    buffer = new ReplayBuffer(options);
    buffer.extend(Object.fromEntries(Object.keys(COLUMNS).map((name, k) => [name, memory.map((t) => +t[k])])));
  }
  // The oracle's candidates: each distinct (state, action) once.
  const distinct = [...new Map(memory.map((t) => [`${t[0]},${t[1]}`, t])).values()];
  let err = mse(q, qStar);
  let updates = 0;
  while (err >= threshold && updates < maxUpdates) {
    let t;
    let indices;
    let generations;
    if (buffer) {
      const batch = buffer.sample(1);
      const c = batch.columns;
      t = [c.state[0], c.action[0], c.reward[0], c.next[0], c.terminal[0] === 1];
      indices = batch.indices;
      generations = batch.generations;
    } else {
      // Hindsight: the update that most lowers the global error now.
      let best = Infinity;
      for (const c of distinct) {
        const [s, a] = c;
        const next = q[s][a] + lr * tdError(c);
        const gain = (next - qStar[s][a]) ** 2 - (q[s][a] - qStar[s][a]) ** 2;
        if (gain < best) { best = gain; t = c; }
      }
    }
    const delta = tdError(t);
    const [s, a] = t;
    const before = (q[s][a] - qStar[s][a]) ** 2;
    q[s][a] += lr * delta;
    err += ((q[s][a] - qStar[s][a]) ** 2 - before) / (2 * n);
    if (buffer) buffer.updatePriorities(indices, [delta], generations);
    updates++;
  }
  buffer?.free();
  return { updates, learned: err < threshold, memory: memory.length };
}

/** Geometric mean: the paper's curves are on log axes. */
export function geoMean(values) {
  return Math.exp(values.reduce((acc, v) => acc + Math.log(v), 0) / values.length);
}
