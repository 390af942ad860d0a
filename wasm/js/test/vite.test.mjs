// The package in a Vite app, with no plugin and no config: `vite build` and the
// dev server, each page loaded in real headless Chromium (Debian's), which
// must show the same draws as Node does for the same seed.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { lib, project } from '../pkg.mjs';
import { build, createServer } from 'vite';
import { chromium } from 'playwright-core';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const app = path.join(project, 'app');
fs.mkdirSync(app, { recursive: true });
fs.writeFileSync(path.join(app, 'index.html'), '<!doctype html><html><head><link rel="icon" href="data:,"></head><body><pre id="out"></pre><script type="module" src="/main.js"></script></body></html>\n');
fs.writeFileSync(path.join(app, 'main.js'), `import { PrioritizedReplayBuffer, iwSftWeights } from 'adasample';
const r = new PrioritizedReplayBuffer({ capacity: 64, seed: 5 });
for (let i = 0; i < 100; i++) r.add({ i }, i % 7);
const s = r.sample(8);
const w = iwSftWeights({ policyLogProbs: [-0.5, -1], refLogProbs: [-1, -1], seqLen: 2 });
document.getElementById('out').textContent = JSON.stringify({ items: s.items.map((x) => x.i), weights: [...s.weights], iw: [...w] });
`);

function expected() {
  const r = new lib.PrioritizedReplayBuffer({ capacity: 64, seed: 5 });
  for (let i = 0; i < 100; i++) r.add({ i }, i % 7);
  const s = r.sample(8);
  const w = lib.iwSftWeights({ policyLogProbs: [-0.5, -1], refLogProbs: [-1, -1], seqLen: 2 });
  return { items: s.items.map((x) => x.i), weights: [...s.weights], iw: [...w] };
}

async function readPage(url) {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(url);
    await page.waitForFunction(() => document.getElementById('out').textContent.length > 0, null, { timeout: 20000 });
    const out = JSON.parse(await page.textContent('#out'));
    assert.deepEqual(errors, []);
    return out;
  } finally {
    await browser.close();
  }
}

test('vite build (no plugin): the built page draws what Node draws', { timeout: 120000 }, async () => {
  await build({ root: app, logLevel: 'warn', build: { outDir: path.join(app, 'dist') } });
  const dist = path.join(app, 'dist');
  const server = http.createServer((req, res) => {
    const file = path.join(dist, req.url === '/' ? 'index.html' : decodeURIComponent(req.url.split('?')[0]));
    if (!file.startsWith(dist) || !fs.existsSync(file)) { res.writeHead(404).end(); return; }
    const type = file.endsWith('.js') ? 'text/javascript' : file.endsWith('.html') ? 'text/html' : 'application/octet-stream';
    res.writeHead(200, { 'content-type': type }).end(fs.readFileSync(file));
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  try {
    assert.deepEqual(await readPage(`http://127.0.0.1:${server.address().port}/`), expected());
  } finally {
    server.close();
  }
});

test('vite dev server (no plugin, no config): the page draws what Node draws', { timeout: 120000 }, async () => {
  const server = await createServer({ root: app, logLevel: 'warn', server: { host: '127.0.0.1', port: 0 } });
  await server.listen();
  try {
    const { port } = server.httpServer.address();
    assert.deepEqual(await readPage(`http://127.0.0.1:${port}/`), expected());
  } finally {
    await server.close();
  }
});
