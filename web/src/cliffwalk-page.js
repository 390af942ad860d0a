import { drawChart, COLORS } from './chart.js';
import { geoMean } from './cliffwalk.js';
import CliffwalkWorker from './cliffwalk.worker.js?worker';

const SAMPLERS = ['uniform', 'per', 'rank', 'oracle'];
const $ = (id) => document.getElementById(id);
let worker = null;

function render(results) {
  const series = SAMPLERS.map((s) => ({
    label: s === 'per' ? 'proportional PER' : s === 'rank' ? 'rank-based PER' : s,
    color: COLORS[s],
    points: results.filter((r) => r.sampler === s).map((r) => [r.n, geoMean(r.updates)]),
  }));
  drawChart($('chart'), series, { logX: true, logY: true, xLabel: 'number of states n', yLabel: 'updates until learned', title: 'Blind Cliffwalk: replay updates needed' });
  const ns = [...new Set(results.map((r) => r.n))];
  $('table').innerHTML = `<tr><th>n</th><th>memory</th>${SAMPLERS.map((s) => `<th>${s}</th>`).join('')}</tr>` +
    ns.map((n) => {
      const at = (s) => results.find((r) => r.n === n && r.sampler === s);
      return `<tr><td>${n}</td><td>${at('uniform')?.memory ?? ''}</td>${SAMPLERS.map((s) => `<td>${at(s) ? Math.round(geoMean(at(s).updates)) + (at(s).learned ? '' : '*') : ''}</td>`).join('')}</tr>`;
    }).join('');
}

function run() {
  worker?.terminate();
  const maxN = Math.min(14, Math.max(3, +$('maxN').value || 11));
  const seeds = Math.min(20, Math.max(1, +$('seeds').value || 3));
  const alpha = Math.min(1, Math.max(0, +$('alpha').value));
  const ns = [];
  for (let n = 2; n <= maxN; n++) ns.push(n);
  const results = [];
  window.cliffwalkResults = results;
  document.body.dataset.state = 'running';
  $('status').textContent = 'running…';
  worker = new CliffwalkWorker();
  worker.onmessage = ({ data }) => {
    if (data.type === 'ready') {
      worker.postMessage({ ns, seeds, samplers: SAMPLERS, alpha });
    } else if (data.type === 'point') {
      results.push(data);
      $('status').textContent = `n = ${data.n}, ${data.sampler}: ${Math.round(geoMean(data.updates))} updates`;
      render(results);
    } else {
      const last = results.filter((r) => r.n === maxN);
      const u = last.find((r) => r.sampler === 'uniform'), p = last.find((r) => r.sampler === 'per');
      $('status').textContent = `done: at n = ${maxN}, PER needs ${(geoMean(u.updates) / geoMean(p.updates)).toFixed(1)}× fewer updates than uniform`;
      document.body.dataset.state = 'done';
    }
  };
  worker.onerror = (e) => { $('status').textContent = `error: ${e.message}`; document.body.dataset.state = 'error'; };
}

$('run').addEventListener('click', run);
run();
