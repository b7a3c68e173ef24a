// Line charts on canvas: series are appended point by point and redrawn only when asked,
// on the next animation frame, never rebuilt per message.

const DPR = () => window.devicePixelRatio || 1;
const MAX_POINTS = 600;

function tickText(v) {
  if (v >= 10) return v.toFixed(0);
  if (v !== 0 && Math.abs(v) < 0.01) return v.toExponential(0); // log-scale losses go tiny
  return v.toFixed(2);
}

export class LineChart {
  /** `series`: [{name, color, dash}]; `yRange`: fixed [lo, hi] or null for auto. */
  constructor(canvas, series, { yRange = null, label = "", log = false } = {}) {
    this.canvas = canvas;
    this.series = series.map((s) => ({ ...s, xs: [], ys: [] }));
    this.yRange = yRange;
    this.label = label;
    this.log = log;
    this.pending = false;
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

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }

  draw() {
    const c = this.canvas;
    const w = c.clientWidth || 300;
    const h = c.clientHeight || 120;
    const dpr = DPR();
    if (c.width !== Math.round(w * dpr)) c.width = Math.round(w * dpr);
    if (c.height !== Math.round(h * dpr)) c.height = Math.round(h * dpr);
    const ctx = c.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const pad = { l: 34, r: 6, t: 14, b: 14 };
    let xMax = 1;
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
    if (hi - lo < 1e-6) hi = lo + 1;
    const X = (x) => pad.l + ((w - pad.l - pad.r) * x) / xMax;
    const Y = (y) => pad.t + (h - pad.t - pad.b) * (1 - (tf(y) - lo) / (hi - lo));
    ctx.strokeStyle = "#eceef0";
    ctx.fillStyle = "#80868b";
    ctx.font = "10px system-ui, sans-serif";
    ctx.lineWidth = 1;
    for (let k = 0; k <= 4; k++) {
      const v = lo + ((hi - lo) * k) / 4;
      const y = pad.t + (h - pad.t - pad.b) * (1 - k / 4);
      ctx.beginPath();
      ctx.moveTo(pad.l, y);
      ctx.lineTo(w - pad.r, y);
      ctx.stroke();
      const shown = this.log ? 10 ** v : v;
      ctx.fillText(tickText(shown), 2, y + 3);
    }
    ctx.fillText(this.label, pad.l + 2, 10);
    ctx.textAlign = "right";
    const empty = this.series.every((s) => s.xs.length === 0);
    ctx.fillText(empty ? "no data yet" : `${Math.round(xMax).toLocaleString()} examples`, w - pad.r, h - 2);
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
