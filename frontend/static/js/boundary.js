// The output view: the decision boundary (or a hovered neuron's map) drawn from the frame's
// int8/uint8 grids through ImageData, the train/test points over it, and the 1-D curve view
// for 1-D regression. Grid row 0 is the top (largest x₂), column 0 the left (smallest x₁), so
// the arrays are drawn as images without flipping.

import { paintClasses, paintSigned, labelColor, cssColor } from './colors.js';
import { numClasses } from './state.js';
import { DOMAIN } from './features.js';

export { DOMAIN };
const TICKS = [-6, -4, -2, 0, 2, 4, 6];

export class PlotGeometry {
  constructor(size, pad) {
    this.size = size;   // CSS pixels of the square plot area
    this.pad = pad;     // left/top offset of the plot area inside the canvas
  }
  toPx(x1, x2) {
    const [lo, hi] = DOMAIN;
    return [this.pad + ((x1 - lo) / (hi - lo)) * this.size, this.pad + ((hi - x2) / (hi - lo)) * this.size];
  }
  toData(px, py) {
    const [lo, hi] = DOMAIN;
    return [lo + ((px - this.pad) / this.size) * (hi - lo), hi - ((py - this.pad) / this.size) * (hi - lo)];
  }
}

/** A square map view with points: used for the big output and for the k-NN view. */
export class MapView {
  constructor(canvas, state, { axes = true, pointRadius = 3 } = {}) {
    this.canvas = canvas;
    this.state = state;
    this.axes = axes;
    this.r = pointRadius;
    this.ctx = canvas.getContext('2d');
    this.off = document.createElement('canvas');
    this.offCtx = this.off.getContext('2d');
    this.image = null;
    this.oneDRange = null;
    this.resize();
  }

  resize() {
    const cssSize = this.canvas.clientWidth || 300;
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(cssSize * dpr);
    this.canvas.height = Math.round(cssSize * dpr);
    this.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const pad = this.axes ? 7 : 0;
    const axis = this.axes ? 22 : 0;
    this.geom = new PlotGeometry(cssSize - pad - axis, pad);
    this.cssSize = cssSize;
  }

  imageFor(side) {
    if (!this.image || this.image.width !== side) {
      this.off.width = this.off.height = side;
      this.image = this.offCtx.createImageData(side, side);
    }
    return this.image;
  }

  /** Paint a grid: signed int8 values, or classes + confidence for more than two classes. */
  paintGrid(grid) {
    const { ctx, geom } = this;
    const discretize = !!this.state.config?.discretize;
    const side = grid.signed ? grid.signed.shape[grid.signed.shape.length - 1] : grid.classes.shape[1];
    const img = this.imageFor(side);
    if (grid.signed) paintSigned(grid.signed, img, discretize, true);
    else paintClasses(grid.classes, grid.confidence, grid.k, img, discretize, true);
    this.offCtx.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = !discretize;
    ctx.drawImage(this.off, geom.pad, geom.pad, geom.size, geom.size);
  }

  clear() {
    this.ctx.clearRect(0, 0, this.cssSize, this.cssSize);
  }

  drawPoints(points, k, stroke) {
    if (!points) return;
    const { ctx, geom, r } = this;
    ctx.lineWidth = 1;
    ctx.strokeStyle = stroke;
    for (let i = 0; i < points.length; i += 3) {
      const [x, y] = geom.toPx(points[i], points[i + 1]);
      if (x < geom.pad || y < geom.pad || x > geom.pad + geom.size || y > geom.pad + geom.size) continue;
      ctx.beginPath();
      ctx.arc(x, y, r, 0, 2 * Math.PI);
      ctx.fillStyle = labelColor(points[i + 2], k);
      ctx.fill();
      ctx.stroke();
    }
  }

  drawAddedMarks() {
    const pts = this.state.config?.points || [];
    const { ctx, geom } = this;
    ctx.strokeStyle = '#202124';
    ctx.lineWidth = 1.5;
    for (const [x1, x2] of pts) {
      const [x, y] = geom.toPx(x1, x2);
      ctx.beginPath();
      ctx.arc(x, y, this.r + 2.5, 0, 2 * Math.PI);
      ctx.stroke();
    }
  }

  drawAxes(yTicks = null) {
    if (!this.axes) return;
    const { ctx, geom } = this;
    ctx.fillStyle = '#5f6368';
    ctx.font = '10px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    const end = geom.pad + geom.size;
    for (const t of TICKS) {
      const [x] = geom.toPx(t, t);
      ctx.fillRect(x - 0.5, end, 1, 4);
      ctx.fillText(String(t), x, end + 6);
    }
    for (const [, y] of yTicks || TICKS.map((t) => [t, geom.toPx(t, t)[1]])) ctx.fillRect(end, y - 0.5, 4, 1);
    ctx.textAlign = 'left';
    ctx.textBaseline = 'middle';
    for (const [t, y] of yTicks || TICKS.map((t) => [t, geom.toPx(t, t)[1]])) {
      ctx.fillText(String(t), end + 6, y);
    }
  }

