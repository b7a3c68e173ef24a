// The network diagram: every input feature and hidden neuron as a small map (from the frame's
// `neurons` array), links drawn by weight sign (colour) and size (width), biases as small
// squares, and the layer / neuron +/− controls. Hovering a node shows its map in the output.
// Which parameter each link and square shows, and where it lies, comes from netparams.js.

import { cssColor, classColor, paintSigned } from './colors.js';
import { paramLayout, shownValue } from './netparams.js';
import { featureMap } from './features.js';
import { t, paramLabel, choiceLabel } from './i18n.js';

const NODE_MAX = 38;
const NODE_MIN = 12;
const HEAD = 92;      // room above the columns for the +/− controls
const FOOT = 30;      // room below for per-layer activation selects
const MIN_SPACING = 46;   // px between columns, at least: a +/− pair and a narrow select fit
const WIDE_SPACING = 84;  // px between columns where "8 neurons" and a full select fit

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

export class NetworkView {
  constructor(host, state, { onChange, onHover, onPin = null, note = null }) {
    this.host = host;
    this.onPin = onPin;  // a neuron pinned large (or let go: null)
    this.note = note;    // where the diagram says it draws only the strongest links
    this.state = state;
    this.onChange = onChange;
    this.onHover = onHover;
    this.links = el('canvas', 'net-links');
    // Every node's map is drawn into this one canvas, under the nodes' own (empty) canvases,
    // which stay for hover, focus and taps: one canvas to composite, not one per neuron.
    this.maps = el('canvas', 'net-maps');
    this.stage = document.createElement('canvas');  // the maps at their own size, side by side
    this.pending = [];   // nodes whose map was painted since the last flushMaps
    this.layer = el('div', 'net-nodes');
    host.append(this.links, this.maps, this.layer);
    this.nodes = [];     // {canvas, ctx, img, col, row, neuronIndex, bias}
    this.columns = [];   // per column: [{x, y}] centres
    this.shapeKey = '';
    this.layout = null;  // {links, biases} of netparams.js, for the columns and model drawn
    this.layoutKey = '';
    this.highlight = null; // the link or bias square outlined (hovered or being edited)
    this.pinned = null;    // the neuron shown large after a tap, a click or Space, until let go
    this.current = null;   // {col, row}: the neuron that takes the keyboard focus in the diagram
    this.refocus = null;   // what had focus before a rebuild replaced it: {param} or {col, row}
    this.onNodeKey = null; // (node, event) → handled: weight keys, set by the ParamEditor
    this.layer.addEventListener('keydown', (ev) => this.key(ev));
    new ResizeObserver(() => this.rebuild(true)).observe(host);
  }

  /** The feature rows of the diagram: those that can be inputs for this data (a 1-D curve has
   * no x₂, so none of x₂'s features), as the server's model says. */
  featureParams() {
    const choices = this.state.model?.feature_choices;
    return this.state.schema.filter((p) => p.group === 'features' && p.kind === 'bool'
      && (!choices || choices.includes(p.name)));
  }

  /** Whether feature `name` feeds the network: on, and in TensorFlow Playground mode not
   * removed by its `_hide` key (TF deletes a hidden feature from the inputs). */
  isInput(name) {
    const cfg = this.state.config;
    return !!cfg?.[name] && !(cfg.compat === 'tf' && this.state.hidden.has(name));
  }

