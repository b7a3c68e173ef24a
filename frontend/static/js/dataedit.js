// Editing the data by clicking on the output: click adds a point of the selected class,
// shift-click the other class, ctrl/⌘-click removes the nearest point. Edits are ordinary
// `update`s of the `points` and `removed` parameters, so they travel in the share URL.

import { t } from './i18n.js';
import { numClasses } from './state.js';

const ERASE = 'erase';     // the picker's Remove button: a click or tap removes, as ctrl-click does
const REMOVE_RADIUS = 0.6; // data units: a ctrl-click farther than this from any point does nothing

function round3(v) {
  return Math.round(v * 1000) / 1000;
}

/** Nearest point of a flat [n, 3] array to (x, y): {i, d}. */
function nearest(arr, x, y, yIndex = 1) {
  let best = { i: -1, d: Infinity };
  if (!arr) return best;
  for (let i = 0; i < arr.length; i += 3) {
    const d = Math.hypot(arr[i] - x, arr[i + yIndex] - y);
    if (d < best.d) best = { i: i / 3, d };
  }
  return best;
}

export class DataEditor {
  /** `view` is the MapView of the output, `picker` the element holding the class buttons. */
  constructor(view, state, picker, { onChange, onNotice }) {
    this.view = view;
    this.state = state;
    this.picker = picker;
    this.onChange = onChange;
    this.onNotice = onNotice;
    this.selected = 1;
    view.canvas.addEventListener('click', (ev) => this.click(ev));
    view.canvas.tabIndex = 0;
    view.canvas.setAttribute('aria-describedby', 'plot-keys');
    view.canvas.addEventListener('keydown', (ev) => this.onKey(ev));
    this.cursor = null;  // {px, py}: where Enter adds a point, from the keyboard
    this.cursorEl = document.createElement('div');
    this.cursorEl.className = 'plot-cursor';
    this.cursorEl.hidden = true;
    view.canvas.after(this.cursorEl);
    view.canvas.addEventListener('focus', () => this.showCursor());
    view.canvas.addEventListener('blur', () => this.showCursor());
    view.canvas.addEventListener('contextmenu', (ev) => { if (ev.ctrlKey) ev.preventDefault(); });
  }

