// The convolution calculator: W, F, S, P → output size (W − F + 2P)/S + 1, with the kernel's
// window sliding over the padded input and the output cell it fills lit up beside it. A small
// grid is drawn cell by cell; one too big for that (AlexNet's 227×227) is drawn to scale.

import { t } from "../js/i18n.js";

const LABELS = ["lab.calcW", "lab.calcF", "lab.calcS", "lab.calcP"];
const GAP = 40; // between the input and the output, room for the arrow
const TOP = 16; // the labels' line
const MAX_CELL = 22;
const MIN_CELL = 5; // below this a cell-by-cell grid is a grey blur: draw to scale instead
// One output row takes about 4 s, however many cells it has, but a step is never quicker than
// 40 ms nor slower than 650 ms (a few cells, each easy to follow).
const stepMs = (out) => Math.max(40, Math.min(650, 4000 / out));
const COLORS = {
  pad: "#f6f7f8", input: "#dfe3e7", zero: "#b6bbc2", ink: "#5f6368",
  window: "#0877bd", windowFill: "rgba(8,119,189,0.18)", done: "#9ec9e6", todo: "#eceef0",
};

export class ConvCalculator {
  constructor(root) {
    this.inputs = ["w", "f", "s", "p"].map((k) => root.querySelector(`#c-${k}`));
    this.formula = root.querySelector("#calc-formula");
    this.canvas = root.querySelector("#calc");
    this.v = null;
    this.pos = 0;
    this.last = 0;
    for (const el of this.inputs) el.addEventListener("input", () => this.update());
    this.update();
    requestAnimationFrame((now) => this.tick(now));
  }

  /** The four values, or the first one out of its input's range, named. The ranges are the
   * inputs' own: W past AlexNet's 227, F, S and P as far as a layer string allows (layers.py). */
  read() {
    const values = [];
    for (const [i, el] of this.inputs.entries()) {
      const v = Number(el.value);
      const [lo, hi] = [Number(el.min), Number(el.max)];
      if (el.value.trim() === "" || !Number.isInteger(v) || v < lo || v > hi) {
        return { bad: t("lab.calcBad", { name: t(LABELS[i]), min: lo, max: hi }) };
      }
      values.push(v);
    }
    const [w, f, s, p] = values;
    return { w, f, s, p };
  }

  update() {
    const v = this.read();
    this.pos = 0;
    if (v.bad) {
      this.v = null;
      this.formula.textContent = v.bad;
      this.formula.classList.add("bad");
      this.draw();
      return;
    }
    this.v = v;
    const { out, rem, ok } = this.size();
    const text = `(${v.w} − ${v.f} + 2·${v.p}) / ${v.s} + 1 = ${ok ? out : "—"}`;
    if (!ok) {
      this.formula.textContent = t("lab.calcNoFit", { formula: text, k: v.f, n: v.w + 2 * v.p });
    } else if (rem) {
      this.formula.textContent = t("lab.calcUneven", { formula: text, n: rem });
    } else {
      this.formula.textContent = t("lab.calcOut", { formula: text, n: out });
    }
    this.formula.classList.toggle("bad", !ok);
    this.draw();
  }

  size() {
    const { w, f, s, p } = this.v;
    const span = w - f + 2 * p;
    return { out: Math.floor(span / s) + 1, rem: span >= 0 ? span % s : 0, ok: span >= 0 };
  }

  tick(now) {
    const { out, ok } = this.v ? this.size() : { out: 1, ok: false };
    if (now - this.last > stepMs(out)) {
      this.last = now;
      if (ok) this.pos = (this.pos + 1) % (out * out);
      this.draw();
    }
    requestAnimationFrame((next) => this.tick(next));
  }

  /** Pixels per cell: whole cells with a 1-pixel gap while they are big enough, else a
   * fraction, so that the input and the output fit beside each other. */
  scale(full, out) {
    const room = Math.min((this.canvas.height - TOP - 4) / Math.max(full, out),
      (this.canvas.width - 12 - GAP) / (full + out));
    const cell = Math.min(MAX_CELL, Math.floor(room));
    return cell >= MIN_CELL ? { px: cell, cells: true } : { px: room, cells: false };
  }

