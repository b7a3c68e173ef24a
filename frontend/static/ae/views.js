// The autoencoder lab's views: the code plane (every shown digit at its code, a probe point
// the decoder draws), digit images, and the network's activations.

import { t } from "../js/i18n.js";
import { Drawn, fitCanvas } from "../lab/charts.js";
import { NetView } from "../rl/views.js";

const MARGIN = 0.08; // of the codes' span, around them
const KEY_STEP = 1 / 20; // of the plane's span, per arrow key

/** A digit's pixels (0–255, ink high) drawn ink-dark on white, filling `canvas`. */
export function drawDigit(canvas, pixels, side) {
  const { ctx, w, h } = fitCanvas(canvas);
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, w, h);
  if (!pixels) return;
  const cell = Math.min(w, h) / side;
  for (let k = 0; k < pixels.length; k++) {
    const v = 255 - pixels[k];
    ctx.fillStyle = `rgb(${v},${v},${v})`;
    ctx.fillRect((k % side) * cell, Math.floor(k / side) * cell, Math.ceil(cell), Math.ceil(cell));
  }
}

export class PlaneView extends Drawn {
  /** `onPick(x, y)`: a point of the code plane the learner chose (a click, or Enter). */
  constructor(canvas, onPick) {
    super(canvas);
    this.onPick = onPick;
    this.codes = null;
    this.digits = null; // {side, count, labels, columns, sprite: Image}
    this.selected = 0;
    this.probe = null; // [x, y] of the last point decoded
    this.view = null; // {cx, cy, span}
    canvas.addEventListener("click", (e) => {
      const r = canvas.getBoundingClientRect();
      this.pick(this.toCode(e.clientX - r.left, e.clientY - r.top));
    });
    canvas.addEventListener("keydown", (e) => this.key(e));
  }

  setDigits(digits) {
    const sprite = new Image();
    sprite.onload = () => this.schedule();
    sprite.src = digits.sprite;
    this.digits = { ...digits, image: sprite };
    this.codes = null;
    this.view = null;
    this.schedule();
  }

  set(codes, selected) {
    this.codes = codes;
    this.selected = selected;
    let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
    for (const [x, y] of codes) {
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y);
    }
    const span = Math.max(x1 - x0, y1 - y0, 1e-3) * (1 + 2 * MARGIN);
    this.view = { cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, span };
    this.canvas.dataset.span = span.toFixed(4);
    this.schedule();
  }

  /** Code coordinates of a point `px`, `py` CSS pixels into the canvas (y up). */
  toCode(px, py) {
    const size = this.canvas.clientWidth || 1;
    const { cx, cy, span } = this.view || { cx: 0, cy: 0, span: 2 };
    return [cx + (px / size - 0.5) * span, cy - (py / size - 0.5) * span];
  }

  toPixel([x, y], size) {
    const { cx, cy, span } = this.view;
    return [(0.5 + (x - cx) / span) * size, (0.5 - (y - cy) / span) * size];
  }

  pick(point) {
    this.probe = point;
    this.canvas.dataset.probe = point.map((v) => v.toFixed(3)).join(" ");
    this.onPick(point[0], point[1]);
    this.schedule();
  }

  key(e) {
    const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
    if (!this.view) return;
    const start = this.probe || [this.view.cx, this.view.cy];
    if (e.key in moves) {
      e.preventDefault();
      const [dx, dy] = moves[e.key];
      const step = KEY_STEP * (e.shiftKey ? 5 : 1) * this.view.span; // Shift: five steps
      this.pick([start[0] + dx * step, start[1] + dy * step]);
    } else if (e.key === "Enter") {
      e.preventDefault();
      this.pick(start);
    }
  }

  draw() {
    const { ctx, w } = fitCanvas(this.canvas);
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, w, w);
    if (!this.codes || !this.digits || !this.view) {
      ctx.fillStyle = "#70757a";
      ctx.font = "12px system-ui, sans-serif";
      ctx.fillText(t("lab.chart.noData"), 8, 18);
      return;
    }
    const [ox, oy] = this.toPixel([0, 0], w); // the plane's axes, where they are in view
    ctx.strokeStyle = "#eceef1";
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(ox, 0);
    ctx.lineTo(ox, w);
    ctx.moveTo(0, oy);
    ctx.lineTo(w, oy);
    ctx.stroke();
    const { side, columns, image } = this.digits;
    const thumb = Math.max(10, Math.min(22, w / 24));
    const ready = image.complete && image.naturalWidth > 0;
    this.codes.forEach((code, i) => {
      const [px, py] = this.toPixel(code, w);
      if (ready) {
        const sx = (i % columns) * side;
        const sy = Math.floor(i / columns) * side;
        ctx.drawImage(image, sx, sy, side, side, px - thumb / 2, py - thumb / 2, thumb, thumb);
      }
    });
    const [sx, sy] = this.toPixel(this.codes[this.selected], w);
    ctx.strokeStyle = "#202124";
    ctx.lineWidth = 1.5;
    ctx.strokeRect(sx - thumb / 2 - 2, sy - thumb / 2 - 2, thumb + 4, thumb + 4);
    if (this.probe) {
      const [px, py] = this.toPixel(this.probe, w);
      ctx.strokeStyle = "#d93025";
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.moveTo(px - 8, py);
      ctx.lineTo(px + 8, py);
      ctx.moveTo(px, py - 8);
      ctx.lineTo(px, py + 8);
      ctx.stroke();
    }
  }
}

/** The activations of the selected digit, layer by layer: the encoder, the code, the decoder. */
export class AENetView extends NetView {
  constructor(canvas) {
    super(canvas);
    this.code = 0; // the index of the code among the layers
  }

  label(i, n) {
    if (i === this.code) return t("ae.net.code", { n });
    return t(i < this.code ? "ae.net.encoder" : "ae.net.decoder", { k: i < this.code ? i + 1 : i - this.code, n });
  }
}
