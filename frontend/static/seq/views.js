// The sequence lab's step-by-step views: the hidden state over time as a heatmap, and values per
// time step (the gradient reaching each step, the LSTM's gates) as lines. Each is drawn on the
// next animation frame from the last data it was given, never more than once per frame.

import { LUT } from "../js/colors.js";
import { t } from "../js/i18n.js";
import { Drawn, fitCanvas } from "../lab/charts.js";

function fit(canvas) {
  const { ctx, w, h } = fitCanvas(canvas);
  ctx.font = "10px system-ui, sans-serif";
  ctx.fillStyle = "#70757a";
  ctx.textAlign = "left"; // the context keeps what the last drawing set
  return { ctx, w, h };
}

/** Hidden state [T, U] (a typed array with `.shape`): time across, units down, on the one
 * diverging scale (tanh's −1 orange, +1 blue). */
export class Heatmap extends Drawn {
  set(array) {
    this.array = array;
    this.schedule();
  }

  draw() {
    const { ctx, w, h } = fit(this.canvas);
    const a = this.array;
    if (!a) return;
    const [steps, units] = a.shape;
    const img = new ImageData(steps, units);
    for (let s = 0; s < steps; s++) {
      for (let u = 0; u < units; u++) {
        const v = Math.max(-1, Math.min(1, a[s * units + u]));
        const k = (128 + Math.round(v * 127)) * 3;
        const p = (u * steps + s) * 4;
        img.data[p] = LUT[k];
        img.data[p + 1] = LUT[k + 1];
        img.data[p + 2] = LUT[k + 2];
        img.data[p + 3] = 255;
      }
    }
    const off = new OffscreenCanvas(steps, units);
    off.getContext("2d").putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(off, 0, 0, steps, units, 0, 0, w, h - 12);
    ctx.fillText("t = 1", 2, h - 2);
    ctx.textAlign = "right";
    ctx.fillText(`t = ${steps}`, w - 2, h - 2);
    this.canvas.dataset.shape = `${steps}x${units}`;
  }
}

/** Lines over the time steps: `series` [{name, color, dash}], set with {name: Float32Array}.
 * `log`: a log10 axis (gradients span many powers of ten); else `yRange`. */
export class StepChart extends Drawn {
  constructor(canvas, series, { log = false, yRange = [0, 1] } = {}) {
    super(canvas);
    this.series = series;
    this.log = log;
    this.yRange = yRange;
    this.values = {};
  }

  set(values) {
    this.values = values;
    this.schedule();
  }

  clear() {
    this.set({});
  }

  draw() {
    const { ctx, w, h } = fit(this.canvas);
    const pad = { l: 34, r: 6, t: 8, b: 14 };
    const tf = (v) => (this.log ? Math.log10(Math.max(v, 1e-12)) : v);
    const present = this.series.filter((s) => this.values[s.name] && this.values[s.name].length);
    let [lo, hi] = this.yRange;
    let steps = 1;
    if (this.log) {
      lo = Infinity;
      hi = -Infinity;
      for (const s of present) {
        for (const v of this.values[s.name]) {
          lo = Math.min(lo, Math.floor(tf(v)));
          hi = Math.max(hi, Math.ceil(tf(v)));
        }
      }
      if (!Number.isFinite(lo)) [lo, hi] = [-3, 0];
      if (hi <= lo) hi = lo + 1;
    }
    for (const s of present) steps = Math.max(steps, this.values[s.name].length);
    const X = (i) => pad.l + ((w - pad.l - pad.r) * i) / Math.max(steps - 1, 1);
    const Y = (v) => pad.t + (h - pad.t - pad.b) * (1 - (tf(v) - lo) / (hi - lo));
    ctx.strokeStyle = "#eceef0";
    const ticks = this.log ? spread(lo, hi) : [lo, (lo + hi) / 2, hi];
    for (const v of ticks) {
      const y = pad.t + (h - pad.t - pad.b) * (1 - (v - lo) / (hi - lo));
      ctx.beginPath();
      ctx.moveTo(pad.l, y);
      ctx.lineTo(w - pad.r, y);
      ctx.stroke();
      ctx.fillText(this.log ? `1e${v}` : String(Math.round(v * 100) / 100), 2, y + 3);
    }
    ctx.textAlign = "right";
    ctx.fillText(present.length ? t("seq.chart.steps", { n: steps }) : t("lab.chart.noData"), w - pad.r, h - 2);
    ctx.textAlign = "left";
    for (const s of present) {
      const ys = this.values[s.name];
      ctx.strokeStyle = s.color;
      ctx.lineWidth = 1.6;
      ctx.setLineDash(s.dash ? [4, 3] : []);
      ctx.beginPath();
      for (let i = 0; i < ys.length; i++) {
        if (i === 0) ctx.moveTo(X(i), Y(ys[i]));
        else ctx.lineTo(X(i), Y(ys[i]));
      }
      ctx.stroke();
    }
    ctx.setLineDash([]);
    this.canvas.dataset.series = present.map((s) => s.name).join(" ");
  }
}

/** At most five whole powers of ten from lo to hi. */
function spread(lo, hi) {
  const every = Math.max(1, Math.ceil((hi - lo) / 4));
  const out = [];
  for (let v = lo; v <= hi; v += every) out.push(v);
  return out;
}