  /** Rebuild the DOM when the architecture changed (or the host resized). */
  rebuild(force = false) {
    const cfg = this.state.config;
    if (!cfg) return;
    const shape = cfg.networkShape || [];
    const feats = this.featureParams();
    const k = this.state.model?.num_classes ?? 2;
    const outs = this.outputCount();
    const key = JSON.stringify([shape, feats.map((p) => [p.name, cfg[p.name]]), outs, k, cfg.layerActivations, cfg.activation,
      [...this.state.hidden].sort()]);
    if (!force && key === this.shapeKey) return;
    this.shapeKey = key;

    const counts = [feats.length, ...shape, outs];
    const maxCount = Math.max(...counts);
    const availH = Math.max(240, (this.host.parentElement?.clientHeight || 420) - HEAD - FOOT - 16);
    const node = Math.max(NODE_MIN, Math.min(NODE_MAX, Math.floor(availH / maxCount) - 8));
    const gap = Math.max(4, Math.min(14, Math.floor(node / 3)));
    const H = HEAD + maxCount * (node + gap) + FOOT;
    this.host.style.height = `${H}px`;
    this.nodeSize = node;

    // Columns at least MIN_SPACING apart: past that the diagram grows wider than its panel and
    // scrolls sideways (a phone, or eight layers), rather than crowding its labels and selects.
    const left = 54;
    const nCols = counts.length;
    const need = left + (nCols - 1) * MIN_SPACING + node + 12;
    const fits = this.host.parentElement?.clientWidth || 400;
    this.host.style.minWidth = need > fits ? `${need}px` : '';
    const W = Math.max(this.host.clientWidth || 400, need);
    const right = W - node - 12;
    this.spacing = nCols > 1 ? (right - left) / (nCols - 1) : right - left;
    const colX = counts.map((_, i) => (nCols === 1 ? left : left + ((right - left) * i) / (nCols - 1)));

    this.layer.replaceChildren();
    this.nodes = [];
    this.columns = [];
    const neuronBase = feats.filter((p) => this.isInput(p.name)).length;
    let hiddenIndex = 0;

    // Layer count controls.
    const layersBar = el('div', 'net-layers');
    layersBar.dataset.control = 'numHiddenLayers';
    const shapeParam = this.state.byName.networkShape || {};
    const maxLayers = shapeParam.max_len ?? 8;
    layersBar.append(
      this.pm('+', t('ui.addLayer'), shape.length < maxLayers, () => this.setShape([...shape, 2])),
      this.pm('−', t('ui.removeLayer'), shape.length > 0, () => this.setShape(shape.slice(0, -1))),
      el('span', 'net-layers-label', shape.length === 1 ? t('ui.hiddenLayer1') : t('ui.hiddenLayersN', { n: shape.length })),
    );
    this.layer.append(layersBar);

    counts.forEach((count, col) => {
      const centres = [];
      const x = colX[col];
      const isInput = col === 0;
      const isOutput = col === nCols - 1;
      if (!isInput && !isOutput) this.layerHeader(col - 1, shape, x, node);
      if (isInput) this.caption(t('ui.features'), x, node);
      if (isOutput) this.caption(t(k > 2 ? 'ui.classes' : 'ui.output'), x, node);
      for (let r = 0; r < count; r++) {
        const y = HEAD + r * (node + gap);
        centres.push({ x: x + node / 2, y: y + node / 2, left: x, right: x + node });
        const c = el('canvas', 'net-node');
        c.style.left = `${x}px`;
        c.style.top = `${y}px`;
        c.style.width = c.style.height = `${node}px`;
        c.dataset.col = col;
        c.dataset.row = r;
        const info = { canvas: c, col, row: r, x, y, neuronIndex: null, feature: null, off: false };
        if (isInput) {
          const p = feats[r];
          info.feature = p.name;
          const on = this.isInput(p.name);
          c.classList.add('net-feature');
          c.classList.toggle('off', !on);
          info.off = !on;
          c.dataset.param = p.name;
          c.title = t(on ? 'ui.featureOn' : 'ui.featureOff', { feature: paramLabel(p.name) });
          // A switch for the keyboard and screen readers too (Enter or Space toggles it).
          c.tabIndex = 0;
          c.setAttribute('role', 'switch');
          c.setAttribute('aria-checked', String(on));
          c.setAttribute('aria-label', paramLabel(p.name));
          const label = el('div', 'net-feature-label', paramLabel(p.name));
          label.style.top = `${y + node / 2}px`;
          label.style.right = `${W - x + 6}px`;
          label.dataset.param = p.name;
          this.layer.append(label);
          if (on) info.neuronIndex = feats.slice(0, r).filter((q) => this.isInput(q.name)).length;
          c.addEventListener('click', () => this.toggleFeature(p.name));
        } else if (!isOutput) {
          info.neuronIndex = neuronBase + hiddenIndex++;
          c.title = t('ui.neuronTitle', { layer: col, n: r + 1 });
        } else {
          c.classList.add('net-output');
          if (k > 2) c.title = t('ui.classN', { n: r });
        }
        if (!isInput) {
          // Neurons are one tab stop; the arrow keys move between them (see `key`).
          c.tabIndex = -1;
          c.setAttribute('role', 'button');
          c.setAttribute('aria-label', c.title || t('ui.output'));
          c.setAttribute('aria-describedby', 'net-keys');
          c.setAttribute('aria-pressed', 'false');
          c.addEventListener('focus', () => { this.current = { col, row: r }; this.show(info); });
          c.addEventListener('blur', () => this.onHover(this.pinned));
          // A tap (touch has no hover) or a click pins the neuron large; again lets it go.
          c.addEventListener('click', () => this.pin(info));
        }
        if (info.neuronIndex !== null) {
          c.addEventListener('pointerenter', (ev) => { if (ev.pointerType === 'mouse') this.onHover(info.neuronIndex); });
          c.addEventListener('pointerleave', (ev) => { if (ev.pointerType === 'mouse') this.onHover(this.pinned); });
        }
        this.layer.append(c);
        this.nodes.push(info);
      }
      this.columns.push(centres);
    });

    const dpr = window.devicePixelRatio || 1;
    this.links.width = Math.round(W * dpr);
    this.links.height = Math.round(H * dpr);
    this.links.style.width = `${W}px`;
    this.links.style.height = `${H}px`;
    this.lctx = this.links.getContext('2d');
    this.lctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    this.maps.width = this.links.width;
    this.maps.height = this.links.height;
    this.maps.style.width = `${W}px`;
    this.maps.style.height = `${H}px`;
    this.mctx = this.maps.getContext('2d');
    this.mctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    this.pending = [];
    this.W = W;
    this.H = H;
    this.layout = null;
    this.pinned = null;  // neuron numbers change with the net
    this.onHover(null);
    this.rovingFocus();
    this.fillDisabledFeatures();
    this.draw();
  }

