// Assembles the npm package `adasample` in wasm/pkg/ from wasm-pack's
// web-target output in wasm/pkg-web/:
//   1. optimizes the .wasm with binaryen's wasm-opt, and ships it as
//      `adasample/wasm` (adasample.wasm) for runtimes that take a module;
//   2. the default ESM entry (index.js) inlines it, gzipped and
//      base64-encoded, and instantiates it on import (DecompressionStream
//      behind one top-level await), so that `import { ReplayBuffer } from
//      'adasample'` works in plain Node >= 20 and in bundlers (Vite with no
//      plugin) with no init call, no fetch and no .wasm asset to resolve;
//   3. `adasample/init` (init.js) is the same classes and `init(source)`,
//      nothing inlined: for edge runtimes that forbid compiling at run time;
//   4. the CommonJS entry (index.cjs, for `require`) is the glue bundled to
//      CommonJS by rolldown, instantiated from adasample.wasm beside it;
//   5. writes package.json (exports map, types), README.md and LICENSE;
//   6. prints the sizes, and fails over the size budget.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import zopfli from '@gfx/zopfli';
import { build } from 'rolldown';
import { fileURLToPath } from 'node:url';

const wasmDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(wasmDir, 'pkg-web');
const out = path.join(wasmDir, 'pkg');
// A regression guard, not the goal: the goal is 80 KB (issue #18), which the
// package does not meet. It ships the module twice (inlined for the default
// entry, raw as adasample/wasm), and the module is 90 KB gzipped.
const BUDGET_TARBALL = 224 * 1024;

const cargo = fs.readFileSync(path.join(wasmDir, 'Cargo.toml'), 'utf8');
const version = /^version = "([^"]+)"/m.exec(cargo)[1];

fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });

// 1. wasm-opt. Features: what rustc emits for wasm32-unknown-unknown today,
// all supported by Node 20 and current browsers.
const optimized = path.join(out, 'adasample_bg.wasm');
execFileSync(path.join(wasmDir, 'node_modules', '.bin', 'wasm-opt'), [
  path.join(src, 'adasample_bg.wasm'), '-O3', '--strip-debug', '--strip-producers',
  '--enable-bulk-memory', '--enable-nontrapping-float-to-int', '--enable-sign-ext',
  '--enable-mutable-globals', '--enable-reference-types', '--enable-multivalue',
  '-o', optimized,
], { stdio: 'inherit' });
const wasm = fs.readFileSync(optimized);
fs.renameSync(optimized, path.join(out, 'adasample.wasm'));

// 2. The glue, with the web target's default URL fetch removed: the module is
// always passed in, and bundlers must not look for a .wasm asset.
let glue = fs.readFileSync(path.join(src, 'adasample.js'), 'utf8');
const urlLine = /module_or_path = new URL\('adasample_bg\.wasm', import\.meta\.url\);/;
if (!urlLine.test(glue)) throw new Error('wasm-bindgen glue changed: default URL line not found');
glue = glue.replace(urlLine, "throw new Error('adasample: the module is instantiated on import');");
fs.writeFileSync(path.join(out, 'adasample.js'), glue);
// wasm-bindgen types an optional JsValue parameter as `any`; say what it takes.
const dts = fs.readFileSync(path.join(src, 'adasample.d.ts'), 'utf8');
const optionalAny = 'generations?: any | null';
if (!dts.includes(optionalAny)) throw new Error('wasm-bindgen types changed: updatePriorities signature not found');
const optionalPriority = 'priority?: any | null';
if (!dts.includes(optionalPriority)) throw new Error('wasm-bindgen types changed: add signature not found');
// The classes declare [Symbol.dispose] (explicit resource management): pull in
// its lib so users' `lib` settings need not include esnext (TypeScript >= 5.2).
const types_ = '/// <reference lib="esnext.disposable" />\n' + dts.replaceAll(optionalAny, 'generations?: Uint32Array | number[] | null').replaceAll(optionalPriority, 'priority?: number | null');
fs.writeFileSync(path.join(out, 'adasample.d.ts'), types_);
fs.writeFileSync(path.join(out, 'adasample.d.cts'), types_);
// The same glue as CommonJS, for `require`.
await build({ input: path.join(out, 'adasample.js'), logLevel: 'warn', output: { format: 'cjs', exports: 'named', file: path.join(out, 'adasample.cjs') } });
// Zopfli: a standard gzip stream, 6% smaller than zlib's level 9 (4 KB of the
// package), decoded by the same DecompressionStream; it costs a second of build.
const packed = await new Promise((resolve, reject) =>
  zopfli.gzip(wasm, { numiterations: 15 }, (err, out) => (err ? reject(err) : resolve(Buffer.from(out)))));
if (Buffer.compare(zlib.gunzipSync(packed), wasm) !== 0) throw new Error('zopfli: the stream does not decode to the module');
fs.writeFileSync(path.join(out, 'adasample_wasm.js'),
  `// The adasample WebAssembly module (${wasm.length} bytes), gzipped, base64.\nexport const wasmGzipBase64 = '${packed.toString('base64')}';\n`);

