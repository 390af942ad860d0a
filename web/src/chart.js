// The demos' charts, on uPlot (bundled by Vite, so the site stays offline):
// it sizes its canvas by devicePixelRatio (crisp on HiDPI screens) and its
// legend shows the values under the cursor. One call per redraw; a chart
// whose shape has not changed takes the new data in place.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export const COLORS = {
  uniform: '#7f7f7f',
  per: '#d62728',
  rank: '#1f77b4',
  oracle: '#2ca02c',
  ema: '#d62728',
  ohem: '#ff7f0e',
  balanced: '#2ca02c',
  balancedEma: '#9467bd',
};

const charts = new WeakMap();

/** The spacing of bar positions (evenly spaced x). */
const slotOf = (xs) => (xs.length > 1 ? xs[1] - xs[0] : 1);

function fmt(v) {
  if (v == null || !Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(2);
  return String(+v.toPrecision(4));
}

/**
 * Draws `series` into the element `el` (a block element; the chart takes its
 * width). series: [{ label, color, kind: 'line' | 'points' | 'bar', points: [[x, y], ...] }]
 * (series may have different x values; a missing point is a gap). Options:
 * title, xLabel, yLabel, logX, logY, yRange ([lo, hi]), height (else the
 * element's data-height, else 300).
 */
export function drawChart(el, series, options = {}) {
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const data = [xs, ...series.map((s) => {
    const at = new Map(s.points.map(([x, y]) => [x, Number.isFinite(y) && (!options.logY || y > 0) ? y : null]));
    return xs.map((x) => (at.has(x) ? at.get(x) : null));
  })];
  const shape = JSON.stringify([series.map((s) => [s.label, s.kind, s.color]), options]);
  const old = charts.get(el);
  if (old && old.shape === shape) {
    old.plot.setData(data);
    return old.plot;
  }
  old?.plot.destroy();
  const bars = series.filter((s) => s.kind === 'bar');
  const opts = {
    title: options.title,
    width: Math.max(200, el.clientWidth || 440),
    height: options.height ?? (+el.dataset.height || 300),
    scales: {
      x: {
        time: false,
        distr: options.logX ? 3 : 1,
        // Bars get half a slot of room at each end; a log axis spans the data, not whole decades.
        // (Read from the chart's data: a redraw keeps the chart and replaces the data.)
        ...(bars.length ? { range: (u, lo, hi) => [lo - 0.6 * slotOf(u.data[0]), hi + 0.6 * slotOf(u.data[0])] } : {}),
        ...(options.logX ? { range: (u) => [u.data[0][0] / 1.15, u.data[0].at(-1) * 1.15] } : {}),
      },
      y: { distr: options.logY ? 3 : 1, ...(options.yRange ? { range: options.yRange } : {}) },
    },
    // Linear axes in short numbers; log axes keep uPlot's decade labels.
    axes: [
      // A log x axis within a decade or two gets a tick at every data point.
      { label: options.xLabel, values: (u, ticks) => ticks.map(fmt), ...(options.logX ? { splits: (u) => u.data[0] } : {}) },
      { label: options.yLabel, size: 60, ...(options.logY ? {} : { values: (u, ticks) => ticks.map(fmt) }) },
    ],
    series: [
      { label: options.xLabel ?? 'x', value: (u, v) => fmt(v) },
      ...series.map((s) => {
        const common = { label: s.label, stroke: s.color, value: (u, v) => fmt(v) };
        if (s.kind === 'bar') {
          // Grouped bars: each series takes its share of the slot, side by side.
          const k = bars.indexOf(s);
          const share = (u) => (0.8 * slotOf(u.data[0])) / bars.length;
          const disp = {
            x0: { unit: 1, values: (u) => u.data[0].map((x) => x - 0.4 * slotOf(u.data[0]) + k * share(u)) },
            size: { unit: 1, values: (u) => u.data[0].map(() => share(u)) },
          };
          return { ...common, fill: `${s.color}aa`, width: 0, points: { show: false }, paths: uPlot.paths.bars({ disp }) };
        }
        if (s.kind === 'points') return { ...common, width: 0, paths: () => null, points: { show: true, size: 5, fill: s.color } };
        return { ...common, width: 2, points: { show: true, size: 5 }, spanGaps: true };
      }),
    ],
    cursor: { drag: { x: false, y: false } },
    legend: { live: true },
  };
  const plot = new uPlot(opts, data, el);
  charts.set(el, { plot, shape });
  el.dataset.chart = 'uplot';
  return plot;
}

/** A 2-D canvas sized for the screen's pixel ratio: `draw(ctx, width, height)` in CSS pixels. */
export function crispCanvas(canvas, draw) {
  const ratio = window.devicePixelRatio || 1;
  const w = +(canvas.dataset.width ??= canvas.getAttribute('width'));
  const h = +(canvas.dataset.height ??= canvas.getAttribute('height'));
  if (canvas.width !== Math.round(w * ratio)) {
    canvas.width = Math.round(w * ratio);
    canvas.height = Math.round(h * ratio);
    canvas.style.width = `${w}px`;
    canvas.style.height = `${h}px`;
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  draw(ctx, w, h);
}