  /** The one neuron the Tab key lands on, and the focus put back where a rebuild took it. */
  rovingFocus() {
    const neurons = this.nodes.filter((n) => n.col > 0);
    const cur = this.current;
    const target = neurons.find((n) => cur && n.col === cur.col && n.row === cur.row) ?? neurons[0];
    if (target) target.canvas.tabIndex = 0;
    const back = this.refocus;
    this.refocus = null;
    if (!back || (document.activeElement && document.activeElement !== document.body)) return;
    const el = back.param
      ? this.nodes.find((n) => n.feature === back.param)?.canvas
      : target?.canvas;
    el?.focus();
  }

  /** The node at (col, row), rows clamped to the column. */
  nodeAt(col, row) {
    const column = this.nodes.filter((n) => n.col === col);
    return column[Math.max(0, Math.min(row, column.length - 1))];
  }

  show(info) { this.onHover(info.neuronIndex ?? this.pinned); }

  pin(info) {
    if (info.neuronIndex === null) return;
    this.pinned = this.pinned === info.neuronIndex ? null : info.neuronIndex;
    for (const n of this.nodes) n.canvas.setAttribute?.('aria-pressed', String(n.neuronIndex !== null && n.neuronIndex === this.pinned));
    this.onHover(this.pinned);
    this.onPin?.(this.pinned);
  }

