// Loss and accuracy curves whose per-frame cost does not grow with history.
// Samples go into a fixed-capacity buffer; when it fills, every other sample is dropped and
// the sampling stride doubles, so the buffer always spans the whole run at bounded resolution.
// Each redraw walks at most CAPACITY points, however long training has run.

import { t } from './i18n.js';
import { FONT, marginFor, tickText } from './canvas.js';

export const CAPACITY = 600;

export class DecimatedSeries {
  constructor(names, capacity = CAPACITY) {
    this.names = names;
    this.capacity = capacity;
    this.x = new Float64Array(capacity);
    this.y = Object.fromEntries(names.map((n) => [n, new Float64Array(capacity)]));
    this.clear();
  }

  clear() {
    this.length = 0;
    this.stride = 1;
    this.nextX = -Infinity;
  }

  /** Add one sample at epoch `x` (values may be null for "not available"). */
  push(x, values) {
    if (x < this.nextX) return false;
    if (this.length === this.capacity) this.halve();
    const i = this.length++;
    this.x[i] = x;
    for (const n of this.names) this.y[n][i] = values[n] ?? NaN;
    this.nextX = x + this.stride;
    return true;
  }

  halve() {
    let j = 0;
    for (let i = 0; i < this.length; i += 2, j++) {
      this.x[j] = this.x[i];
      for (const n of this.names) this.y[n][j] = this.y[n][i];
    }
    this.length = j;
    this.stride *= 2;
  }

  /** Keep the samples up to epoch `x`; the rest (from `x` on, so the two curves meet) go into
   * a new series: a rewound run's old future. */
  cut(x) {
    const rest = new DecimatedSeries(this.names, this.capacity);
    rest.stride = this.stride;
    let keep = 0;
    for (let i = 0; i < this.length; i++) {
      if (this.x[i] <= x) keep = i + 1;
      if (this.x[i] >= x) {
        const j = rest.length++;
        rest.x[j] = this.x[i];
        for (const n of this.names) rest.y[n][j] = this.y[n][i];
      }
    }
    this.length = keep;
    // The moment gone back to is the fork's first sample, unless it is kept already.
    this.nextX = keep && this.x[keep - 1] === x ? x + this.stride : x;
    return rest;
  }

  /** The sample nearest epoch `x` at or before it, as `{epoch, name: value…}`, or null. */
  at(x) {
    let found = -1;
    for (let i = 0; i < this.length && this.x[i] <= x; i++) found = i;
    if (found < 0) return null;
    const row = { epoch: this.x[found] };
    for (const n of this.names) row[n] = Number.isNaN(this.y[n][found]) ? null : this.y[n][found];
    return row;
  }

  /** Plain arrays of the samples kept (for tests and export). */
  toJSON() {
    const out = [];
    for (let i = 0; i < this.length; i++) {
      const row = { epoch: this.x[i] };
      for (const n of this.names) row[n] = Number.isNaN(this.y[n][i]) ? null : this.y[n][i];
      out.push(row);
    }
    return out;
  }
}

const SERIES_STYLE = {
  train_loss: { color: '#5f6368', dash: [] },
  test_loss: { color: '#202124', dash: [4, 3] },
  train_acc: { color: '#0877bd', dash: [] },
  test_acc: { color: '#0877bd', dash: [4, 3] },
};

/** A small line chart of some series of a DecimatedSeries. */
export class LineChart {
  constructor(canvas, series, names, { log = false, fixedRange = null } = {}) {
    this.canvas = canvas;
    this.series = series;
    this.names = names;
    this.log = log;
    this.fixedRange = fixedRange;
    this.ctx = canvas.getContext('2d');
    this.ghost = null;   // a rewound run's old future, drawn faint until the next fork
    this.cursor = null;  // the epoch a scrubber points at, or null
    this.resize();
  }

  /** The epoch under canvas x-coordinate `px` (CSS pixels), within the drawn range. */
  epochAt(px) {
    const m = this.mapped;
    if (!m) return 0;
    const e = m.x0 + ((px - m.L) / (m.w - m.L - m.R)) * (m.x1 - m.x0);
    return Math.round(Math.min(Math.max(e, m.x0), m.x1));
  }

  setSeries(names, fixedRange = null) {
    this.names = names;
    this.fixedRange = fixedRange;
  }

