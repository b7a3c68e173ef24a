// Reading and setting one weight or bias in the network diagram, as in TF Playground: hovering a
// link (or a bias square) shows its value from the latest frame, and keeps it current while the
// net trains; clicking (or tapping) opens a small number field where Enter sends `set_weight` /
// `set_bias` (docs/protocol.md) and Escape cancels. From the keyboard, W and B on a focused
// neuron pick its weights and bias, and Enter opens the field.

import { t, langReady } from './i18n.js';
import { paramAt, shownValue, editMessage, linkPoint } from './netparams.js';

const MAX_VALUE = 1000;  // the largest |value| the server takes (docs/protocol.md, set_weight)
const TOLERANCE = 5;     // px from a link's curve that still counts as on it

function el(tag, cls) {
  const e = document.createElement(tag);
  e.className = cls;
  return e;
}

/** A value as the tooltip shows it: three decimals, true minus signs (the exponent's too, so
 * that a small positive value does not mix the two), exponents when extreme. */
export function formatValue(v) {
  const a = Math.abs(v);
  const text = a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2) : v.toFixed(3);
  return text.replace(/-/g, '−');
}

/** The number typed in the field (true minus signs allowed, as the tooltip writes them), or NaN. */
export function parseValue(text) {
  const s = text.trim().replace(/−/g, '-');
  return s === '' ? NaN : Number(s);
}

export class ParamEditor {
  /** `view`: the NetworkView; `send(type, fields)`; `onEdited()` after an edit is sent. */
  constructor(view, state, { send, onEdited }) {
    this.view = view;
    this.state = state;
    this.send = send;
    this.onEdited = onEdited;
    this.hovered = null;   // the item under the pointer, and where the pointer is
    this.at = { x: 0, y: 0 };
    this.editing = null;
    this.layout = null;    // the layout the items belong to: a new one makes them stale

    this.tip = el('div', 'param-tip');
    this.tip.setAttribute('role', 'tooltip');
    this.tip.hidden = true;
    this.box = el('div', 'param-edit');
    this.box.hidden = true;
    const label = el('label', 'param-edit-label');
    this.name = el('span', 'param-edit-name');
    this.input = el('input', 'param-edit-input');
    Object.assign(this.input, { type: 'text', inputMode: 'decimal', autocomplete: 'off', spellcheck: false });
    label.append(this.name, this.input);
    this.keys = el('div', 'param-edit-keys');
    this.error = el('div', 'param-edit-error');
    this.error.setAttribute('role', 'alert');
    this.box.append(label, this.keys, this.error);
    view.host.append(this.tip, this.box);
    view.onNodeKey = (node, ev) => this.nodeKey(node, ev);
    this.tip.setAttribute('aria-live', 'polite');  // a value picked by keyboard is read out
    langReady().then(() => this.listen());
  }

  /** The keyboard's way to what a pointer hovers: on a focused neuron, W steps through the
   * weights into it, B picks its bias, Enter edits the one picked and Escape lets it go. */
  nodeKey(node, ev) {
    const key = ev.key.toLowerCase();
    if (key === 'enter' && this.hovered && this.pickedFor === node) {
      this.returnFocus = node.canvas;
      this.open(this.hovered);
      return true;
    }
    if (key === 'escape' && this.hovered) { this.hover(null); return true; }
    if (key !== 'w' && key !== 'b') return false;
    const centre = this.view.columns[node.col]?.[node.row];
    this.layout = this.view.paramLayout();
    const mine = key === 'w'
      ? this.layout.links.filter((l) => l.d === centre)
      : this.layout.biases.filter((b) => b.d === centre);
    if (!mine.length) return true;
    const i = mine.indexOf(this.hovered);
    const item = mine[(i + 1) % mine.length];
    const p = 'w' in item ? linkPoint(item.s, item.d, 0.5) : { x: item.rect.x, y: item.rect.y };
    this.at = p;
    this.pickedFor = node;
    this.hover(item);
    return true;
  }

