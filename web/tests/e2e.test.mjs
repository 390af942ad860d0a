// The built site in real headless Chromium (Debian's, driven by
// playwright-core): every page loads without a console error and finishes its
// demo with default controls in bounded time; the Blind Cliffwalk curve shows
// PER needing fewer updates than uniform at the largest n; the charts are
// uPlot's, crisp on a HiDPI screen and showing values under the cursor; a
// screenshot of each page lands in web/test-results/.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { chromium } from 'playwright-core';

const web = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(web, 'dist');
const shots = path.join(web, 'test-results');
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm' };

let server, browser, base;

test.before(async () => {
  await build({ root: web, logLevel: 'warn' });
  fs.mkdirSync(shots, { recursive: true });
  server = http.createServer((req, res) => {
    const url = decodeURIComponent(req.url.split('?')[0]);
    const file = path.join(dist, url === '/' ? 'index.html' : url);
    if (!file.startsWith(dist) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream' }).end(fs.readFileSync(file));
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${server.address().port}`;
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS });
});

test.after(async () => {
  await browser?.close();
  server?.close();
});

async function open(page, timeoutMs) {
  const p = await browser.newPage({ viewport: { width: 1100, height: 1000 } });
  const errors = [];
  p.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  p.on('pageerror', (e) => errors.push(String(e)));
  const start = Date.now();
  await p.goto(`${base}/${page}.html`);
  await p.waitForSelector('body[data-state="done"]', { timeout: timeoutMs });
  const seconds = (Date.now() - start) / 1000;
  await p.screenshot({ path: path.join(shots, `${page}.png`), fullPage: true });
  assert.deepEqual(errors, [], `${page}: console errors`);
  return { p, seconds };
}

test('index links every demo', async () => {
  const { p } = await open('index', 10000);
  const links = await p.$$eval('a', (as) => as.map((a) => a.getAttribute('href')));
  assert.deepEqual(links.sort(), ['./adaptive.html', './cliffwalk.html', './reward.html', './sumtree.html']);
  await p.close();
});

test('Blind Cliffwalk: PER needs fewer updates than uniform at the largest n', { timeout: 240000 }, async () => {
  const { p, seconds } = await open('cliffwalk', 200000);
  const results = await p.evaluate(() => window.cliffwalkResults);
  const largest = Math.max(...results.map((r) => r.n));
  const gm = (s) => { const r = results.find((x) => x.n === largest && x.sampler === s); return Math.exp(r.updates.reduce((a, u) => a + Math.log(u), 0) / r.updates.length); };
  const [u, per, rank, oracle] = ['uniform', 'per', 'rank', 'oracle'].map(gm);
  console.log(`cliffwalk n=${largest}: uniform ${u.toFixed(0)}, per ${per.toFixed(0)}, rank ${rank.toFixed(0)}, oracle ${oracle.toFixed(0)} updates (${seconds.toFixed(1)} s)`);
  assert.ok(per < u && rank < u && oracle < per, `uniform ${u}, per ${per}, rank ${rank}, oracle ${oracle}`);
  assert.ok(results.every((r) => r.learned), 'every run learned within the update cap');
  await p.close();
});

test('sum tree explorer: the histogram matches P(i); alpha 0 makes it uniform', { timeout: 60000 }, async () => {
  const { p } = await open('sumtree', 30000);
  const tv = async () => +(await p.textContent('#status')).match(/([0-9.]+)$/)[1];
  assert.ok((await tv()) < 0.02, 'total variation with 20000 draws');
  await p.evaluate(() => { const a = document.getElementById('alpha'); a.value = '0'; a.dispatchEvent(new Event('input')); });
  await p.waitForFunction(() => window.sumtreeLast.alpha === 0, null, { timeout: 10000 });
  const last = await p.evaluate(() => window.sumtreeLast);
  last.P.forEach((v) => assert.ok(Math.abs(v - 1 / 8) < 1e-12, `alpha 0: P = ${v}`));
  await p.close();
});

test('adaptive batches: trains all five methods to the end', { timeout: 120000 }, async () => {
  const { p } = await open('adaptive', 100000);
  const h = await p.evaluate(() => window.adaptiveResults);
  for (const m of ['uniform', 'ema', 'ohem', 'balanced', 'balanced-ema']) {
    assert.equal(h[m].length, 40);
    assert.ok(h[m].at(-1).balanced > 0.6, `${m}: balanced accuracy ${h[m].at(-1).balanced}`);
  }
  console.log('adaptive, minority recall after 40 epochs:', Object.fromEntries(Object.entries(h).map(([m, v]) => [m, v.at(-1).recall[1].toFixed(3)])));
  await p.close();
});

test('charts: uPlot, crisp at a device pixel ratio of 2, values under the cursor', { timeout: 60000 }, async () => {
  const p = await browser.newPage({ viewport: { width: 1100, height: 1000 }, deviceScaleFactor: 2 });
  await p.goto(`${base}/reward.html`);
  await p.waitForSelector('body[data-state="done"]', { timeout: 30000 });
  const charts = await p.$$eval('[data-chart="uplot"]', (els) => els.map((el) => {
    const c = el.querySelector('.uplot canvas');
    return { id: el.id, ratio: c.width / c.getBoundingClientRect().width };
  }));
  assert.deepEqual(charts.map((c) => c.id).sort(), ['hist', 'sweep']);
  for (const c of charts) assert.ok(Math.abs(c.ratio - 2) < 0.01, `${c.id}: canvas at ${c.ratio}x its CSS size`);
  // Hover over the middle of the sweep chart: its legend shows that point's values.
  const box = await (await p.$('#sweep .u-over')).boundingBox();
  await p.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  const values = await p.$$eval('#sweep .u-legend .u-value', (vs) => vs.map((v) => v.textContent));
  assert.ok(values.length === 3 && values.every((v) => /\d/.test(v)), `legend values under the cursor: ${values}`);
  await p.close();
});

test('reward-weighted sampling: colder draws favour the best arm', { timeout: 60000 }, async () => {
  const { p } = await open('reward', 30000);
  const rows = await p.evaluate(() => window.rewardSweep);
  assert.ok(rows[0].share[5] > 0.9, `coldest: best arm ${rows[0].share[5]}`);
  assert.ok(rows.at(-1).share[5] < 0.3, `hottest: best arm ${rows.at(-1).share[5]}`);
  for (let k = 1; k < rows.length; k++) assert.ok(rows[k].meanReward <= rows[k - 1].meanReward + 0.02);
  await p.close();
});
