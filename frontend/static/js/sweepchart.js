// The sweep's chart: final train and test loss against the swept value; the lowest test loss
// is ringed. This is where the capacity curve shows: train loss moving one way, test loss dipping
// and coming back up. Values that span more than a decade (learning rates, λ) sit on a log axis,
// a 0 among them just left of the decades (no log axis holds 0); other values sit evenly spaced
// in the order given, each labelled with its value.

import { fitCanvas, marginFor, tickText } from './canvas.js';
import { t } from './i18n.js';

export const SWEEP_STYLE = {
  train_loss: { color: '#5f6368', dash: [] },
  test_loss: { color: '#202124', dash: [4, 3] },
  best: '#0877bd',
  diverged: '#c5221f',
};
const L = 44, R = 14, T = 16, B = 34;
const PAD = 0.04;        // of the plot's width, left and right of the outermost values on a log axis
const ZERO_GAP = 0.1;    // between a 0 and the smallest positive value on a log axis

/**
 * Where the values sit along the x axis: `at[k]` is value k's place from 0 (left) to 1 (right),
 * `ticks` the axis's marks `{at, text}` (text '' for a minor mark) and `log` whether the scale
 * is logarithmic: when every value is a number ≥ 0 and the positive ones span more than a decade.
 */
export function sweepAxis(labels) {
  const values = labels.map(Number);
  const positive = values.filter((v) => v > 0);
  const lo = Math.min(...positive), hi = Math.max(...positive);
  const log = labels.length > 1 && values.every((v) => Number.isFinite(v) && v >= 0)
    && positive.length > 1 && hi / lo > 10 * (1 + 1e-9);
  if (!log) {
    const at = labels.map((_, k) => (k + 0.5) / labels.length);
    return { log, at, ticks: labels.map((text, k) => ({ at: at[k], text })) };
  }
  const [u0, u1] = [Math.log10(lo), Math.log10(hi)];
  const left = PAD + (values.includes(0) ? ZERO_GAP : 0);
  const place = (v) => (v === 0 ? PAD : left + ((1 - PAD - left) * (Math.log10(v) - u0)) / (u1 - u0));
  const ticks = values.includes(0) ? [{ at: PAD, text: '0' }] : [];
  const decades = [];
  for (let d = Math.ceil(u0 - 1e-9); d <= Math.floor(u1 + 1e-9); d++) decades.push(d);
  // Within about one decade a single power of ten is not enough to read by: 2× and 5× too.
  const named = decades.length > 1 ? [1] : [1, 2, 5];
  for (let d = Math.floor(u0); d <= Math.ceil(u1); d++) {
    for (let m = 1; m < 10; m++) {
      const v = Number((m * 10 ** d).toPrecision(1));
      if (v < lo * (1 - 1e-9) || v > hi * (1 + 1e-9)) continue;
      ticks.push({ at: place(v), text: named.includes(m) ? tickText(v) : '' });
    }
  }
  return { log, at: values.map(place), ticks };
}

/** A round step for about `n` ticks between 0 and `hi`. */
function tickStep(hi, n = 4) {
  const raw = hi / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((s) => s >= raw);
}

const finite = (v) => v !== null && v !== undefined && Number.isFinite(v);

/**
 * Draw the sweep: `labels` (one per value, as shown on the x axis), `points` (per value null
 * while it trains, else the server's record), `axis` (the parameter's name).
 * Returns where each value's points were drawn, in CSS pixels, the best value's index and
 * whether the x axis is logarithmic.
 */
