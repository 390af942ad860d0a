// Every JavaScript example of the package README (the npm page) runs as
// written, from a user's project with the package installed: ESM blocks as
// .mjs, blocks that `require` as .cjs. The Worker example runs only in a
// Worker (Node cannot import a .wasm file as a module); what it does, init
// with a compiled module, is tested in replay.test.mjs.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { project } from '../pkg.mjs';

const readme = fs.readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);

test('the README has an example per class', () => {
  for (const name of ['ReplayBuffer', 'PrioritizedReplayBuffer', 'AdaptiveBatchSampler', 'RewardWeightedSampler', 'iwSftWeights', 'SumTree']) {
    assert.ok(blocks.some((b) => b.includes(`import { ${name}`)), `no example imports ${name}`);
  }
});

blocks.forEach((code, k) => {
  const worker = code.includes('export default {');
  test(`README example ${k + 1} runs`, { skip: worker && 'a Worker module' }, () => {
    const file = path.join(project, `readme-${k + 1}.${code.includes('require(') ? 'cjs' : 'mjs'}`);
    fs.writeFileSync(file, code);
    execFileSync(process.execPath, [file], { cwd: project, stdio: 'pipe' });
  });
});
