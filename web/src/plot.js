// A small canvas chart: axes with ticks (linear or log), line / scatter / bar
// series, a legend. Hand-drawn so the site needs no charting dependency and
// works offline.

const FONT = '12px system-ui, sans-serif';

function ticks(lo, hi, log) {
  if (log) {
    const out = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) out.push(10 ** e);
    return out.filter((t) => t >= lo * 0.999 && t <= hi * 1.001);
  }
  const span = hi - lo || 1;
  const step = 10 ** Math.floor(Math.log10(span / 5));
  const nice = [1, 2, 5, 10].map((m) => m * step).find((s) => span / s <= 6) || step * 10;
  const out = [];
  for (let t = Math.ceil(lo / nice) * nice; t <= hi + 1e-9 * span; t += nice) out.push(+t.toPrecision(12));
  return out;
}

function fmt(v) {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-2) return v.toExponential(0).replace('e+', 'e');
  return +v.toPrecision(3) + '';
}

/**
 * Draws `series` on `canvas`. Options: title, xLabel, yLabel, logX, logY,
 * xRange, yRange ([lo, hi], else from the data).
 * series: [{ label, color, kind: 'line' | 'scatter' | 'bar', points: [[x, y], ...], band?: [[x, lo, hi], ...] }]
 */
export function drawChart(canvas, series, options = {}) {
  const ctx = canvas.getContext('2d');
  const { width: W, height: H } = canvas;
  const m = { l: 56, r: 12, t: options.title ? 28 : 12, b: 40 };
  ctx.clearRect(0, 0, W, H);
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, W, H);
  const pts = series.flatMap((s) => s.points.concat((s.band || []).flatMap(([x, lo, hi]) => [[x, lo], [x, hi]])));
  const usable = pts.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!options.logX || x > 0) && (!options.logY || y > 0));
  const xs = usable.map((p) => p[0]);
  const ys = usable.map((p) => p[1]);
  let [x0, x1] = options.xRange || [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = options.yRange || [Math.min(...ys), Math.max(...ys)];
  if (!usable.length) [x0, x1, y0, y1] = [0, 1, 0, 1];
  const bars = series.find((s) => s.kind === 'bar' && s.points.length > 1);
  if (bars && !options.xRange) {
    // Room for the outer bars: half a slot on each side.
    const half = (bars.points[1][0] - bars.points[0][0]) * 0.6;
    [x0, x1] = [x0 - half, x1 + half];
  }
  if (x0 === x1) [x0, x1] = options.logX ? [x0 / 2, x1 * 2] : [x0 - 1, x1 + 1];
  if (y0 === y1) [y0, y1] = options.logY ? [y0 / 2, y1 * 2] : [y0 - 1, y1 + 1];
  if (!options.yRange && !options.logY) {
    const pad = (y1 - y0) * 0.05;
    [y0, y1] = [y0 - pad, y1 + pad];
  }
  const tx = (x) => options.logX ? Math.log10(x) : x;
  const ty = (y) => options.logY ? Math.log10(y) : y;
  const px = (x) => m.l + ((tx(x) - tx(x0)) / (tx(x1) - tx(x0))) * (W - m.l - m.r);
  const py = (y) => H - m.b - ((ty(y) - ty(y0)) / (ty(y1) - ty(y0))) * (H - m.t - m.b);

  ctx.font = FONT;
  ctx.strokeStyle = '#ddd';
  ctx.fillStyle = '#333';
  ctx.lineWidth = 1;
  ctx.textAlign = 'center';
  for (const t of ticks(x0, x1, options.logX)) {
    ctx.beginPath(); ctx.moveTo(px(t), m.t); ctx.lineTo(px(t), H - m.b); ctx.stroke();
    ctx.fillText(fmt(t), px(t), H - m.b + 15);
  }
  ctx.textAlign = 'right';
  for (const t of ticks(y0, y1, options.logY)) {
    ctx.beginPath(); ctx.moveTo(m.l, py(t)); ctx.lineTo(W - m.r, py(t)); ctx.stroke();
    ctx.fillText(fmt(t), m.l - 5, py(t) + 4);
  }
  ctx.strokeStyle = '#555';
  ctx.strokeRect(m.l, m.t, W - m.l - m.r, H - m.t - m.b);
  ctx.textAlign = 'center';
  if (options.xLabel) ctx.fillText(options.xLabel, (m.l + W - m.r) / 2, H - 6);
  if (options.title) { ctx.font = 'bold 13px system-ui, sans-serif'; ctx.fillText(options.title, W / 2, 17); ctx.font = FONT; }
  if (options.yLabel) {
    ctx.save(); ctx.translate(13, (m.t + H - m.b) / 2); ctx.rotate(-Math.PI / 2); ctx.fillText(options.yLabel, 0, 0); ctx.restore();
  }

  ctx.save();
  ctx.beginPath(); ctx.rect(m.l, m.t, W - m.l - m.r, H - m.t - m.b); ctx.clip();
  series.forEach((s, k) => {
    const ok = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!options.logX || x > 0) && (!options.logY || y > 0));
    ctx.strokeStyle = ctx.fillStyle = s.color;
    if (s.band && s.band.length) {
      ctx.globalAlpha = 0.15;
      ctx.beginPath();
      s.band.forEach(([x, lo], i) => (i ? ctx.lineTo(px(x), py(lo)) : ctx.moveTo(px(x), py(lo))));
      [...s.band].reverse().forEach(([x, , hi]) => ctx.lineTo(px(x), py(hi)));
      ctx.fill();
      ctx.globalAlpha = 1;
    }
    if (s.kind === 'bar') {
      const n = series.filter((t) => t.kind === 'bar').length;
      const j = series.filter((t, i) => t.kind === 'bar' && i < k).length;
      const slot = ok.length > 1 ? (px(ok[1][0]) - px(ok[0][0])) * 0.8 : 20;
      const w = slot / n;
      for (const [x, y] of ok) ctx.fillRect(px(x) - slot / 2 + j * w, py(y), w - 1, py(Math.max(y0, 0)) - py(y));
    } else if (s.kind === 'scatter') {
      for (const [x, y] of ok) { ctx.beginPath(); ctx.arc(px(x), py(y), s.radius || 2.5, 0, 2 * Math.PI); ctx.fill(); }
    } else {
      ctx.lineWidth = 2;
      ctx.beginPath();
      ok.forEach(([x, y], i) => (i ? ctx.lineTo(px(x), py(y)) : ctx.moveTo(px(x), py(y))));
      ctx.stroke();
      for (const [x, y] of ok) { ctx.beginPath(); ctx.arc(px(x), py(y), 2.5, 0, 2 * Math.PI); ctx.fill(); }
    }
  });
  ctx.restore();

  const labelled = series.filter((s) => s.label);
  ctx.font = FONT;
  ctx.textAlign = 'left';
  labelled.forEach((s, i) => {
    const y = m.t + 14 + i * 16;
    ctx.fillStyle = s.color; ctx.fillRect(m.l + 10, y - 8, 14, 8);
    ctx.fillStyle = '#222'; ctx.fillText(s.label, m.l + 30, y);
  });
  return { px, py };
}

export const COLORS = { uniform: '#7f7f7f', per: '#d62728', rank: '#1f77b4', oracle: '#2ca02c', ema: '#d62728', ohem: '#9467bd', balanced: '#8c564b', balancedEma: '#ff7f0e' };