  listen() {
    const host = this.view.host;
    host.addEventListener('pointermove', (ev) => { if (!this.editing) this.hover(this.itemAt(ev)); });
    host.addEventListener('pointerleave', () => { if (!this.editing) this.hover(null); });
    host.addEventListener('click', (ev) => {
      // The outlined link, named in the tooltip, is the one a click edits, even where links
      // cross and a pixel decides between them; without a hover (touch), the one under the tap.
      const under = this.itemAt(ev);
      const item = under && (this.hovered ?? under);
      if (item && !this.editing) this.open(item);
    });
    this.input.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') { ev.preventDefault(); this.commit(); }
      else if (ev.key === 'Escape') { ev.preventDefault(); this.close(); }
    });
    this.input.addEventListener('blur', () => this.close());
  }

  /** The link or bias square under the pointer; none over nodes, buttons and selects. */
  itemAt(ev) {
    const view = this.view;
    const r = view.host.getBoundingClientRect();
    this.at = { x: ev.clientX - r.left, y: ev.clientY - r.top };
    if (ev.target !== view.layer && ev.target !== view.links) return null;
    this.layout = view.paramLayout();
    return paramAt(this.layout, this.at.x, this.at.y, TOLERANCE);
  }

  hover(item) {
    this.hovered = item;
    this.view.layer.classList.toggle('on-param', !!item);
    this.view.setHighlight(item);
    this.refresh();
  }

  /** Show the hovered value from the latest frame; called on every frame drawn. */
  refresh() {
    if (this.layout && this.layout !== this.view.paramLayout()) {
      // The net was rebuilt: the item the pointer or the field was on is gone.
      this.layout = null;
      this.close();
      this.hover(null);
      return;
    }
    const item = this.hovered;
    const a = this.state.frame?.arrays || {};
    const v = item ? shownValue(item, a.weights, a.biases) : undefined;
    this.tip.hidden = v === undefined || !!this.editing;
    if (this.tip.hidden) return;
    const isWeight = 'w' in item;
    const lines = [t(isWeight ? 'ui.weightValue' : 'ui.biasValue', { value: formatValue(v) })];
    if ((isWeight ? item.w0 : item.b0) !== null) lines.push(t('ui.mergedOutput'));
    lines.push(t('ui.clickToEdit'));
    this.tip.replaceChildren(...lines.map((text, i) => {
      const line = el('div', i === 0 ? 'param-tip-value' : 'param-tip-note');
      line.textContent = text;
      return line;
    }));
    Object.assign(this.tip.dataset, {
      kind: isWeight ? 'weight' : 'bias', layer: item.layer, to: item.to, from: item.from ?? '', value: v,
    });
    this.place(this.tip, this.at.x + 14, this.at.y - 40);
  }

  open(item) {
    const a = this.state.frame?.arrays || {};
    const v = shownValue(item, a.weights, a.biases);
    if (v === undefined) return;
    this.editing = item;
    this.view.setHighlight(item);
    this.name.textContent = t('w' in item ? 'ui.editWeight' : 'ui.editBias');
    this.keys.textContent = t('ui.editKeys');
    this.error.textContent = '';
    this.input.value = Number.isFinite(v) ? v.toFixed(3) : '';
    this.box.hidden = false;
    this.tip.hidden = true;
    this.place(this.box, this.at.x + 10, this.at.y - 16);
    this.input.focus();
    this.input.select();
  }

  commit() {
    const item = this.editing;
    if (!item) return;
    const v = parseValue(this.input.value);
    if (!Number.isFinite(v)) { this.error.textContent = t('ui.editNotNumber'); return; }
    if (Math.abs(v) > MAX_VALUE) { this.error.textContent = t('ui.editOutOfRange', { max: MAX_VALUE }); return; }
    const a = this.state.frame?.arrays || {};
    const [type, fields] = editMessage(item, v, a.weights, a.biases);
    this.close();
    this.send(type, fields);
    this.onEdited();
  }

  close() {
    if (!this.editing) return;
    this.editing = null;
    this.box.hidden = true;
    this.input.blur();
    this.view.setHighlight(this.hovered);
    this.refresh();
    // Back to the neuron the keyboard came from, so the next W or arrow goes on from there.
    const back = this.returnFocus;
    this.returnFocus = null;
    if (back?.isConnected) back.focus();
  }

  /** Put a box right of (x, y) in the diagram, or left of it where the right has no room. */
  place(box, x, y) {
    const width = box.offsetWidth;
    const left = x + width <= this.view.host.clientWidth - 4 ? x : Math.max(0, x - width - 28);
    box.style.left = `${left}px`;
    box.style.top = `${Math.max(0, y)}px`;
  }
}
