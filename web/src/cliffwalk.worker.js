// Runs the Blind Cliffwalk experiment off the main thread, posting each result.
import { updatesToLearn } from './cliffwalk.js';

self.onmessage = ({ data: { ns, seeds, samplers, alpha } }) => {
  for (const n of ns) {
    for (const sampler of samplers) {
      const runs = [];
      for (let seed = 1; seed <= seeds; seed++) runs.push(updatesToLearn(n, sampler, seed, { alpha: sampler === 'per' ? alpha : undefined }));
      self.postMessage({ type: 'point', n, sampler, updates: runs.map((r) => r.updates), learned: runs.every((r) => r.learned), memory: runs[0].memory });
    }
  }
  self.postMessage({ type: 'done' });
};
// The package instantiates its module behind a top-level await: a job posted
// before this line runs could be lost, so the page waits for this signal.
self.postMessage({ type: 'ready' });