  /** Keys in the diagram: Enter/Space toggles a feature; on a neuron the arrows move, Space
   * pins it large, and W / B / Enter read and edit its weights and bias (the ParamEditor). */
  key(ev) {
    const info = this.nodes.find((n) => n.canvas === ev.target);
    if (!info || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (info.feature) {
      if (ev.key !== 'Enter' && ev.key !== ' ') return;
      ev.preventDefault();
      this.refocus = { param: info.feature };
      this.toggleFeature(info.feature);
      return;
    }
    if (this.onNodeKey?.(info, ev)) { ev.preventDefault(); return; }
    const lastCol = Math.max(...this.nodes.map((n) => n.col));
    const move = { ArrowUp: [0, -1], ArrowDown: [0, 1], ArrowLeft: [-1, 0], ArrowRight: [1, 0] }[ev.key];
    if (move) {
      ev.preventDefault();
      const col = Math.max(1, Math.min(lastCol, info.col + move[0]));
      const next = this.nodeAt(col, info.row + move[1]);
      if (!next || next === info) return;
      info.canvas.tabIndex = -1;
      next.canvas.tabIndex = 0;
      next.canvas.focus();
    } else if (ev.key === ' ' || ev.key === 'Enter') {
      ev.preventDefault();
      this.pin(info);
    }
  }

  outputCount() {
    const k = this.state.model?.num_classes ?? 2;
    return k > 2 ? k : 1;
  }

  caption(text, x, node) {
    const c = el('div', 'net-caption', text);
    c.style.left = `${x + node / 2}px`;
    c.style.top = `${HEAD - 20}px`;
    this.layer.append(c);
  }

  pm(sign, title, enabled, fn) {
    const b = el('button', 'pm', sign);
    b.type = 'button';
    b.title = title;
    b.setAttribute('aria-label', title);
    b.disabled = !enabled;
    b.addEventListener('click', fn);
    return b;
  }

  layerHeader(i, shape, x, node) {
    const p = this.state.byName.networkShape || {};
    const max = p.max ?? 64;
    const min = p.min ?? 1;
    const box = el('div', 'net-layer-head');
    box.dataset.control = `numNodes${i + 1}`;
    box.style.left = `${x + node / 2}px`;
    const n = shape[i];
    const set = (v) => { const s = [...shape]; s[i] = v; this.setShape(s); };
    const btns = el('div', 'pm-row');
    btns.append(
      this.pm('+', t('ui.addNeuron', { layer: i + 1 }), n < max, () => set(n + 1)),
      this.pm('−', t('ui.removeNeuron', { layer: i + 1 }), n > min, () => set(n - 1)),
    );
    // Where columns are close, the label is the bare count (the title keeps the words).
    const words = n === 1 ? t('ui.neuron1') : t('ui.neuronsN', { n });
    const label = el('div', 'net-layer-label', this.spacing < WIDE_SPACING ? String(n) : words);
    label.title = words;
    box.append(btns, label);
    this.layer.append(box);

    // Per-layer activation (layerActivations), defaulting to the global activation.
    const actParam = this.state.byName.layerActivations;
    if (actParam) {
      const cfg = this.state.config;
      const sel = el('select', 'net-act');
      sel.dataset.param = 'layerActivations';
      sel.title = t('ui.layerActivation', { layer: i + 1 });
      sel.setAttribute('aria-label', sel.title);
      for (const a of actParam.choices) {
        const o = el('option', null, choiceLabel('activation', a));
        o.value = a;
        sel.append(o);
      }
      const acts = cfg.layerActivations?.length ? cfg.layerActivations : shape.map(() => cfg.activation);
      sel.value = acts[i];
      sel.classList.toggle('custom', acts[i] !== cfg.activation);
      sel.style.left = `${x + node / 2}px`;
      if (this.spacing < WIDE_SPACING) sel.style.width = `${Math.max(40, Math.floor(this.spacing) - 6)}px`;
      sel.style.bottom = '4px';
      sel.addEventListener('change', () => {
        const next = [...acts];
        next[i] = sel.value;
        const same = next.every((a) => a === cfg.activation);
        this.onChange({ layerActivations: same ? [] : next });
      });
      this.layer.append(sel);
    }
  }

  setShape(shape) {
    const cfg = this.state.config;
    const changes = { networkShape: shape };
    const acts = cfg.layerActivations || [];
    if (acts.length) {
      const next = shape.map((_, i) => acts[i] ?? cfg.activation);
      changes.layerActivations = next.every((a) => a === cfg.activation) ? [] : next;
    }
    this.onChange(changes);
  }

  toggleFeature(name) {
    const cfg = this.state.config;
    const on = this.featureParams().filter((p) => cfg[p.name]);
    if (cfg[name] && on.length === 1) return; // the net needs at least one input
    this.onChange({ [name]: !cfg[name] });
  }

  fillDisabledFeatures() {
    const m = 24;
    for (const n of this.nodes) {
      if (n.feature && n.neuronIndex === null) this.paintNode(n, featureMap(n.feature, m), m);
    }
    this.flushMaps();
  }

  paintNode(n, values, m) {
    if (!n.img || n.img.width !== m) n.img = new ImageData(m, m);
    paintSigned(values, n.img, !!this.state.config?.discretize);
    this.pending.push(n);
  }

  /** Draw the maps painted since the last call: each size's maps side by side on the stage in
   * one go, then each scaled into its node's square of the maps canvas. */
  flushMaps() {
    const ctx = this.mctx;
    if (!ctx) return;
    const size = this.nodeSize;
    const bySide = new Map();
    for (const n of this.pending) {
      const m = n.img.width;
      if (!bySide.has(m)) bySide.set(m, []);
      bySide.get(m).push(n);
    }
    this.pending = [];
    const sctx = this.stage.getContext('2d');
    for (const [m, nodes] of bySide) {
      this.stage.width = m * nodes.length;
      this.stage.height = m;
      nodes.forEach((n, i) => sctx.putImageData(n.img, i * m, 0));
      nodes.forEach((n, i) => {
        ctx.clearRect(n.x, n.y, size, size);
        ctx.globalAlpha = n.off ? 0.28 : 1;  // a feature switched off is drawn faint
        ctx.drawImage(this.stage, i * m, 0, m, m, n.x, n.y, size, size);
      });
      ctx.globalAlpha = 1;
    }
  }

  /** Repaint maps and links from the last frame. Cost: one pass over neurons and weights. */
  draw() {
    const frame = this.state.frame;
    if (!this.lctx) return;
    const a = frame?.arrays || {};
    const k = this.state.model?.num_classes ?? 2;
    if (a.neurons) {
      const [N, M] = a.neurons.shape;
      for (const n of this.nodes) {
        if (n.neuronIndex === null || n.neuronIndex >= N) continue;
        this.paintNode(n, a.neurons.subarray(n.neuronIndex * M * M, (n.neuronIndex + 1) * M * M), M);
      }
    }
    const outCol = this.columns.length - 1;
    for (const n of this.nodes) {
      if (n.col !== outCol) continue;
      if (k > 2) {
        this.mctx.fillStyle = classColor(n.row);
        this.mctx.fillRect(n.x, n.y, this.nodeSize, this.nodeSize);
      } else if (a.output) {
        const G = a.output.shape[0];
        this.paintNode(n, a.output, G);
      }
    }
    this.flushMaps();
    // A net past the link budget redraws its links ten times a second, a few layers per frame
    // in turn: a whole redraw of its strongest links costs the rasteriser about 25 ms (wide
    // strokes), a fifth of it fits a frame (docs/benchmarks.md, page drawing). The maps stay
    // live every frame.
    const { links, layers } = this.paramLayout();
    const now = performance.now();
    if (links.length <= LINK_BUDGET || this.linksOf !== this.layout || this.state.runState !== 'playing') {
      this.drawLinks(a.weights, a.biases);
    } else if (this.nextLayer > 0 || now - this.sweptAt >= BIG_NET_LINKS_MS) {
      if (this.nextLayer === 0) this.sweptAt = now;
      const end = Math.min(layers.length, this.nextLayer + Math.ceil(layers.length / LAYER_TURNS));
      const turn = [];
      for (let l = this.nextLayer; l < end; l++) turn.push(l);
      this.nextLayer = end % layers.length;
      this.drawLinks(a.weights, a.biases, turn);
    }
  }

  /** The links and bias squares as drawn now (recomputed when the layout or model changed). */
  paramLayout() {
    const cfg = this.state.config;
    const layers = this.state.model?.layers;
    if (!cfg || !layers || !this.columns.length) return { links: [], biases: [], layers: [] };
    const inputRows = this.featureParams().map((p, r) => (this.isInput(p.name) ? r : -1)).filter((r) => r >= 0);
    const k = this.state.model?.num_classes ?? 2;
    const key = JSON.stringify([layers, inputRows, k]);
    if (!this.layout || key !== this.layoutKey) {
      this.layout = { ...paramLayout(this.columns, layers, inputRows, k, this.nodeSize) };
      this.layout.layers = linkLayers(this.layout);
      this.layoutKey = key;
    }
    return this.layout;
  }

  /** Outline one link or bias square (null for none) and redraw the links. */
  setHighlight(item) {
    if (item === this.highlight) return;
    this.highlight = item;
    const a = this.state.frame?.arrays || {};
    if (this.lctx) this.drawLinks(a.weights, a.biases);
  }

  /**
   * Draw the links and bias squares: all of them, or only those of the layers listed. A
   * layer's links and squares lie in its own stripe, between two columns of nodes, so one
   * stripe is cleared and redrawn without touching the others.
   */
  drawLinks(weights, biases, only = null) {
    const ctx = this.lctx;
    const layout = this.paramLayout();
    const { links, layers } = layout;
    if (only === null) {
      ctx.clearRect(0, 0, this.W, this.H);
      this.linksOf = layout;
      this.nextLayer = 0;
      this.sweptAt = performance.now();
    }
    for (const l of only ?? layers.keys()) {
      const layer = layers[l];
      if (only !== null) ctx.clearRect(layer.x0, 0, layer.x1 - layer.x0, this.H);
      const keep = Math.max(1, Math.ceil((LINK_BUDGET * layer.links.length) / links.length));
      layer.drawn = this.drawLayer(layer, weights, biases, links.length > LINK_BUDGET ? keep : 0);
    }
    this.linksDrawn = layers.reduce((sum, layer) => sum + (layer.drawn ?? 0), 0);
    this.sayLinks(links.length);
  }

  /** One layer's links (the `keep` strongest, or all for 0) and bias squares; how many links. */
  drawLayer(layer, weights, biases, keep) {
    const ctx = this.lctx;
    // L1 prunes: a weight it has set to exactly 0 is drawn as a thin dashed line.
    const l1 = this.state.config?.regularization === 'L1' && (this.state.frame?.header.epoch ?? 0) > 0;
    // Links of about the same weight share one path and one stroke: a 64-wide net has tens of
    // thousands of links, and one stroke each is what made big nets crawl. A weight is drawn
    // at 1/LINK_STEPS of its value, finer than the eye tells apart in width or colour.
    const buckets = new Map();
    const pruned = [];
    const floor = weights && keep ? strongest(layer.links, weights, biases, keep) : -Infinity;
    let drawn = 0;
    for (const link of layer.links) {
      const w = weights ? shownValue(link, weights, biases) : 0; // grey until the first frame
      if (!Number.isFinite(w) || Math.abs(w) < floor) continue;
      drawn++;
      if (l1 && w === 0) { pruned.push(link); continue; }
      const q = Math.round(Math.max(-LINK_MAX, Math.min(LINK_MAX, w)) * LINK_STEPS);
      let bucket = buckets.get(q);
      if (!bucket) buckets.set(q, (bucket = []));
      bucket.push(link);
    }
    // Faint links first, so that the strong ones are drawn on top.
    for (const q of [...buckets.keys()].sort((x, y) => Math.abs(x) - Math.abs(y))) {
      const w = q / LINK_STEPS;
      this.linkPath(buckets.get(q));
      ctx.strokeStyle = weightsDrawn(w);
      ctx.lineWidth = linkWidth(w);
      ctx.stroke();
    }
    if (pruned.length) {
      this.linkPath(pruned);
      ctx.setLineDash([3, 3]);
      ctx.strokeStyle = '#9aa0a6';
      ctx.lineWidth = 1;
      ctx.stroke();
      ctx.setLineDash([]);
    }
    const hl = this.highlight;
    if (hl && 'w' in hl && layer.links.includes(hl)) {
      const w = weights ? shownValue(hl, weights, biases) : 0;
      if (l1 && w === 0) this.prunedLink(hl, true);
      else this.link(hl, w, true);
    }
    this.drawBiases(layer.squares, weights, biases);
    return drawn;
  }

  sayLinks(total) {
    if (!this.note) return;
    const culled = this.linksDrawn < total;
    const text = culled ? t('ui.linksShown', { shown: this.linksDrawn.toLocaleString('en-US'), total: total.toLocaleString('en-US') }) : '';
    if (this.note.textContent !== text) this.note.textContent = text;
    this.note.hidden = !culled;
  }

  /** The bias squares, batched like the links: one fill per shade, one stroke for the frames. */
  drawBiases(squares, weights, biases) {
    if (!biases) return;
    const ctx = this.lctx;
    const shades = new Map();
    for (const sq of squares) {
      const b = shownValue(sq, weights, biases);
      if (!Number.isFinite(b)) continue;
      const q = Math.round(Math.max(-1, Math.min(1, b)) * LINK_STEPS);
      if (!shades.has(q)) shades.set(q, []);
      shades.get(q).push(sq.rect);
    }
    for (const [q, rects] of shades) {
      ctx.beginPath();
      for (const r of rects) ctx.rect(r.x, r.y, r.w, r.h);
      ctx.fillStyle = cssColor(q / LINK_STEPS);
      ctx.fill();
    }
    ctx.beginPath();
    for (const rects of shades.values()) for (const r of rects) ctx.rect(r.x, r.y, r.w, r.h);
    ctx.strokeStyle = '#9aa0a6';
    ctx.lineWidth = 0.6;
    ctx.stroke();
    const hl = this.highlight;
    if (hl && 'b' in hl && squares.includes(hl)) this.bias(hl.rect, shownValue(hl, weights, biases), true);
  }

  /** One path of many links (each a cubic curve from its source to its target). */
  linkPath(links) {
    const ctx = this.lctx;
    ctx.beginPath();
    for (const { s, d } of links) {
      const mx = (s.right + d.left) / 2;
      ctx.moveTo(s.right, s.y);
      ctx.bezierCurveTo(mx, s.y, mx, d.y, d.left, d.y);
    }
  }

  link(link, w, outlined) {
    const ctx = this.lctx;
    const width = linkWidth(w);
    this.linkPath([link]);
    if (outlined) {
      ctx.strokeStyle = '#202124';
      ctx.lineWidth = width + 3;
      ctx.stroke();
    }
    ctx.strokeStyle = weightsDrawn(w);
    ctx.lineWidth = width;
    ctx.stroke();
  }

  prunedLink({ s, d }, outlined) {
    const ctx = this.lctx;
    const mx = (s.right + d.left) / 2;
    ctx.beginPath();
    ctx.moveTo(s.right, s.y);
    ctx.bezierCurveTo(mx, s.y, mx, d.y, d.left, d.y);
    ctx.setLineDash([3, 3]);
    ctx.strokeStyle = outlined ? '#202124' : '#9aa0a6';
    ctx.lineWidth = outlined ? 2 : 1;
    ctx.stroke();
    ctx.setLineDash([]);
  }

  bias(r, b, outlined) {
    const ctx = this.lctx;
    ctx.fillStyle = cssColor(b);
    ctx.strokeStyle = outlined ? '#202124' : '#9aa0a6';
    ctx.lineWidth = outlined ? 2 : 0.6;
    ctx.fillRect(r.x, r.y, r.w, r.h);
    ctx.strokeRect(r.x, r.y, r.w, r.h);
  }
}

// Past this many links (a 64-wide net has 28,672) the diagram draws the strongest of each
// layer, as many in all: drawing every one costs more than a frame. The page says so.
export const LINK_BUDGET = 1000;
const LAYER_TURNS = 5;  // a net past the budget redraws its links over this many frames
const BIG_NET_LINKS_MS = 100;  // and starts doing so this often

/** Per layer, the smallest |w| still drawn: each layer keeps its share of LINK_BUDGET. */
/** The smallest |w| among the `keep` strongest of these links. */
function strongest(links, weights, biases, keep) {
  const values = new Float64Array(links.length);
  links.forEach((link, i) => {
    const w = Math.abs(shownValue(link, weights, biases));
    values[i] = Number.isFinite(w) ? w : 0;
  });
  values.sort();
  return values[Math.max(0, values.length - keep)];
}

/** The links and bias squares of each layer, with the stripe of the canvas they lie in. */
function linkLayers({ links, biases }) {
  const layers = [];
  const of = (l) => (layers[l] ??= { links: [], squares: [], x0: Infinity, x1: -Infinity });
  for (const link of links) {
    const layer = of(link.layer);
    layer.links.push(link);
    layer.x0 = Math.min(layer.x0, Math.floor(link.s.right) - 1);
    layer.x1 = Math.max(layer.x1, Math.ceil(link.d.left) + 1);
  }
  for (const sq of biases) {
    const layer = of(sq.layer);
    layer.squares.push(sq);
    layer.x0 = Math.min(layer.x0, Math.floor(sq.rect.x) - 2);
    layer.x1 = Math.max(layer.x1, Math.ceil(sq.rect.x + sq.rect.w) + 2);
  }
  return layers.filter(Boolean);
}

const LINK_MAX = 3;     // |w| past which a link is drawn no wider (nor darker)
const LINK_STEPS = 32;  // links are drawn at w rounded to 1/32

function linkWidth(w) { return 0.5 + Math.min(Math.abs(w), LINK_MAX) * 1.1; }

// Near-zero weights would vanish into the light background; keep them faintly visible.
function weightsDrawn(w) {
  const v = Math.max(-1, Math.min(1, w));
  const t = Math.abs(v) < 0.15 ? Math.sign(v || 1) * 0.15 : v;
  return cssColor(t);
}
