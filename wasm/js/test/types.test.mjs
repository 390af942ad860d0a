// The published TypeScript types, checked by `tsc --strict` against a user's
// file: the whole contract type-checks, and misspelt options or wrong argument
// types are compile errors.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { project } from '../pkg.mjs';

const tsc = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'node_modules', 'typescript', 'bin', 'tsc');

test('types: the contract type-checks under --strict; mistakes do not', () => {
  fs.writeFileSync(path.join(project, 'user.ts'), `import { PrioritizedReplayBuffer, AdaptiveBatchSampler, RewardWeightedSampler, SumTree, iwSftWeights } from 'adasample';
import type { PerSample, IndexSample, AdasampleError } from 'adasample';

const r = new PrioritizedReplayBuffer({ capacity: 100, alpha: 0.6, beta: 0.4, betaFinal: 1, betaSteps: 10, epsilon: 1e-6, seed: 1, rank: false });
const slot: number = r.add({ s: 1 }, 0.5);
const s: PerSample = r.sample(4);
const w: Float64Array = s.weights;
const stale: number = r.updatePriorities(s.indices, s.weights, s.generations);
r.updatePriorities([0], [1.0]);
const bytes: Uint8Array = r.snapshot();
const r2: PrioritizedReplayBuffer = PrioritizedReplayBuffer.restore(bytes);
const sizes: number[] = [r.size, r.capacity, r.beta, r2.size, slot, stale, w.length];
const a = new AdaptiveBatchSampler({ datasetSize: 10, learningRate: 0.1, mode: 'ohem', seed: 2 });
const b: IndexSample = a.sample(2);
a.updateWeights(b.indices, new Float64Array([1, 2]));
const p: Float64Array = a.probabilities();
const rw = new RewardWeightedSampler({ temperature: 0.5, maxWeight: 20, seed: 3 });
rw.push(1); rw.extend([1, 2]);
const t = new SumTree(4);
t.set(0, 1);
const m: number | undefined = t.min();
const iw: Float64Array = iwSftWeights({ policyLogProbs: [-1], refLogProbs: [-1], seqLen: 1, mode: 'token', mask: [true] });
try { r.sample(-1); } catch (e) { const code: AdasampleError['code'] = (e as AdasampleError).code; void code; }
// @ts-expect-error misspelt option
new PrioritizedReplayBuffer({ capacity: 1, alpah: 1 });
// @ts-expect-error capacity is required
new PrioritizedReplayBuffer({ alpha: 1 });
// @ts-expect-error unknown mode
new AdaptiveBatchSampler({ datasetSize: 1, mode: 'boost' });
// @ts-expect-error mode is 'sequence' | 'token'
iwSftWeights({ policyLogProbs: [], refLogProbs: [], seqLen: 1, mode: 'seq' });
void [sizes, p, m, iw];

import { ReplayBuffer } from 'adasample';
import type { ReplaySample, ReplayBufferOptions, DType, ColumnArray } from 'adasample';
const dtype: DType = 'uint8';
const opts: ReplayBufferOptions = { capacity: 8, columns: { obs: { shape: [4] }, action: { dtype: 'int32' }, done: { dtype } }, kind: 'rank', withoutReplacement: true };
const rb = new ReplayBuffer(opts);
const rslot: number = rb.add({ obs: new Float32Array(4), action: 1, done: 0 }, 0.5);
const n: number = rb.extend({ obs: [0, 0, 0, 0], action: [1], done: Uint8Array.of(1) }, [1]);
const rs: ReplaySample = rb.sample(2);
const col: ColumnArray = rs.columns.obs;
const rstale: number = rb.updatePriorities(rs.indices, new Float32Array(2), rs.generations);
const one: ColumnArray = rb.get(0).action;
const rbytes: Uint8Array = rb.snapshot();
const rb2: ReplayBuffer = ReplayBuffer.restore(rbytes);
rb2.clear();
rb2.free();
void [rslot, n, col, rstale, one, rb.size, rb.capacity, rb.beta];
// @ts-expect-error unknown dtype
new ReplayBuffer({ capacity: 1, columns: { x: { dtype: 'int64' } } });
// @ts-expect-error columns are required
new ReplayBuffer({ capacity: 1 });
// @ts-expect-error unknown kind
new ReplayBuffer({ capacity: 1, columns: { x: {} }, kind: 'prioritized' });
`);
  fs.writeFileSync(path.join(project, 'edge.ts'), `import { init, ReplayBuffer } from 'adasample/init';
declare const module: WebAssembly.Module;
await init(module);
await init(fetch('adasample.wasm'));
await init(new Uint8Array(8));
// (WebAssembly.Module is an empty interface, so TypeScript takes any object for it; init checks at run time.)
void new ReplayBuffer({ capacity: 2, columns: { x: {} } });
export {};
`);
  fs.writeFileSync(path.join(project, 'user.cts'), `import adasample = require('adasample');
const b = new adasample.ReplayBuffer({ capacity: 2, columns: { x: { dtype: 'float64' } } });
const s: adasample.ReplaySample = b.sample(1);
void s;
// @ts-expect-error misspelt option
new adasample.ReplayBuffer({ capacity: 2, columns: {}, kindd: 'rank' });
`);
  fs.writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022', 'dom'], skipLibCheck: false },
    files: ['user.ts', 'edge.ts', 'user.cts'],
  }));
  try {
    execFileSync(process.execPath, [tsc, '-p', project], { cwd: project, encoding: 'utf8' });
  } catch (e) {
    assert.fail(`tsc failed:\n${e.stdout}${e.stderr}`);
  }
});