  /** Draw a full 2-D map with points. */
  drawMap(grid) {
    const st = this.state;
    const k = numClasses(st);
    this.clear();
    if (grid) this.paintGrid(grid);
    else {
      this.ctx.fillStyle = '#e8eaeb';
      this.ctx.fillRect(this.geom.pad, this.geom.pad, this.geom.size, this.geom.size);
    }
    if (st.data) {
      this.drawPoints(st.data.train, k, '#ffffff');
      if (st.config?.showTestData) this.drawPoints(st.data.test, k, '#202124');
    }
    this.drawAddedMarks();
    this.drawAxes();
  }

  /** 1-D regression: points (x₁, target) and the prediction curve along x₁. */
  drawCurve(curve) {
    const { ctx, geom } = this;
    const st = this.state;
    this.clear();
    ctx.fillStyle = '#fbfbfc';
    ctx.fillRect(geom.pad, geom.pad, geom.size, geom.size);
    const train = st.data?.train || new Float32Array();
    const test = st.data?.test || new Float32Array();
    // A y range that fits the data (the curve may leave it while training; clip, don't rescale).
    if (!this.oneDRange || this.oneDRange.version !== st.data?.version) {
      let lo = Infinity, hi = -Infinity;
      for (const arr of [train, test]) for (let i = 2; i < arr.length; i += 3) { lo = Math.min(lo, arr[i]); hi = Math.max(hi, arr[i]); }
      if (!isFinite(lo)) { lo = -1; hi = 1; }
      const m = 0.12 * (hi - lo || 1);
      this.oneDRange = { lo: lo - m, hi: hi + m, version: st.data?.version };
    }
    const { lo, hi } = this.oneDRange;
    const X = (x1) => geom.toPx(x1, 0)[0];
    const Y = (v) => geom.pad + ((hi - v) / (hi - lo)) * geom.size;
    this.toDataY = (py) => hi - ((py - geom.pad) / geom.size) * (hi - lo);
    ctx.save();
    ctx.beginPath();
    ctx.rect(geom.pad, geom.pad, geom.size, geom.size);
    ctx.clip();
    ctx.strokeStyle = '#dadce0';
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(geom.pad, Y(0));
    ctx.lineTo(geom.pad + geom.size, Y(0));
    ctx.stroke();
    const dots = (arr, stroke) => {
      for (let i = 0; i < arr.length; i += 3) {
        ctx.beginPath();
        ctx.arc(X(arr[i]), Y(arr[i + 2]), 2.6, 0, 2 * Math.PI);
        ctx.fillStyle = cssColor(arr[i + 2] / Math.max(Math.abs(lo), Math.abs(hi)));
        ctx.fill();
        ctx.strokeStyle = stroke;
        ctx.stroke();
      }
    };
    dots(train, '#ffffff');
    if (st.config?.showTestData) dots(test, '#202124');
    if (curve) {
      ctx.strokeStyle = '#202124';
      ctx.lineWidth = 2.2;
      ctx.beginPath();
      for (let i = 0; i < curve.length; i += 2) {
        const x = X(curve[i]);
        const y = Y(curve[i + 1]);
        if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
      }
      ctx.stroke();
    }
    ctx.restore();
    // Ticks of the target axis: whole numbers spread over the visible range.
    const span = hi - lo;
    const unit = span > 12 ? 4 : span > 6 ? 2 : span > 2 ? 1 : 0.5;
    const ticks = [];
    for (let t = Math.ceil(lo / unit) * unit; t <= hi; t += unit) ticks.push([Number(t.toFixed(2)), Y(t)]);
    this.drawAxes(ticks);
  }
}

/** Pick the grid a frame carries for the big output (or a hovered neuron's map). */
export function outputGrid(frame, k, hoverNeuron = null) {
  if (!frame) return null;
  const a = frame.arrays;
  if (hoverNeuron !== null && a.neurons) {
    const [n, m] = a.neurons.shape;
    if (hoverNeuron < n) {
      const signed = a.neurons.subarray(hoverNeuron * m * m, (hoverNeuron + 1) * m * m);
      signed.shape = [m, m];
      return { signed };
    }
  }
  if (a.classes) return { classes: a.classes, confidence: a.confidence, k };
  if (a.output) return { signed: a.output };
  return null;
}

export function knnGrid(frame, k) {
  const a = frame?.arrays;
  if (!a?.knn) return null;
  if (a.knn instanceof Uint8Array) {
    const conf = new Uint8Array(a.knn.length).fill(255);
    return { classes: a.knn, confidence: conf, k };
  }
  return { signed: a.knn };
}
