// The agent lab's views: the world seen from above (walls, items, the agent and its eyes) and
// the value network (a square per neuron, the Q-value of each action). Each draws what it was
// last given, on the next animation frame, never more than once per frame.

import { cssColor } from "../js/colors.js";
import { t } from "../js/i18n.js";
import { Drawn, fitCanvas } from "../lab/charts.js";

// Apples and poison on the one orange↔blue scale (good blue, bad orange: apart for every
// common colour-vision deficiency), poison also marked with a cross so colour is not the only
// sign. An eye takes the colour of what it sees.
export const APPLE = "#0877bd";
export const POISON = "#f59322";
const WALL = "#3c4043";
const NOTHING = "#b6bbc2";
const EYE_COLORS = { "-1": NOTHING, 0: WALL, 1: APPLE, 2: POISON };

/** The 2-D world from a `config`'s `world` and the latest `frame`, scaled to the canvas. */
export class WorldView extends Drawn {
  constructor(canvas) {
    super(canvas);
    this.world = null;
    this.frame = null;
  }

  setWorld(world) {
    this.world = world;
    this.schedule();
  }

  set(frame) {
    this.frame = frame;
    this.schedule();
  }

  draw() {
    const { ctx, w, h } = fitCanvas(this.canvas);
    const world = this.world;
    if (!world) return;
    const s = Math.min(w / world.width, h / world.height);
    const ox = (w - world.width * s) / 2;
    const oy = (h - world.height * s) / 2;
    const X = (x) => ox + x * s;
    const Y = (y) => oy + y * s;
    ctx.fillStyle = "#fafbfc";
    ctx.fillRect(X(0), Y(0), world.width * s, world.height * s);
    ctx.strokeStyle = WALL;
    ctx.lineWidth = Math.max(1.5, 2 * s);
    ctx.lineCap = "round";
    ctx.beginPath();
    for (const [x1, y1, x2, y2] of world.walls) {
      ctx.moveTo(X(x1), Y(y1));
      ctx.lineTo(X(x2), Y(y2));
    }
    ctx.stroke();
    const f = this.frame;
    if (!f) return;
    const r = world.item_radius * s;
    for (const [x, y, kind] of f.items) {
      ctx.beginPath();
      ctx.arc(X(x), Y(y), r, 0, 2 * Math.PI);
      ctx.fillStyle = kind === 1 ? APPLE : POISON;
      ctx.fill();
      if (kind === 2) {
        const d = r * 0.45;
        ctx.strokeStyle = "#fff";
        ctx.lineWidth = Math.max(1, 1.6 * s);
        ctx.beginPath();
        ctx.moveTo(X(x) - d, Y(y) - d);
        ctx.lineTo(X(x) + d, Y(y) + d);
        ctx.moveTo(X(x) + d, Y(y) - d);
        ctx.lineTo(X(x) - d, Y(y) + d);
        ctx.stroke();
      }
    }
    const a = f.agent;
    ctx.lineWidth = Math.max(1, 1.5 * s);
    for (let i = 0; i < world.eye_angles.length; i++) {
      const angle = a.angle + world.eye_angles[i];
      const d = f.eyes.distance[i];
      ctx.strokeStyle = EYE_COLORS[f.eyes.kind[i]] || NOTHING;
      ctx.beginPath();
      ctx.moveTo(X(a.x), Y(a.y));
      ctx.lineTo(X(a.x + d * Math.sin(angle)), Y(a.y + d * Math.cos(angle)));
      ctx.stroke();
    }
    const ar = world.agent_radius * s;
    ctx.beginPath();
    ctx.arc(X(a.x), Y(a.y), ar, 0, 2 * Math.PI);
    ctx.fillStyle = "#e8eaeb";
    ctx.fill();
    ctx.strokeStyle = "#202124";
    ctx.lineWidth = Math.max(1, 1.5 * s);
    ctx.stroke();
    // The heading: a dot at the front of the body.
    ctx.beginPath();
    ctx.arc(X(a.x) + 0.55 * ar * Math.sin(a.angle), Y(a.y) + 0.55 * ar * Math.cos(a.angle),
      Math.max(1.2, 0.28 * ar), 0, 2 * Math.PI);
    ctx.fillStyle = "#202124";
    ctx.fill();
    this.canvas.dataset.agent = `${a.x},${a.y},${a.angle}`;
    this.canvas.dataset.items = String(f.items.length);
  }
}

const CELL = 9; // a neuron's square, CSS px
const PITCH = 11; // square and gap
const LABEL = 14; // a layer's label line
const AFTER = 6; // space under a layer

/** The value network's activations (`frame.layers`: the input, each hidden layer, the
 * Q-values), one row of squares per layer, wrapping; each layer on its own scale. */
