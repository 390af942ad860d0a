// Installs the built package (wasm/pkg) into a fresh temporary project, as a
// user would with `npm install`, and imports it through its exports map.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const pkgDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'pkg');
if (!fs.existsSync(path.join(pkgDir, 'package.json'))) {
  throw new Error(`${pkgDir} is missing: run \`make npm\` first`);
}
export const project = fs.mkdtempSync(path.join(os.tmpdir(), 'adasample-user-'));
fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }));
// From the packed tarball, exactly what `npm publish` would upload.
const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', project, pkgDir], { encoding: 'utf8' }).trim().split('\n').pop();
execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', '--loglevel=error', path.join(project, tarball)], { cwd: project, stdio: 'inherit' });
fs.writeFileSync(path.join(project, 'entry.mjs'), "export * from 'adasample';\n");
process.on('exit', () => fs.rmSync(project, { recursive: true, force: true }));

export const lib = await import(pathToFileURL(path.join(project, 'entry.mjs')).href);
export const goldenDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'tests', 'golden');

/** Upper 1e-3 quantile of chi-square with k degrees of freedom (Wilson-Hilferty). */
export function chi2Critical(k) {
  const z = 3.090232306;
  const a = 2 / (9 * k);
  return k * (1 - a + z * Math.sqrt(a)) ** 3;
}

/** Pearson statistic and degrees of freedom, pooling expected counts below 5. */
export function chi2(counts, probs) {
  const n = counts.reduce((a, b) => a + b, 0);
  let stat = 0, cells = 0, poolObs = 0, poolExp = 0;
  counts.forEach((c, i) => {
    const e = probs[i] * n;
    if (e < 5) { poolObs += c; poolExp += e; } else { stat += (c - e) ** 2 / e; cells += 1; }
  });
  if (poolExp > 0) { stat += (poolObs - poolExp) ** 2 / poolExp; cells += 1; }
  return { stat, dof: cells - 1 };
}

/** The error's code, or null if `f` did not throw. */
export function codeOf(f) {
  try { f(); } catch (e) { if (!(e instanceof Error)) throw new Error(`threw a non-Error: ${e}`); return e.code; }
  return null;
}
