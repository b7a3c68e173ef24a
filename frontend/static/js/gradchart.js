// A run's per-layer gradient norms ‖∂L/∂Wₗ‖: bars of the current values, and every layer's norm
// over the epochs on a log scale, one colour per layer (the same in both). Vanishing gradients
// read as the first layer's line sitting decades below the last one's.

import { DecimatedSeries } from './losschart.js';
import { fitCanvas, marginFor } from './canvas.js';
import { t } from './i18n.js';

const BAR_RANGE = [-8, 1];   // log₁₀ scale of the bars, fixed so that runs compare by eye
const MIN_DECADES = 2;

/** Layer i of n: dark teal for the first layer through to light yellow-green for the last
 * (not the blue and orange that mean the classes and a weight's sign). */
export function layerColor(i, n) {
  const f = i / Math.max(1, n - 1);
  return `hsl(${(175 - 90 * f).toFixed(0)}, 65%, ${(18 + 40 * f).toFixed(0)}%)`;
}

const layerName = (i) => t('ui.weightMatrix', { n: i + 1 });
/** A norm as a learner reads it: `2.3`, `0.014`, or `3e-5` far from 1. */
export function formatNorm(v) {
  if (v === null || v === undefined) return '—';
  if (v >= 0.01 && v < 1000) return String(Number(v.toPrecision(2)));
  return v.toExponential(0).replace('e+', 'e');
}

/** Gradient norms over epochs: one series per weight matrix, W1 first. */
export class GradHistory {
  constructor(layers) {
    this.layers = layers;
    this.series = new DecimatedSeries(Array.from({ length: layers }, (_, i) => `W${i + 1}`));
  }

  push(epoch, norms) {
    this.series.push(epoch, Object.fromEntries(norms.map((v, i) => [`W${i + 1}`, v])));
  }

  get length() { return this.series.length; }

  /** [lowest, highest] log₁₀ of the finite positive norms held, or null. */
  extent() {
    const s = this.series;
    let lo = Infinity, hi = -Infinity;
    for (const name of s.names) {
      for (let i = 0; i < s.length; i++) {
        const v = s.y[name][i];
        if (v > 0 && Number.isFinite(v)) { lo = Math.min(lo, Math.log10(v)); hi = Math.max(hi, Math.log10(v)); }
      }
    }
    return Number.isFinite(lo) ? [lo, hi] : null;
  }

  /** Plain rows `{epoch, norms}` (for tests). */
  toJSON() {
    return this.series.toJSON().map((row) => ({ epoch: row.epoch, norms: this.series.names.map((n) => row[n]) }));
  }
}

/** One log₁₀ range (whole decades) covering every history, so cards share a scale. */
export function sharedRange(histories) {
  let lo = Infinity, hi = -Infinity;
  for (const h of histories) {
    const e = h?.extent();
    if (e) { lo = Math.min(lo, e[0]); hi = Math.max(hi, e[1]); }
  }
  if (!Number.isFinite(lo)) return [-4, 0];
  lo = Math.floor(lo);
  hi = Math.max(Math.ceil(hi), lo + MIN_DECADES);
  return [lo, hi];
}

/** Bars of log₁₀‖∂L/∂Wₗ‖ per layer on a fixed 1e-8 … 10 scale, each labelled with its value. */
export function drawGradBars(canvas, norms) {
  const [ctx, w, h] = fitCanvas(canvas);
  if (!norms?.length) return;
  const [lo, hi] = BAR_RANGE;
  const n = norms.length;
  const slot = (w - 8) / n;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'bottom';
  for (let i = 0; i < n; i++) {
    const v = norms[i];
    const level = v > 0 ? Math.min(Math.max((Math.log10(v) - lo) / (hi - lo), 0), 1) : 0;
    const barH = level * (h - 24);
    const x = 4 + i * slot;
    ctx.fillStyle = layerColor(i, n);
    ctx.fillRect(x + slot * 0.2, h - 12 - barH, slot * 0.6, barH);
    ctx.fillStyle = '#3c4043';
    ctx.fillText(formatNorm(v), x + slot / 2, h - 13 - barH);
    ctx.fillStyle = '#70757a';
    ctx.fillText(layerName(i), x + slot / 2, h);
  }
}

/** Every layer's norm over the epochs up to `xEnd`, log scale over `range` (log₁₀ decades). */
export function drawGradHistory(canvas, history, range, xEnd) {
  const [ctx, w, h] = fitCanvas(canvas);
  const R = 6, T = 6, B = 14;
  const [lo, hi] = range;
  const every = Math.ceil((hi - lo) / 4);
  const decades = [];
  for (let d = hi; d >= lo; d -= every) decades.push(d);
  const L = marginFor(ctx, decades.map((d) => `1e${d}`), 34);
  const s = history?.series;
  const n = s?.length ?? 0;
  const x0 = n ? s.x[0] : 0;
  const x1 = Math.max(xEnd, x0 + 1);
  const X = (x) => L + ((x - x0) / (x1 - x0)) * (w - L - R);
  const Y = (v) => T + ((hi - v) / (hi - lo)) * (h - T - B);
  ctx.fillStyle = '#70757a';
  ctx.strokeStyle = '#e8eaed';
  ctx.lineWidth = 1;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const d of decades) {
    const y = Math.round(Y(d)) + 0.5;
    ctx.beginPath(); ctx.moveTo(L, y); ctx.lineTo(w - R, y); ctx.stroke();
    ctx.fillText(`1e${d}`, L - 4, y);
  }
  ctx.textAlign = 'left';
  ctx.textBaseline = 'bottom';
  ctx.fillText(`${t('ui.epoch')} ${Math.round(x0)}`, L, h);
  ctx.textAlign = 'right';
  ctx.fillText(String(Math.round(xEnd)), w - R, h);
  if (!n) return;
  ctx.lineWidth = 1.5;
  // The last layer first, so the first layer's line (the one that vanishes) is drawn on top.
  [...s.names].reverse().forEach((name, j) => {
    const i = s.names.length - 1 - j;
    ctx.strokeStyle = layerColor(i, s.names.length);
    ctx.beginPath();
    let pen = false;
    for (let k = 0; k < n; k++) {
      const v = s.y[name][k];
      if (!(v > 0) || !Number.isFinite(v)) { pen = false; continue; }
      const y = Y(Math.min(Math.max(Math.log10(v), lo), hi));
      if (pen) ctx.lineTo(X(s.x[k]), y); else ctx.moveTo(X(s.x[k]), y);
      pen = true;
    }
    ctx.stroke();
  });
}