export class NetView extends Drawn {
  constructor(canvas) {
    super(canvas);
    this.layers = null;
    this.action = null;
  }

  set(layers, action) {
    this.layers = layers;
    this.action = action;
    this.schedule();
  }

  clear() {
    this.set(null, null);
  }

  label(i, n) {
    const last = this.layers.length - 1;
    if (i === 0) return t("rl.net.input", { n });
    if (i === last) return t("rl.net.q", { n });
    return t("rl.net.hidden", { k: i, n });
  }

  draw() {
    const c = this.canvas;
    const width = c.clientWidth || 300;
    const perRow = Math.max(1, Math.floor((width - 2 + PITCH - CELL) / PITCH));
    const layers = this.layers || [];
    const height = Math.max(40, layers.reduce((sum, l) => sum + LABEL + Math.ceil(Math.max(l.length, 1) / perRow) * PITCH + AFTER, 0));
    if (c.style.height !== `${height}px`) c.style.height = `${height}px`;
    const { ctx } = fitCanvas(c);
    ctx.font = "11px system-ui, sans-serif";
    ctx.textAlign = "left";
    ctx.fillStyle = "#70757a";
    if (!layers.length) {
      ctx.fillText(t("lab.chart.noData"), 2, 14);
      return;
    }
    let y = 0;
    layers.forEach((values, i) => {
      ctx.fillStyle = "#5f6368";
      ctx.fillText(this.label(i, values.length), 1, y + 11);
      y += LABEL;
      let top = 0;
      for (const v of values) top = Math.max(top, Math.abs(v));
      const scale = top > 0 ? 1 / top : 1;
      const chosen = i === layers.length - 1 ? this.action : -1;
      values.forEach((v, k) => {
        const x = 1 + (k % perRow) * PITCH;
        const yy = y + Math.floor(k / perRow) * PITCH;
        ctx.fillStyle = cssColor(v * scale);
        ctx.fillRect(x, yy, CELL, CELL);
        if (k === chosen) {
          ctx.strokeStyle = "#202124";
          ctx.lineWidth = 1.5;
          ctx.strokeRect(x - 0.75, yy - 0.75, CELL + 1.5, CELL + 1.5);
        }
      });
      y += Math.ceil(Math.max(values.length, 1) / perRow) * PITCH + AFTER;
    });
    c.dataset.layers = layers.map((l) => l.length).join(" ");
  }
}

/** The Q-value of each action as a bar from zero, the action taken marked and the highest value
 * in bold (they differ when ε picked a random action). Plain elements, so that a screen reader
 * reads the values. */
export class QBars extends Drawn {
  constructor(host, actions = 5) {
    super(host);
    this.rows = [];
    for (let k = 0; k < actions; k++) {
      const row = document.createElement("div");
      row.className = "q-row";
      row.setAttribute("role", "listitem");
      const name = document.createElement("span");
      name.className = "q-name";
      name.textContent = t(`rl.action.${k}`);
      const bar = document.createElement("span");
      bar.className = "q-bar";
      const fill = document.createElement("i");
      bar.append(fill);
      const value = document.createElement("span");
      value.className = "q-val";
      value.textContent = "—";
      const mark = document.createElement("span");
      mark.className = "q-mark";
      mark.textContent = t("rl.qTaken");
      row.append(name, bar, value, mark);
      host.append(row);
      this.rows.push({ row, fill, value });
    }
    this.q = null;
    this.action = null;
  }

  set(q, action) {
    this.q = q;
    this.action = action;
    this.schedule();
  }

  draw() {
    const q = this.q;
    if (!q) {
      for (const r of this.rows) {
        r.value.textContent = "—";
        r.fill.style.width = "0";
        r.row.classList.remove("chosen", "best");
      }
      return;
    }
    // From the lowest Q to the highest: the values are often close (3.6 to 3.9 after some
    // learning), and it is their order and gaps that choose the action. Colour: the sign.
    const lo = Math.min(...q);
    const hi = Math.max(...q);
    const span = hi - lo;
    const best = q.indexOf(hi);
    this.rows.forEach((r, k) => {
      const v = q[k];
      const share = span > 0 ? 0.04 + 0.96 * ((v - lo) / span) : 1;
      r.fill.style.left = "0";
      r.fill.style.width = `${(100 * share).toFixed(2)}%`;
      r.fill.style.background = cssColor(v >= 0 ? 1 : -1);
      r.value.textContent = v.toFixed(3);
      r.row.classList.toggle("chosen", k === this.action);
      r.row.classList.toggle("best", k === best);
    });
    this.canvas.dataset.action = String(this.action);
  }
}