export function drawSweep(canvas, { labels, points, axis }) {
  const [ctx, w, h] = fitCanvas(canvas, 400, 200);
  const marks = labels.map(() => ({ train_loss: null, test_loss: null }));
  const scale = sweepAxis(labels);
  let hi = 0;
  for (const p of points) for (const key of ['train_loss', 'test_loss']) if (p && finite(p[key])) hi = Math.max(hi, p[key]);
  hi = hi > 0 ? hi * 1.08 : 1;
  const step = tickStep(hi);
  hi = Math.ceil(hi / step - 1e-9) * step;
  const yTicks = [];
  for (let v = 0; v <= hi + 1e-9; v += step) yTicks.push(v);
  const left = marginFor(ctx, yTicks.map(tickText), L, 6);
  const plotW = w - left - R;
  const X = (k) => left + scale.at[k] * plotW;
  const Y = (v) => T + ((hi - v) / hi) * (h - T - B);

  ctx.fillStyle = '#70757a';
  ctx.strokeStyle = '#e8eaed';
  ctx.lineWidth = 1;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const v of yTicks) {
    const y = Math.round(Y(v)) + 0.5;
    ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(w - R, y); ctx.stroke();
    ctx.fillText(tickText(v), left - 6, y);
  }
  ctx.textAlign = 'left';
  ctx.textBaseline = 'top';
  ctx.fillText(t('ui.finalLoss'), 4, 0);
  ctx.textAlign = 'center';
  const bottom = h - B;
  if (scale.log) {  // a mark per power of ten (and its multiples), labelled where it says so
    for (const tick of scale.ticks) {
      const x = Math.round(left + tick.at * plotW) + 0.5;
      ctx.strokeStyle = tick.text ? '#dadce0' : '#e8eaed';
      ctx.beginPath(); ctx.moveTo(x, bottom); ctx.lineTo(x, bottom + (tick.text ? 4 : 2.5)); ctx.stroke();
      if (tick.text) ctx.fillText(tick.text, x, bottom + 5);
    }
  } else {
    const slot = plotW / Math.max(labels.length, 1);
    const every = Math.max(1, Math.ceil(Math.max(...labels.map((s) => ctx.measureText(s).width), 0) / (slot - 6)));
    scale.ticks.forEach((tick, k) => {
      if (k % every === 0) ctx.fillText(tick.text, left + tick.at * plotW, bottom + 5);
    });
  }
  ctx.fillStyle = '#5f6368';
  ctx.textBaseline = 'bottom';
  ctx.fillText(scale.log ? t('ui.sweepAxisLog', { param: axis }) : axis, left + plotW / 2, h);
  if (!points.some(Boolean)) {
    ctx.textBaseline = 'middle';
    ctx.fillStyle = '#70757a';
    const empty = t('ui.sweepEmpty');
    // Over the plot's middle, moved in from an edge it would cross on a narrow chart.
    const half = ctx.measureText(empty).width / 2;
    ctx.fillText(empty, Math.min(Math.max(left + plotW / 2, half), w - half), T + (h - T - B) / 2);
    return { marks, best: null, log: scale.log };
  }

  let best = null;
  points.forEach((p, k) => { if (p && finite(p.test_loss) && (best === null || p.test_loss < points[best].test_loss)) best = k; });
  for (const key of ['train_loss', 'test_loss']) {
    const st = SWEEP_STYLE[key];
    ctx.strokeStyle = st.color;
    ctx.fillStyle = st.color;
    ctx.setLineDash(st.dash);
    ctx.lineWidth = 1.6;
    ctx.beginPath();
    let pen = false;
    // Left to right: on a log axis the values need not have been given in order.
    for (const k of labels.map((_, i) => i).sort((a, b) => scale.at[a] - scale.at[b])) {
      const p = points[k];
      if (!p || !finite(p[key])) { pen = false; continue; }
      marks[k][key] = [X(k), Y(p[key])];
      if (pen) ctx.lineTo(X(k), Y(p[key])); else ctx.moveTo(X(k), Y(p[key]));
      pen = true;
    }
    ctx.stroke();
    ctx.setLineDash([]);
    for (const m of marks) {
      if (!m[key]) continue;
      ctx.beginPath();
      ctx.arc(m[key][0], m[key][1], 3.2, 0, 2 * Math.PI);
      ctx.fill();
    }
  }
  points.forEach((p, k) => {
    if (!p || finite(p.test_loss)) return;
    ctx.fillStyle = SWEEP_STYLE.diverged;
    ctx.textBaseline = 'top';
    ctx.fillText(`× ${t('ui.sweepDiverged')}`, X(k), T);
  });
  if (best !== null) {
    const [x, y] = marks[best].test_loss;
    ctx.strokeStyle = SWEEP_STYLE.best;
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.arc(x, y, 7, 0, 2 * Math.PI);
    ctx.stroke();
  }
  return { marks, best, log: scale.log };
}
