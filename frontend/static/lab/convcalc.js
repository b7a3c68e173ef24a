// The convolution calculator: W, F, S, P → output size (W − F + 2P)/S + 1, with the kernel's
// window sliding over a small padded grid and the output cell it fills lit up beside it.

import { t } from "../js/i18n.js";

const STEP_MS = 650;

export class ConvCalculator {
  constructor(root) {
    this.inputs = ["w", "f", "s", "p"].map((k) => root.querySelector(`#c-${k}`));
    this.formula = root.querySelector("#calc-formula");
    this.canvas = root.querySelector("#calc");
    this.pos = 0;
    this.last = 0;
    for (const el of this.inputs) el.addEventListener("input", () => this.update());
    this.update();
    requestAnimationFrame((t) => this.tick(t));
  }

  update() {
    const [w, f, s, p] = this.inputs.map((el) => Math.max(0, Math.round(Number(el.value) || 0)));
    this.v = { w: Math.max(1, w), f: Math.max(1, f), s: Math.max(1, s), p };
    const { out, rem, ok } = this.size();
    const text = `(${this.v.w} − ${this.v.f} + 2·${this.v.p}) / ${this.v.s} + 1 = ${ok ? out : "—"}`;
    if (!ok) {
      this.formula.textContent = t("lab.calcNoFit", { formula: text, k: this.v.f, n: this.v.w + 2 * this.v.p });
    } else if (rem) {
      this.formula.textContent = t("lab.calcUneven", { formula: text, n: rem });
    } else {
      this.formula.textContent = t("lab.calcOut", { formula: text, n: out });
    }
    this.formula.classList.toggle("bad", !ok);
    this.pos = 0;
    this.draw();
  }

  size() {
    const { w, f, s, p } = this.v;
    const span = w - f + 2 * p;
    return { out: Math.floor(span / s) + 1, rem: span >= 0 ? span % s : 0, ok: span >= 0 };
  }

  tick(t) {
    if (t - this.last > STEP_MS) {
      this.last = t;
      const { out, ok } = this.size();
      if (ok) this.pos = (this.pos + 1) % (out * out);
      this.draw();
    }
    requestAnimationFrame((tt) => this.tick(tt));
  }

  draw() {
    const ctx = this.canvas.getContext("2d");
    const { w, f, s, p } = this.v;
    const { out, ok } = this.size();
    const full = w + 2 * p;
    const H = this.canvas.height;
    const cell = Math.min(22, Math.floor((H - 20) / Math.max(full, out, 1)));
    ctx.clearRect(0, 0, this.canvas.width, H);
    const x0 = 6;
    const y0 = 16;
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillStyle = "#5f6368";
    ctx.fillText(t("lab.calcInput", { w, p }), x0, 11);
    for (let r = 0; r < full; r++) {
      for (let c = 0; c < full; c++) {
        const pad = r < p || c < p || r >= p + w || c >= p + w;
        ctx.fillStyle = pad ? "#f6f7f8" : "#dfe3e7";
        ctx.fillRect(x0 + c * cell, y0 + r * cell, cell - 1, cell - 1);
        if (pad) {
          ctx.fillStyle = "#b6bbc2";
          ctx.fillText("0", x0 + c * cell + cell / 2 - 3, y0 + r * cell + cell / 2 + 4);
        }
      }
    }
    if (!ok) return;
    const orow = Math.floor(this.pos / out);
    const ocol = this.pos % out;
    ctx.strokeStyle = "#0877bd";
    ctx.lineWidth = 2;
    ctx.fillStyle = "rgba(8,119,189,0.18)";
    ctx.fillRect(x0 + ocol * s * cell, y0 + orow * s * cell, f * cell - 1, f * cell - 1);
    ctx.strokeRect(x0 + ocol * s * cell, y0 + orow * s * cell, f * cell - 1, f * cell - 1);
    const x1 = x0 + full * cell + 40;
    ctx.fillStyle = "#5f6368";
    ctx.fillText(t("lab.calcOutput", { n: out }), x1, 11);
    ctx.fillText("→", x1 - 26, y0 + (full * cell) / 2);
    for (let r = 0; r < out; r++) {
      for (let c = 0; c < out; c++) {
        const done = r * out + c <= this.pos;
        ctx.fillStyle = r === orow && c === ocol ? "#0877bd" : done ? "#9ec9e6" : "#eceef0";
        ctx.fillRect(x1 + c * cell, y0 + r * cell, cell - 1, cell - 1);
      }
    }
  }
}