  draw() {
    const ctx = this.canvas.getContext("2d");
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    if (!this.v) return;
    const { w, f, s, p } = this.v;
    const { out, ok } = this.size();
    const full = w + 2 * p;
    const { px, cells } = this.scale(full, ok ? out : 0);
    const x0 = 6;
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillStyle = COLORS.ink;
    const inLabel = t("lab.calcInput", { w, p });
    ctx.fillText(inLabel, x0, 11);
    const side = full * px - (cells ? 1 : 0);
    if (cells) this.cells(ctx, x0, w, p, px);
    else this.block(ctx, x0, w, p, px);
    if (!ok) return;
    const orow = Math.floor(this.pos / out);
    const ocol = this.pos % out;
    const win = Math.max(f * px - (cells ? 1 : 0), 3);
    ctx.strokeStyle = COLORS.window;
    ctx.lineWidth = 2;
    ctx.fillStyle = COLORS.windowFill;
    ctx.fillRect(x0 + ocol * s * px, TOP + orow * s * px, win, win);
    ctx.strokeRect(x0 + ocol * s * px, TOP + orow * s * px, win, win);
    // The output's label starts after the input's, however narrow the input is drawn.
    const x1 = Math.max(x0 + side + GAP, x0 + ctx.measureText(inLabel).width + 16);
    ctx.fillStyle = COLORS.ink;
    ctx.fillText(t("lab.calcOutput", { n: out }), x1, 11);
    ctx.fillText("→", (x0 + side + x1) / 2 - 6, TOP + side / 2 + 4);
    this.output(ctx, x1, out, orow, ocol, px, cells);
  }

  /** The padded input cell by cell, the padding's zeros written in where they fit. */
  cells(ctx, x0, w, p, px) {
    const full = w + 2 * p;
    for (let r = 0; r < full; r++) {
      for (let c = 0; c < full; c++) {
        const pad = r < p || c < p || r >= p + w || c >= p + w;
        ctx.fillStyle = pad ? COLORS.pad : COLORS.input;
        ctx.fillRect(x0 + c * px, TOP + r * px, px - 1, px - 1);
        if (pad && px >= 14) {
          ctx.fillStyle = COLORS.zero;
          ctx.fillText("0", x0 + c * px + px / 2 - 3, TOP + r * px + px / 2 + 4);
        }
      }
    }
  }

  /** The padded input to scale: the padding's ring, the input inside it. */
  block(ctx, x0, w, p, px) {
    const full = w + 2 * p;
    if (p) {
      ctx.fillStyle = COLORS.pad;
      ctx.fillRect(x0, TOP, full * px, full * px);
    }
    ctx.fillStyle = COLORS.input;
    ctx.fillRect(x0 + p * px, TOP + p * px, w * px, w * px);
  }

  /** The output: cells done so far, the one being filled, the rest. */
  output(ctx, x1, out, orow, ocol, px, cells) {
    if (cells) {
      for (let r = 0; r < out; r++) {
        for (let c = 0; c < out; c++) {
          const done = r * out + c <= this.pos;
          ctx.fillStyle = r === orow && c === ocol ? COLORS.window : done ? COLORS.done : COLORS.todo;
          ctx.fillRect(x1 + c * px, TOP + r * px, px - 1, px - 1);
        }
      }
      return;
    }
    const dot = Math.max(px, 3); // the row and cell being filled stay visible however small
    const edge = out * px - dot;
    ctx.fillStyle = COLORS.todo;
    ctx.fillRect(x1, TOP, out * px, out * px);
    ctx.fillStyle = COLORS.done;
    if (orow) ctx.fillRect(x1, TOP, out * px, orow * px);
    ctx.fillRect(x1, TOP + Math.min(orow * px, edge), (ocol + 1) * px, dot);
    ctx.fillStyle = COLORS.window;
    ctx.fillRect(x1 + Math.min(ocol * px, edge), TOP + Math.min(orow * px, edge), dot, dot);
  }
}