  /** Rebuild the class picker when the number of classes changes. */
  sync() {
    const k = numClasses(this.state);
    // A 1-D curve takes the clicked height as the value: no class to pick.
    this.picker.classList.toggle('one-d', !!this.state.data?.oneD);
    // Regression has values, not classes: the hint below the plot says so.
    const hint = document.querySelector('.hint[data-control="dataEditing"]');
    const oneD = !!this.state.data?.oneD;
    const key = `${k}${oneD}`;
    if (this.key === key) return;
    this.key = key;
    if (this.selected >= Math.max(k, 2)) this.selected = 1;
    this.picker.replaceChildren();
    const label = document.createElement('span');
    label.className = 'picker-label';
    label.textContent = t(k === 1 ? 'ui.clickAddsValue' : 'ui.clickAdds');
    this.picker.append(label);
    if (hint) {
      // Touch screens have no shift or ctrl: there, the Remove button is the way to remove.
      const touch = window.matchMedia?.('(hover: none)').matches;
      hint.textContent = t(touch ? 'ui.hintEditTouch'
        : oneD ? 'ui.hintEditCurve' : k === 1 ? 'ui.hintEditValue' : 'ui.hintEdit');
    }
    const choices = k === 1 ? [[1, '+1'], [0, '−1']] : Array.from({ length: k }, (_, i) => [i, String(i)]);
    for (const [value, text] of choices) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = `swatch swatch-${k === 1 ? (value ? 'pos' : 'neg') : value}`;
      b.title = k === 1 ? t('ui.clickAddsValueOf', { v: text }) : t('ui.clickAddsClass', { n: text });
      b.setAttribute('aria-label', b.title);
      b.dataset.value = value;
      b.addEventListener('click', () => { this.selected = value; this.paint(); });
      this.picker.append(b);
    }
    const eraser = document.createElement('button');
    eraser.type = 'button';
    eraser.className = 'eraser';
    eraser.textContent = t('ui.erase');
    eraser.title = t('ui.eraseTitle');
    eraser.addEventListener('click', () => { this.selected = this.selected === ERASE ? this.kept : ERASE; this.paint(); });
    this.picker.append(eraser);
    this.paint();
  }

  paint() {
    if (this.selected !== ERASE) this.kept = this.selected;  // what Remove goes back to
    for (const b of this.picker.querySelectorAll('.swatch')) {
      const on = Number(b.dataset.value) === this.selected;
      b.classList.toggle('selected', on);
      b.setAttribute('aria-pressed', String(on));  // which class a click adds, for screen readers
    }
    this.picker.querySelector('.eraser')?.setAttribute('aria-pressed', String(this.selected === ERASE));
  }

  labelFor(shift) {
    const k = numClasses(this.state);
    if (k === 1) return (shift ? !this.selected : this.selected) ? 1 : -1;
    if (!shift) return this.selected;
    return k === 2 ? 1 - this.selected : (this.selected + 1) % k;
  }

  click(ev) {
    const rect = this.view.canvas.getBoundingClientRect();
    this.edit(ev.clientX - rect.left, ev.clientY - rect.top, ev.ctrlKey || ev.metaKey, ev.shiftKey);
  }

  /** The plot from the keyboard: the arrows move a cursor (Shift: finer), Enter adds a point
   * there (Shift+Enter: the other class), Delete removes the nearest point. */
  onKey(ev) {
    const g = this.view.geom;
    const step = (ev.shiftKey ? 1 / 48 : 1 / 12) * g.size;
    const move = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[ev.key];
    const c = this.cursor ?? { px: g.pad + g.size / 2, py: g.pad + g.size / 2 };  // the centre
    if (move) {
      const clamp = (v) => Math.max(g.pad, Math.min(g.pad + g.size, v));
      this.cursor = { px: clamp(c.px + move[0] * step), py: clamp(c.py + move[1] * step) };
    } else if (ev.key === 'Enter') {
      this.edit(c.px, c.py, false, ev.shiftKey);
    } else if (ev.key === 'Delete' || ev.key === 'Backspace') {
      this.edit(c.px, c.py, true, false);
    } else {
      return;
    }
    ev.preventDefault();
    this.cursor = this.cursor ?? c;
    this.showCursor();
  }

  showCursor() {
    const el = this.cursorEl;
    const focused = document.activeElement === this.view.canvas;
    el.hidden = !focused;
    if (el.hidden) return;
    const g = this.view.geom;
    this.cursor = this.cursor ?? { px: g.pad + g.size / 2, py: g.pad + g.size / 2 };  // the centre
    const c = this.cursor;
    el.style.left = `${this.view.canvas.offsetLeft + c.px}px`;
    el.style.top = `${this.view.canvas.offsetTop + c.py}px`;
  }

  /** Add a point at (px, py) of the plot, or remove the nearest one. */
  edit(px, py, remove, shift) {
    const cfg = this.state.config;
    if (!cfg || this.state.hidden.has('dataEditing')) return;
    const g = this.view.geom;
    if (px < g.pad || py < g.pad || px > g.pad + g.size || py > g.pad + g.size) return;
    const oneD = !!this.state.data?.oneD;
    let [x, y] = g.toData(px, py);
    let value = null;
    if (oneD) {
      value = this.view.toDataY ? this.view.toDataY(py) : y;
      y = 0;
    }
    if (remove || this.selected === ERASE) this.remove(x, oneD ? value : y, oneD);
    else {
      const label = oneD ? round3(value) : this.labelFor(shift);
      const max = this.state.byName.points?.max_len ?? 500;
      if (cfg.points.length >= max) {
        this.onNotice(t('ui.pointsMax', { max }));
        return;
      }
      this.onChange({ points: [...cfg.points, [round3(x), round3(y), label]] });
    }
  }

  remove(x, y, oneD) {
    const cfg = this.state.config;
    const data = this.state.data;
    // Hand-placed points first: they are the ones a learner most often wants to take back.
    let bestAdded = { i: -1, d: Infinity };
    cfg.points.forEach(([px, py, label], i) => {
      const d = Math.hypot(px - x, (oneD ? label : py) - y);
      if (d < bestAdded.d) bestAdded = { i, d };
    });
    const yi = oneD ? 2 : 1;
    const nTrainGen = (data?.train ? data.train.length / 3 : 0) - cfg.points.length;
    const tr = nearest(data?.train?.subarray(0, Math.max(0, nTrainGen) * 3), x, y, yi);
    const te = cfg.showTestData ? nearest(data?.test, x, y, yi) : { i: -1, d: Infinity };
    const gen = tr.d <= te.d ? { ...tr, set: 'train' } : { ...te, set: 'test' };
    if (bestAdded.d <= gen.d && bestAdded.d < REMOVE_RADIUS) {
      this.onChange({ points: cfg.points.filter((_, i) => i !== bestAdded.i) });
      return;
    }
    if (gen.d >= REMOVE_RADIUS) return;
    const index = data?.[`${gen.set}Index`];
    if (!index) {
      this.onNotice(t('ui.removeOnlyAdded'));
      return;
    }
    this.onChange({ removed: [...cfg.removed, index[gen.i]] });
  }
}
