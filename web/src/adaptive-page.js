import { drawChart, crispCanvas, COLORS } from './chart.js';
import { makeData, makeTrainer, evaluate, predict } from './adaptive-task.js';

const $ = (id) => document.getElementById(id);
const METHODS = ['uniform', 'ema', 'ohem', 'balanced', 'balanced-ema'];
const NAMES = { uniform: 'uniform', ema: 'adaptive (EMA)', ohem: 'OHEM', balanced: 'class-balanced', 'balanced-ema': 'balanced-adaptive' };
const train = makeData(900, 100, 1);
const test = makeData(900, 100, 2);
$('boundaries').innerHTML = METHODS.map((m) => `<div><div class="status">${NAMES[m]}</div><canvas id="b-${m}" width="290" height="290"></canvas></div>`).join('');

function drawBoundary(canvas, w) {
  crispCanvas(canvas, (ctx, S) => {
    const lo = -3.2, hi = 3.2, cell = 6;
    const to = (v) => ((v - lo) / (hi - lo)) * S;
    for (let i = 0; i < S; i += cell) {
      for (let j = 0; j < S; j += cell) {
        const x = lo + ((i + cell / 2) / S) * (hi - lo), y = hi - ((j + cell / 2) / S) * (hi - lo);
        ctx.fillStyle = predict(w, { x, y }) >= 0.5 ? '#fde0dd' : '#deebf7';
        ctx.fillRect(i, j, cell, cell);
      }
    }
    for (const p of train) {
      ctx.fillStyle = p.label ? '#d62728' : '#1f77b4';
      ctx.globalAlpha = p.label ? 0.9 : 0.35;
      ctx.fillRect(to(p.x) - 1.5, S - to(p.y) - 1.5, 3, 3);
    }
    ctx.globalAlpha = 1;
  });
}

let token = 0;
function run() {
  const mine = ++token;
  const epochs = Math.min(200, Math.max(1, +$('epochs').value || 40));
  const batch = Math.min(256, Math.max(4, +$('batch').value || 32));
  const lr = Math.min(1, Math.max(0.01, +$('lr').value || 0.5));
  const trainers = Object.fromEntries(METHODS.map((m) => [m, makeTrainer(m, train, { batch, lr })]));
  const history = Object.fromEntries(METHODS.map((m) => [m, []]));
  document.body.dataset.state = 'running';
  let epoch = 0;
  const tick = () => {
    if (mine !== token) { METHODS.forEach((m) => trainers[m].free()); return; }
    epoch++;
    for (const m of METHODS) {
      trainers[m].epoch();
      history[m].push({ epoch, ...evaluate(trainers[m].w, test) });
      drawBoundary($(`b-${m}`), trainers[m].w);
    }
    const colors = { uniform: COLORS.uniform, ema: COLORS.ema, ohem: COLORS.ohem, balanced: COLORS.balanced, 'balanced-ema': COLORS.balancedEma };
    drawChart($('recall'), METHODS.map((m) => ({ label: NAMES[m], color: colors[m], points: history[m].map((h) => [h.epoch, h.recall[1]]) })),
      { xLabel: 'epoch', yLabel: 'recall', title: 'minority class (1) recall, test set', yRange: [0, 1] });
    drawChart($('balanced'), METHODS.map((m) => ({ label: NAMES[m], color: colors[m], points: history[m].map((h) => [h.epoch, h.balanced]) })),
      { xLabel: 'epoch', yLabel: 'balanced accuracy', title: 'balanced accuracy, test set', yRange: [0.4, 1] });
    $('table').innerHTML = '<tr><th>method</th><th>recall class 0</th><th>recall class 1</th><th>balanced accuracy</th></tr>' +
      METHODS.map((m) => { const h = history[m].at(-1); return `<tr><td>${NAMES[m]}</td><td>${h.recall[0].toFixed(3)}</td><td>${h.recall[1].toFixed(3)}</td><td>${h.balanced.toFixed(3)}</td></tr>`; }).join('');
    $('status').textContent = `epoch ${epoch} / ${epochs}`;
    if (epoch < epochs) setTimeout(tick, 0);
    else { METHODS.forEach((m) => trainers[m].free()); document.body.dataset.state = 'done'; window.adaptiveResults = history; }
  };
  tick();
}

$('run').addEventListener('click', run);
run();
