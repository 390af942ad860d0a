// Cargo's runner for the wasm32-wasip1 target: runs a test binary of the core
// (built by `make golden-wasm32`) in Node's WASI, with the host file system
// readable at the same paths, so the golden test reads tests/golden/ as it
// does natively. Exits with the binary's status.
import fs from 'node:fs';
import { WASI } from 'node:wasi';

const [binary, ...args] = process.argv.slice(2);
const wasi = new WASI({ version: 'preview1', args: [binary, ...args], env: {}, preopens: { '/': '/' }, returnOnExit: true });
const module = await WebAssembly.compile(fs.readFileSync(binary));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
