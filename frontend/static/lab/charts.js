// Line charts on canvas: series are appended point by point and redrawn only when asked,
// on the next animation frame, never rebuilt per message.

import { t } from "../js/i18n.js";

const DPR = () => window.devicePixelRatio || 1;
const MAX_POINTS = 600;

function logTickText(v) {
  if (v >= 10) return v.toFixed(0);
  if (Math.abs(v) < 0.01) return v.toExponential(0); // log-scale losses go tiny
  return v.toFixed(2);
}

/** A log axis (values are log10): four equal steps. */
function logTicks(lo, hi) {
  if (hi - lo < 1e-6) hi = lo + 1;
  return [0, 1, 2, 3, 4].map((k) => {
    const v = lo + ((hi - lo) * k) / 4;
    return { v, text: logTickText(10 ** v) };
  });
}

/** A linear axis: steps of 1, 2 or 5 times a power of ten covering [lo, hi], at most five of
 * them, written with as many decimals as the step has. A nearly flat curve gets a span of at
 * least 2 % of its size, so its ticks are not one number repeated. */
function linearTicks(lo, hi) {
  const span = Math.max(hi - lo, 0.02 * Math.max(Math.abs(lo), Math.abs(hi))) || 1;
  const p = 10 ** Math.floor(Math.log10(span / 5));
  const step = [1, 2, 5, 10].map((m) => m * p).find((st) => span / st <= 5);
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.max(Math.ceil(hi / step - 1e-9), first + 1);
  return Array.from({ length: last - first + 1 }, (_, i) => {
    const v = (first + i) * step;
    return { v, text: v.toFixed(decimals) };
  });
}

/** Size `canvas`'s pixels to its box at the screen's density and clear it: `{ctx, w, h}` in CSS
 * pixels. */
export function fitCanvas(canvas) {
  const w = canvas.clientWidth || 300;
  const h = canvas.clientHeight || 120;
  const dpr = DPR();
  if (canvas.width !== Math.round(w * dpr)) canvas.width = Math.round(w * dpr);
  if (canvas.height !== Math.round(h * dpr)) canvas.height = Math.round(h * dpr);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return { ctx, w, h };
}

/** A view drawn on the next animation frame from the last data it was given (`schedule`),
 * never more than once per frame; a subclass has `draw()`. */
export class Drawn {
  constructor(canvas) {
    this.canvas = canvas;
    this.pending = false;
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }
}

export class LineChart extends Drawn {
  /** `series`: [{name, color, dash}]; `yRange`: fixed [lo, hi] or null for auto; `xText(n)`:
   * the x axis's end as words (default "{n} examples"; the agent lab counts ticks). */
  constructor(canvas, series, { yRange = null, label = "", log = false, xText = null } = {}) {
    super(canvas);
    this.xText = xText;
    this.series = series.map((s) => ({ ...s, xs: [], ys: [] }));
    this.yRange = yRange;
    this.label = label;
    this.log = log;
  }

  clear() {
    for (const s of this.series) {
      s.xs = [];
      s.ys = [];
    }
    this.draw();
  }

  /** Add one x with a value per series name (null/undefined values are skipped). */
  push(x, values) {
    for (const s of this.series) {
      const v = values[s.name];
      if (v === null || v === undefined || !Number.isFinite(v)) continue;
      s.xs.push(x);
      s.ys.push(v);
      if (s.xs.length > MAX_POINTS) {
        // Keep long runs cheap: drop every second point of the older half.
        const half = s.xs.length >> 1;
        s.xs = s.xs.filter((_, i) => i >= half || i % 2 === 0);
        s.ys = s.ys.filter((_, i) => i >= half || i % 2 === 0);
      }
    }
    this.schedule();
  }


  draw() {
    const c = this.canvas;
    const { ctx, w, h } = fitCanvas(c);
    const pad = { l: 34, r: 6, t: 14, b: 14 };
    let xMax = 0;
    let lo = Infinity;
    let hi = -Infinity;
    const tf = (v) => (this.log ? Math.log10(Math.max(v, 1e-4)) : v);
    for (const s of this.series) {
      for (let i = 0; i < s.xs.length; i++) {
        xMax = Math.max(xMax, s.xs[i]);
        lo = Math.min(lo, tf(s.ys[i]));
        hi = Math.max(hi, tf(s.ys[i]));
      }
    }
    if (this.yRange) [lo, hi] = this.yRange;
    if (!Number.isFinite(lo)) [lo, hi] = [0, 1];
    const ticks = this.log ? logTicks(lo, hi) : linearTicks(lo, hi);
    lo = ticks[0].v;
    hi = ticks[ticks.length - 1].v;
    const X = (x) => pad.l + ((w - pad.l - pad.r) * x) / (xMax || 1);
    const Y = (y) => pad.t + (h - pad.t - pad.b) * (1 - (tf(y) - lo) / (hi - lo));
    ctx.strokeStyle = "#eceef0";
    ctx.fillStyle = "#70757a";
    ctx.font = "10px system-ui, sans-serif";
    ctx.lineWidth = 1;
    c.dataset.ticks = ticks.map((t) => t.text).join(" ");
    for (const t of ticks) {
      const y = pad.t + (h - pad.t - pad.b) * (1 - (t.v - lo) / (hi - lo));
      ctx.beginPath();
      ctx.moveTo(pad.l, y);
      ctx.lineTo(w - pad.r, y);
      ctx.stroke();
      ctx.fillText(t.text, 2, y + 3);
    }
    ctx.fillText(this.label, pad.l + 2, 10);
    ctx.textAlign = "right";
    const empty = this.series.every((s) => s.xs.length === 0);
    const n = Math.round(xMax);
    c.dataset.x = !empty && this.xText ? this.xText(n)
      : t(empty ? "lab.chart.noData" : n === 1 ? "lab.chart.example" : "lab.chart.examples", { n: n.toLocaleString() });
    ctx.fillText(c.dataset.x, w - pad.r, h - 2);
    ctx.textAlign = "left";
    for (const s of this.series) {
      if (s.xs.length < 1) continue;
      ctx.strokeStyle = s.color;
      ctx.lineWidth = 1.6;
      ctx.setLineDash(s.dash ? [4, 3] : []);
      ctx.beginPath();
      for (let i = 0; i < s.xs.length; i++) {
        const px = X(s.xs[i]);
        const py = Y(s.ys[i]);
        if (i === 0) ctx.moveTo(px, py);
        else ctx.lineTo(px, py);
      }
      ctx.stroke();
    }
    ctx.setLineDash([]);
  }
}
