// Assembles the npm package `adasample` in wasm/pkg/ from wasm-pack's
// web-target output in wasm/pkg-web/:
//   1. optimizes the .wasm with binaryen's wasm-opt (-Oz);
//   2. inlines it, gzipped and base64-encoded, and instantiates it on import
//      (DecompressionStream behind one top-level await), so that
//      `import { PrioritizedReplayBuffer } from 'adasample'` works in plain Node
//      >= 20 and in bundlers (Vite with no plugin) with no init call, no fetch
//      and no .wasm asset to resolve. Gzip before base64 keeps the package
//      near the size of the gzipped .wasm itself (base64 alone adds a third);
//   3. writes package.json (exports map, types), README.md and LICENSE;
//   4. prints the sizes, raw and gzipped, and fails over the 80 KB gzip budget.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import zopfli from '@gfx/zopfli';
import { fileURLToPath } from 'node:url';

const wasmDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(wasmDir, 'pkg-web');
const out = path.join(wasmDir, 'pkg');
const BUDGET_GZIP = 80 * 1024;

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
fs.rmSync(optimized);

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
fs.writeFileSync(path.join(out, 'adasample.d.ts'),
  '/// <reference lib="esnext.disposable" />\n' + dts.replace(optionalAny, 'generations?: Uint32Array | number[] | null').replace(optionalPriority, 'priority?: number | null'));
// Zopfli: a standard gzip stream, 6% smaller than zlib's level 9 (4 KB of the
// package), decoded by the same DecompressionStream; it costs a second of build.
const packed = await new Promise((resolve, reject) =>
  zopfli.gzip(wasm, { numiterations: 15 }, (err, out) => (err ? reject(err) : resolve(Buffer.from(out)))));
if (Buffer.compare(zlib.gunzipSync(packed), wasm) !== 0) throw new Error('zopfli: the stream does not decode to the module');
fs.writeFileSync(path.join(out, 'adasample_wasm.js'),
  `// The adasample WebAssembly module (${wasm.length} bytes), gzipped, base64.\nexport const wasmGzipBase64 = '${packed.toString('base64')}';\n`);

const names = ['SumTree', 'PrioritizedReplayBuffer', 'AdaptiveBatchSampler', 'RewardWeightedSampler', 'iwSftWeights'];
const types = ['AdasampleError', 'Numbers', 'PerOptions', 'PerSample', 'AdaptiveOptions', 'RewardOptions', 'IndexSample', 'IwSftOptions'];
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

// 3. Package metadata and docs.
const pkg = {
  name: 'adasample',
  version,
  description: 'Adaptive data sampling for training loops: prioritized experience replay (proportional and rank), loss-driven batch sampling, reward-weighted sampling and iw-SFT weights. The adasample Rust core, bit for bit, in WebAssembly.',
  license: 'MIT',
  repository: { type: 'git', url: 'git+https://github.com/adasample/adasample.git', directory: 'wasm' },
  homepage: 'https://github.com/adasample/adasample/tree/main/wasm#readme',
  bugs: { url: 'https://github.com/adasample/adasample/issues' },
  type: 'module',
  main: './index.js',
  module: './index.js',
  types: './index.d.ts',
  exports: { '.': { types: './index.d.ts', default: './index.js' }, './package.json': './package.json' },
  files: ['index.js', 'index.d.ts', 'adasample.js', 'adasample.d.ts', 'adasample_wasm.js', 'README.md', 'LICENSE'],
  sideEffects: ['./index.js'],
  engines: { node: '>=20' },
  keywords: ['prioritized-experience-replay', 'per', 'sum-tree', 'reinforcement-learning', 'sampling', 'importance-sampling', 'wasm'],
};
fs.writeFileSync(path.join(out, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
fs.copyFileSync(path.join(wasmDir, 'README.md'), path.join(out, 'README.md'));
fs.copyFileSync(path.join(wasmDir, '..', 'LICENSE'), path.join(out, 'LICENSE'));

// 4. Sizes.
const gz = (b) => zlib.gzipSync(b, { level: 9 }).length;
const shipped = pkg.files.map((f) => fs.readFileSync(path.join(out, f)));
const total = shipped.reduce((a, b) => a + b.length, 0);
const totalGz = shipped.reduce((a, b) => a + gz(b), 0);
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
console.log(`adasample ${version}: .wasm ${kb(wasm.length)} raw, ${kb(gz(wasm))} gzipped; package ${kb(total)} raw, ${kb(totalGz)} gzipped (budget ${kb(BUDGET_GZIP)})`);
if (totalGz > BUDGET_GZIP) {
  console.error('over the gzip budget');
  process.exit(1);
}