  resize() {
    const dpr = window.devicePixelRatio || 1;
    this.w = this.canvas.clientWidth || 300;
    this.h = this.canvas.clientHeight || 80;
    this.canvas.width = Math.round(this.w * dpr);
    this.canvas.height = Math.round(this.h * dpr);
    this.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  }

  /** Redraw; the x axis ends at `xEnd` when given, else at the last sample. */
  draw(xEnd = null) {
    const { ctx, w, h, series: s } = this;
    ctx.clearRect(0, 0, w, h);
    const n = s.length;
    const g = this.ghost?.length ? this.ghost : null;
    const R = 6, T = 6, B = 14;
    const logAxis = this.log && !this.fixedRange;
    const tf = logAxis ? (v) => (v > 0 ? Math.log10(v) : NaN) : (v) => v;
    let lo = Infinity, hi = -Infinity;
    if (this.fixedRange) [lo, hi] = this.fixedRange;
    else {
      for (const part of g ? [s, g] : [s]) {
        for (const name of this.names) {
          const ys = part.y[name];
          for (let i = 0; i < part.length; i++) {
            const v = tf(ys[i]);
            if (Number.isFinite(v)) { if (v < lo) lo = v; if (v > hi) hi = v; }
          }
        }
      }
      if (!Number.isFinite(lo)) { lo = 0; hi = 1; }
      if (hi - lo < 1e-9) { hi += 0.5; lo -= 0.5; }
      if (!this.log) lo = Math.min(lo, 0);
    }
    ctx.font = FONT;
    const ticks = [lo, (lo + hi) / 2, hi].map((v) => [v, tickText(logAxis ? 10 ** v : v)]);
    const L = marginFor(ctx, ticks.map(([, text]) => text), 34);
    const x0 = n ? s.x[0] : 0;
    const last = Math.max(xEnd ?? (n ? s.x[n - 1] : 0), g ? g.x[g.length - 1] : 0);
    const x1 = Math.max(last, x0 + 1);
    const X = (x) => L + ((x - x0) / (x1 - x0)) * (w - L - R);
    const Y = (v) => T + ((hi - v) / (hi - lo)) * (h - T - B);
    this.mapped = { x0, x1, L, R, w };

    ctx.fillStyle = '#70757a';
    ctx.strokeStyle = '#e8eaed';
    ctx.lineWidth = 1;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (const [v, text] of ticks) {
      const y = Math.round(Y(v)) + 0.5;
      ctx.beginPath(); ctx.moveTo(L, y); ctx.lineTo(w - R, y); ctx.stroke();
      ctx.fillText(text, L - 4, y);
    }
    ctx.textAlign = 'left';
    ctx.textBaseline = 'bottom';
    ctx.fillText(`${t('ui.epoch')} ${Math.round(x0)}`, L, h);
    ctx.textAlign = 'right';
    ctx.fillText(`${Math.round(last)}`, w - R, h);

    if (g) {
      ctx.globalAlpha = 0.3;
      this.lines(g, X, Y, tf);
      ctx.globalAlpha = 1;
    }
    this.lines(s, X, Y, tf);
    if (this.cursor !== null) {
      const px = Math.round(X(this.cursor)) + 0.5;
      ctx.strokeStyle = '#e8710a';
      ctx.lineWidth = 1.5;
      ctx.beginPath(); ctx.moveTo(px, T); ctx.lineTo(px, h - B); ctx.stroke();
      ctx.fillStyle = '#e8710a';
      ctx.textAlign = px > w / 2 ? 'right' : 'left';
      ctx.textBaseline = 'top';
      ctx.fillText(`${t('ui.epoch')} ${this.cursor}`, px + (px > w / 2 ? -4 : 4), T);
    }
  }

  lines(s, X, Y, tf) {
    const { ctx } = this;
    for (const name of this.names) {
      const st = SERIES_STYLE[name];
      const ys = s.y[name];
      ctx.strokeStyle = st.color;
      ctx.setLineDash(st.dash);
      ctx.lineWidth = 1.6;
      ctx.beginPath();
      let pen = false;
      for (let i = 0; i < s.length; i++) {
        const v = tf(ys[i]);
        if (!Number.isFinite(v)) { pen = false; continue; }
        const px = X(s.x[i]);
        const py = Y(v);
        if (pen) ctx.lineTo(px, py); else ctx.moveTo(px, py);
        pen = true;
      }
      ctx.stroke();
    }
    ctx.setLineDash([]);
  }
}
