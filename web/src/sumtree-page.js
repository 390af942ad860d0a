import { PrioritizedReplayBuffer, SumTree } from 'adasample';
import { drawChart, crispCanvas, COLORS } from './chart.js';

const N = 8;
const $ = (id) => document.getElementById(id);
const initial = [0.2, 1.5, 0.05, 3.0, 0.8, 0.0, 2.2, 0.4];
$('sliders').innerHTML = initial.map((v, i) =>
  `<label>|δ${i}| <input id="p${i}" type="range" min="0" max="4" step="0.05" value="${v}"><span id="p${i}v"></span></label>`).join('');

const palette = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

function read() {
  const raw = Array.from({ length: N }, (_, i) => +$(`p${i}`).value);
  raw.forEach((v, i) => { $(`p${i}v`).textContent = v.toFixed(2); });
  $('alphaV').textContent = (+$('alpha').value).toFixed(2);
  $('betaV').textContent = (+$('beta').value).toFixed(2);
  return { raw, alpha: +$('alpha').value, beta: +$('beta').value };
}

// P(i) as the leaves of a sum tree: the segments of [0, total) that a draw
// lands in. (The buffer reports P(i) with every draw; a slot never drawn has
// no segment here.)
function drawSegments(P) {
  const tree = new SumTree(N);
  P.forEach((p, i) => tree.set(i, p));
  const total = tree.total();
  crispCanvas($('segments'), (ctx, W, H) => {
    ctx.clearRect(0, 0, W, H);
    let x = 10;
    const w = W - 20;
    ctx.font = '12px system-ui, sans-serif';
    for (let i = 0; i < N; i++) {
      const len = total > 0 ? (tree.get(i) / total) * w : 0;
      ctx.fillStyle = palette[i];
      ctx.fillRect(x, 20, len, 36);
      ctx.fillStyle = '#222';
      if (len > 18) ctx.fillText(`${i}`, x + len / 2 - 3, 44);
      x += len;
    }
    if (total > 0) {
      ctx.fillText(`sum tree: total = ${total.toFixed(4)}, smallest non-zero leaf = ${tree.min().toFixed(5)}, find(0.5 · total) → slot ${tree.find(total / 2)}`, 10, 76);
    }
  });
  tree.free();
}

function sample() {
  const { raw, alpha, beta } = read();
  const draws = Math.min(200000, Math.max(100, +$('draws').value || 20000));
  const buffer = new PrioritizedReplayBuffer({ capacity: N, alpha, beta, seed: 7 });
  raw.forEach((d, i) => buffer.add(i, d));
  const counts = new Array(N).fill(0);
  const P = new Array(N).fill(0);
  const W = new Array(N).fill(0);
  let left = draws;
  while (left > 0) {
    const s = buffer.sample(Math.min(left, 1000));
    s.indices.forEach((slot, j) => { counts[slot]++; P[slot] = s.probabilities[j]; W[slot] = s.weights[j]; });
    left -= s.indices.length;
  }
  buffer.free();
  drawSegments(P);
  drawChart($('hist'), [
    { label: 'empirical', color: '#7f7f7f', kind: 'bar', points: counts.map((c, i) => [i, c / draws]) },
    { label: 'P(i)', color: COLORS.per, kind: 'bar', points: P.map((p, i) => [i, p]) },
  ], { xLabel: 'slot', yLabel: 'probability', title: `${draws} stratified draws`, yRange: [0, Math.max(...P, ...counts.map((c) => c / draws)) * 1.15] });
  drawChart($('weights'), [{ label: 'IS weight', color: COLORS.rank, kind: 'bar', points: W.map((w, i) => [i, w]) }],
    { xLabel: 'slot (drawn)', yLabel: 'w_i', title: 'importance weights', yRange: [0, 1.05] });
  const tv = counts.reduce((acc, c, i) => acc + Math.abs(c / draws - P[i]), 0) / 2;
  $('status').textContent = `total variation between histogram and P(i): ${tv.toFixed(4)}`;
  window.sumtreeLast = { P, counts, draws, alpha };
  document.body.dataset.state = 'done';
}

let pending = 0;
for (const el of document.querySelectorAll('input[type=range]')) {
  // Live: resample (debounced) as a slider moves.
  el.addEventListener('input', () => { read(); clearTimeout(pending); pending = setTimeout(sample, 120); });
}
$('sample').addEventListener('click', sample);
sample();
