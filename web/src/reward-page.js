import { RewardWeightedSampler } from 'adasample';
import { drawChart, COLORS } from './chart.js';
import { rng } from './cliffwalk.js';

const $ = (id) => document.getElementById(id);
const ARMS = 6;
const rand = rng(11);
const arms = [];
const rewards = [];
for (let i = 0; i < 600; i++) {
  const arm = Math.floor(rand() * ARMS);
  const noise = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()) * 0.3;
  arms.push(arm);
  rewards.push(arm / 5 + noise);
}

/** Share of draws per arm and the mean reward of what was drawn, at temperature `t`. */
function drawAt(t, draws) {
  const s = new RewardWeightedSampler({ temperature: t, seed: 3 });
  s.extend(rewards);
  const counts = new Array(ARMS).fill(0);
  let total = 0;
  for (let left = draws; left > 0; left -= 1000) {
    const { indices } = s.sample(Math.min(1000, left));
    for (const i of indices) { counts[arms[i]]++; total += rewards[i]; }
  }
  s.free();
  return { share: counts.map((c) => c / draws), meanReward: total / draws };
}

function update() {
  const t = 10 ** +$('temp').value;
  $('tempV').textContent = t < 0.1 ? t.toFixed(3) : t.toFixed(2);
  const draws = Math.min(100000, Math.max(100, +$('draws').value || 5000));
  const { share, meanReward } = drawAt(t, draws);
  const uniformShare = Array.from({ length: ARMS }, (_, k) => arms.filter((a) => a === k).length / arms.length);
  drawChart($('hist'), [
    { label: 'in the data', color: COLORS.uniform, kind: 'bar', points: uniformShare.map((v, k) => [k, v]) },
    { label: `drawn at τ = ${t.toPrecision(2)}`, color: COLORS.per, kind: 'bar', points: share.map((v, k) => [k, v]) },
  ], { xLabel: 'arm', yLabel: 'share of rollouts', title: `mean reward of drawn rollouts: ${meanReward.toFixed(3)}`, yRange: [0, 1] });
  $('status').textContent = `best arm drawn ${(100 * share[ARMS - 1]).toFixed(1)}% of the time`;
}

function sweep() {
  const temps = [];
  for (let e = -3; e <= 1.7; e += 0.25) temps.push(10 ** e);
  const rows = temps.map((t) => ({ t, ...drawAt(t, 4000) }));
  drawChart($('sweep'), [
    { label: 'share of the best arm', color: COLORS.per, points: rows.map((r) => [r.t, r.share[ARMS - 1]]) },
    { label: 'mean reward drawn', color: COLORS.rank, points: rows.map((r) => [r.t, r.meanReward]) },
  ], { logX: true, xLabel: 'temperature τ', title: 'what the temperature does', yRange: [0, 2] });
  window.rewardSweep = rows;
}

$('temp').addEventListener('input', update);
$('draws').addEventListener('change', update);
update();
sweep();
document.body.dataset.state = 'done';
