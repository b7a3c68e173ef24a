// Draw a digit: a 28×28 ink canvas shown large; every stroke asks the server for the current
// net's class probabilities (throttled), so the prediction follows the pen.

import { t } from "../js/i18n.js";
import { unpack } from "./arrays.js";
import { paint } from "./images.js";

const SIDE = 28;

export class DrawPad {
  constructor(canvas, probsEl, seenCanvas, guessEl, send) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.probsEl = probsEl;
    this.seen = seenCanvas;
    this.guess = guessEl;
    this.send = send;
    this.drawing = false;
    this.dirty = false;
    this.last = null;
    this.inFlight = false;
    this.names = [..."0123456789"]; // the data set's class names (`setClasses`)
    this.clear();
    canvas.addEventListener("pointerdown", (e) => {
      canvas.setPointerCapture(e.pointerId);
      this.drawing = true;
      this.last = this.pos(e);
      this.stroke(this.last);
    });
    canvas.addEventListener("pointermove", (e) => {
      if (this.drawing) this.stroke(this.pos(e));
    });
    const end = () => {
      this.drawing = false;
      this.last = null;
      this.ask();
    };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    this.keyboardPen();
    this.renderProbs(null);
  }

  /** Drawing from the keyboard: Space puts the pen down or lifts it, the arrow keys move it
   * (drawing while it is down); a ring shows where it is. */
  keyboardPen() {
    const canvas = this.canvas;
    canvas.tabIndex = 0;
    canvas.setAttribute("role", "application");  // its keys are its own, Space included
    canvas.setAttribute("aria-describedby", "draw-keys");
    this.pen = { x: canvas.width / 2, y: canvas.height / 2, down: false };
    this.penEl = document.createElement("div");
    this.penEl.className = "pen-cursor";
    this.penEl.hidden = true;
    canvas.after(this.penEl);
    const show = () => {
      this.penEl.hidden = document.activeElement !== canvas;
      const scale = canvas.clientWidth / canvas.width;
      this.penEl.style.left = `${canvas.offsetLeft + this.pen.x * scale}px`;
      this.penEl.style.top = `${canvas.offsetTop + this.pen.y * scale}px`;
      this.penEl.classList.toggle("down", this.pen.down);
    };
    canvas.addEventListener("focus", show);
    canvas.addEventListener("blur", show);
    canvas.addEventListener("keydown", (ev) => {
      const move = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[ev.key];
      const step = canvas.width / 14;
      if (ev.key === " ") {
        this.pen.down = !this.pen.down;
        this.last = null;
        if (this.pen.down) this.stroke([this.pen.x, this.pen.y]);
      } else if (move) {
        const clamp = (v) => Math.max(0, Math.min(canvas.width, v));
        this.pen.x = clamp(this.pen.x + move[0] * step);
        this.pen.y = clamp(this.pen.y + move[1] * step);
        if (this.pen.down) this.stroke([this.pen.x, this.pen.y]);
      } else {
        return;
      }
      ev.preventDefault();
      show();
    });
  }

  clear() {
    this.ctx.fillStyle = "#000";
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.blank = true;
    this.renderProbs(null);
    if (this.guess) this.guess.textContent = t("lab.drawHint");
  }

  pos(e) {
    const r = this.canvas.getBoundingClientRect();
    return [((e.clientX - r.left) * this.canvas.width) / r.width, ((e.clientY - r.top) * this.canvas.height) / r.height];
  }

  stroke(p) {
    const ctx = this.ctx;
    ctx.strokeStyle = "#fff";
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.lineWidth = this.canvas.width / 11;
    ctx.beginPath();
    ctx.moveTo(...(this.last || p));
    ctx.lineTo(p[0] + 0.01, p[1]);
    ctx.stroke();
    this.last = p;
    this.blank = false;
    this.ask();
  }

  /** The drawing as 28×28 grey bytes (area-averaged by the browser's scaler). */
  pixels() {
    const small = document.createElement("canvas");
    small.width = SIDE;
    small.height = SIDE;
    const sctx = small.getContext("2d");
    sctx.imageSmoothingQuality = "high";
    sctx.drawImage(this.canvas, 0, 0, SIDE, SIDE);
    const rgba = sctx.getImageData(0, 0, SIDE, SIDE).data;
    let bin = "";
    for (let i = 0; i < SIDE * SIDE; i++) bin += String.fromCharCode(rgba[4 * i]);
    return btoa(bin);
  }

  /** Ask for a prediction unless one is already on its way (then ask again when it lands). */
  ask() {
    if (this.blank) return;
    if (this.inFlight) {
      this.dirty = true;
      return;
    }
    this.inFlight = true;
    this.dirty = false;
    this.send({ type: "predict", size: SIDE, pixels: this.pixels() });
  }

  /** The classes' names, and whether the data are digits one can draw (else colour pictures). */
  setClasses(names, drawable) {
    this.names = names;
    this.canvas.closest("section").classList.toggle("colour", !drawable);
    this.canvas.hidden = !drawable;
    this.renderProbs(null);
  }

  /** A `prediction` message from the server: the seen picture is grey [H, W] or colour
   * [3, H, W]. */
  show(msg) {
    this.inFlight = false;
    this.renderProbs(msg.probs);
    const seen = unpack(msg.seen);
    const colour = seen.shape.length === 3;
    const [h, w] = seen.shape.slice(-2);
    paint(this.seen, seen.data, h, w, 0, { mode: colour ? "rgb" : "ink" });
    if (this.dirty) this.ask();
  }

  renderProbs(probs) {
    const best = probs ? probs.indexOf(Math.max(...probs)) : -1;
    this.probsEl.replaceChildren(
      ...Array.from({ length: 10 }, (_, k) => {
        const p = probs ? probs[k] : 0;
        const row = document.createElement("div");
        row.className = `prob${k === best ? " top" : ""}`;
        row.innerHTML = `<span>${this.names[k]}</span><span class="bar"><i style="width:${(100 * p).toFixed(1)}%"></i></span><span>${probs ? (100 * p).toFixed(0) + "%" : ""}</span>`;
        return row;
      }),
    );
    if (probs && this.guess) {
      this.guess.innerHTML = t("lab.guess", { digit: `<b>${this.names[best]}</b>`, p: (100 * probs[best]).toFixed(0) });
    }
  }
}