const names = ['ReplayBuffer', 'SumTree', 'PrioritizedReplayBuffer', 'AdaptiveBatchSampler', 'RewardWeightedSampler', 'iwSftWeights'];
const types = ['AdasampleError', 'Numbers', 'DType', 'ColumnArray', 'ColumnOptions', 'ReplayBufferOptions', 'ReplaySample', 'PerOptions', 'PerSample', 'AdaptiveOptions', 'RewardOptions', 'IndexSample', 'IwSftOptions'];
fs.writeFileSync(path.join(out, 'index.js'), `// adasample: adaptive data sampling (PER, adaptive batches, RWR, iw-SFT), WebAssembly.
import { initSync } from './adasample.js';
import { wasmGzipBase64 } from './adasample_wasm.js';

const packed = Uint8Array.from(atob(wasmGzipBase64), (c) => c.charCodeAt(0));
const bytes = await new Response(new Blob([packed]).stream().pipeThrough(new DecompressionStream('gzip'))).arrayBuffer();
initSync({ module: bytes });

export { ${names.join(', ')} } from './adasample.js';
`);
fs.writeFileSync(path.join(out, 'index.d.ts'),
  `export { ${names.join(', ')} } from './adasample.js';\nexport type { ${types.join(', ')} } from './adasample.js';\n`);

// 3. adasample/init: nothing inlined, so that a bundle for an edge runtime
// holds the module once, as the runtime's own import of adasample/wasm.
fs.writeFileSync(path.join(out, 'init.js'), `// adasample/init: the classes, and init(source) for runtimes that forbid compiling WebAssembly at run time.
import instantiate from './adasample.js';

export { ${names.join(', ')} } from './adasample.js';

let ready = null;

/** Instantiates the module once; later calls return the same promise. */
export function init(source) {
  ready ??= Promise.resolve(source).then((s) => {
    const ok = s instanceof WebAssembly.Module || s instanceof ArrayBuffer || ArrayBuffer.isView(s)
      || (typeof Response !== 'undefined' && s instanceof Response);
    if (!ok) {
      throw Object.assign(new Error('init: expected a WebAssembly.Module, its bytes, a Response, or a promise of one'), { code: 'InvalidArgument' });
    }
    return instantiate({ module_or_path: s });
  }).then(() => undefined, (e) => {
    ready = null; // a failed init may be retried
    throw e;
  });
  return ready;
}
`);
fs.writeFileSync(path.join(out, 'init.d.ts'), `export { ${names.join(', ')} } from './adasample.js';
export type { ${types.join(', ')} } from './adasample.js';
/** What init takes: the module (import wasm from 'adasample/wasm' where the runtime compiles it ahead), its bytes, or a fetch Response; or a promise of one. */
export type InitSource = WebAssembly.Module | BufferSource | Response;
/** Instantiates the module once, before any class is used; later calls return the same promise. */
export function init(source: InitSource | PromiseLike<InitSource>): Promise<void>;
`);

// 4. CommonJS: Node only, so the module is read from the file beside it.
fs.writeFileSync(path.join(out, 'index.cjs'), `'use strict';
// adasample for require(): the same classes, the module read from adasample.wasm beside this file.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const glue = require('./adasample.cjs');

glue.initSync({ module: readFileSync(join(__dirname, 'adasample.wasm')) });

${names.map((n) => `exports.${n} = glue.${n};`).join('\n')}
`);
fs.writeFileSync(path.join(out, 'index.d.cts'),
  `export { ${names.join(', ')} } from './adasample.cjs';\nexport type { ${types.join(', ')} } from './adasample.cjs';\n`);

// 5. Package metadata and docs.
const pkg = {
  name: 'adasample',
  version,
  description: 'Adaptive data sampling for training loops: prioritized experience replay (proportional and rank), loss-driven batch sampling, reward-weighted sampling and iw-SFT weights. The adasample Rust core, bit for bit, in WebAssembly.',
  license: 'MIT',
  repository: { type: 'git', url: 'git+https://github.com/adasample/adasample.git', directory: 'wasm' },
  homepage: 'https://github.com/adasample/adasample/tree/main/wasm#readme',
  bugs: { url: 'https://github.com/adasample/adasample/issues' },
  type: 'module',
  main: './index.cjs',
  module: './index.js',
  types: './index.d.ts',
  exports: {
    '.': {
      import: { types: './index.d.ts', default: './index.js' },
      require: { types: './index.d.cts', default: './index.cjs' },
    },
    './init': { types: './init.d.ts', default: './init.js' },
    './wasm': './adasample.wasm',
    './package.json': './package.json',
  },
  files: ['index.js', 'index.d.ts', 'adasample.js', 'adasample.d.ts', 'adasample_wasm.js', 'init.js', 'init.d.ts',
    'index.cjs', 'index.d.cts', 'adasample.cjs', 'adasample.d.cts', 'adasample.wasm', 'README.md', 'LICENSE'],
  sideEffects: ['./index.js'],
  engines: { node: '>=20' },
  keywords: ['prioritized-experience-replay', 'replay-buffer', 'per', 'sum-tree', 'reinforcement-learning', 'sampling',
    'importance-sampling', 'curriculum', 'hard-example-mining', 'iw-sft', 'wasm', 'webassembly'],
};
fs.writeFileSync(path.join(out, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
fs.copyFileSync(path.join(wasmDir, 'README.md'), path.join(out, 'README.md'));
fs.copyFileSync(path.join(wasmDir, '..', 'LICENSE'), path.join(out, 'LICENSE'));

// 6. Sizes: the packed tarball, as `npm pack` makes it, and each file gzipped.
const gz = (b) => zlib.gzipSync(b, { level: 9 }).length;
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const [packed_] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--silent'], { cwd: out, encoding: 'utf8' }));
const each = pkg.files.map((f) => `${f} ${kb(gz(fs.readFileSync(path.join(out, f))))}`).join(', ');
console.log(`adasample ${version}: .wasm ${kb(wasm.length)} raw, ${kb(gz(wasm))} gzipped; tarball ${kb(packed_.size)} (budget ${kb(BUDGET_TARBALL)}), unpacked ${kb(packed_.unpackedSize)}`);
console.log(`  gzipped: ${each}`);
if (packed_.size > BUDGET_TARBALL) {
  console.error('over the tarball budget');
  process.exit(1);
}
