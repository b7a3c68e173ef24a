// The sweep panel: pick a parameter, its values and the epochs, press Run, and see each value's
// final train and test loss against the value (POST /api/sweep, read line by line as the server
// finishes points; drawn by sweepchart.js). The base is the experiment on screen (the lab) or
// one run of a comparison; only the swept parameter changes.

import { t, langReady } from './i18n.js';
import { drawSweep, SWEEP_STYLE } from './sweepchart.js';

// What the panel sweeps, with the values it offers first. `width` and `depth` are networkShape
// sweeps built from the base's own shape: every hidden layer that wide, or that many layers.
const KINDS = {
  regularizationRate: '0,0.001,0.003,0.01,0.03,0.1,0.3',
  width: '1,2,3,4,6,8,12,20,32',
  depth: '0,1,2,3,4,6',
  percTrainData: '10,20,30,50,70,90',
  dropout: '0,0.1,0.2,0.3,0.5,0.7',
  learningRate: '0.0003,0.001,0.003,0.01,0.03,0.1,0.3,1',
};
const DEFAULT_EPOCHS = 300;

const kindLabel = (kind) => ({ width: t('ui.sweepWidth'), depth: t('ui.sweepDepth') }[kind] ?? t(`param.${kind}.label`));

/** A mistake in one of the panel's fields: `field` is the input's name, the message says why. */
class FieldError extends Error {
  constructor(field, message) {
    super(message);
    this.field = field;
  }
}

/** The epochs field as a whole number ≥ 1; throws a FieldError naming the field. */
export function sweepEpochs(text) {
  const shown = text.trim();
  const field = t('ui.sweepEpochs');
  if (!shown) throw new FieldError('epochs', t('ui.sweepEpochsEmpty', { field }));
  const n = Number(shown);
  if (!Number.isInteger(n) || n < 1) throw new FieldError('epochs', t('ui.sweepEpochsWhole', { field, value: shown }));
  return n;
}

/**
 * The request for one sweep from the panel's fields: `link` (the base), `param` and `values` as
 * /api/sweep takes them, `labels` for the x axis and `note` (a remark to show, or '').
 * Throws an Error with a message for the learner when the values cannot be read.
 */
export function sweepRequest(kind, text, base) {
  const labels = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (!labels.length) throw new FieldError('values', t('ui.sweepNoValues', { field: t('ui.sweepValues') }));
  if (kind === 'width' || kind === 'depth') {
    const numbers = labels.map(Number);
    const least = kind === 'width' ? 1 : 0;
    if (numbers.some((v) => !Number.isInteger(v) || v < least)) throw new FieldError('values', t('ui.sweepWholeNumbers'));
    const shape = base.config?.networkShape ?? [];
    const shapes = kind === 'width'
      ? numbers.map((v) => Array(Math.max(shape.length, 1)).fill(v))
      : numbers.map((v) => Array(v).fill(shape[0] ?? 4));
    return { link: base.link, param: 'networkShape', values: shapes.map((s) => s.join(',')), labels, note: '' };
  }
  const bad = labels.find((s) => !Number.isFinite(Number(s)));
  if (bad !== undefined) throw new FieldError('values', t('ui.sweepNotNumber', { value: bad }));
  // λ does nothing without a penalty: sweep it with L2 rather than draw a flat line.
  if (kind === 'regularizationRate' && base.config?.regularization === 'none') {
    return { link: `${base.link}&regularization=L2`, param: kind, values: labels, labels, note: t('ui.sweepUsesL2') };
  }
  return { link: base.link, param: kind, values: labels, labels, note: '' };
}

/** Points as they arrive: one JSON object per line of the streamed answer. */
async function* readLines(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const { value, done } = await reader.read();
    text += decoder.decode(value ?? new Uint8Array(), { stream: !done });
    const lines = text.split('\n');
    text = lines.pop();
    for (const line of lines) if (line.trim()) yield JSON.parse(line);
    if (done) break;
  }
  if (text.trim()) yield JSON.parse(text);
}

/** The server's reason, with the parameter and the panel's fields named as the panel names them. */
async function errorText(response, param, label) {
  try {
    const e = (await response.json()).error;
    const message = e.message.split(`${param}:`).join(`${label}:`);
    const fields = { [param]: label, values: t('ui.sweepValues'), epochs: t('ui.sweepEpochs') };
    const name = fields[e.field] ?? e.field;
    return !name || message.startsWith(`${name}:`) ? message : `${name}: ${message}`;
  } catch {
    return `HTTP ${response.status}`;
  }
}

export class SweepPanel {
  /**
   * host: an empty element to build the panel in. base(): `{link, config}` of the experiment to
   * sweep. baseName: how to name that experiment in the hint (null: "this experiment").
   * preset: `{param, values, epochs}` to start from (a lesson's sweep).
   */
  constructor(host, { base, baseName = null, preset = null }) {
    this.host = host;
    this.base = base;
    this.result = { labels: [], points: [], axis: '' };
    this.marks = null;
    this.running = false;
    this.ready = langReady().then(() => this.build(baseName, preset));
    if (!('netplaySweep' in window)) {
      const panel = this;
      Object.defineProperty(window, 'netplaySweep', {
        value: Object.freeze({
          get running() { return panel.running; },
          get points() { return structuredClone(panel.result.points); },
          get labels() { return [...panel.result.labels]; },
          get marks() { return panel.marks && structuredClone(panel.marks); },
          get status() { return panel.status?.textContent ?? ''; },
        }),
      });
    }
  }

  build(baseName, preset) {
    const kind = preset?.param === 'networkShape' ? 'width' : preset?.param;
    this.host.innerHTML = `
      <h2></h2>
      <p class="hint small sweep-hint"></p>
      <form class="sweep-form" novalidate>
        <label class="field"><span class="field-label"></span><select name="param"></select></label>
        <label class="field sweep-values"><span class="field-label"></span><input name="values" type="text" spellcheck="false" autocomplete="off"></label>
        <label class="field sweep-epochs"><span class="field-label"></span><input name="epochs" type="number" min="1" step="1"></label>
        <button class="primary-btn" type="submit"></button>
      </form>
      <div class="chart-head">
        <span class="key"><i class="k-train"></i><span></span> <i class="k-test"></i><span></span></span>
        <span class="sweep-status" role="status" aria-live="polite"></span>
      </div>
      <canvas class="sweep-chart"></canvas>`;
    const q = (sel) => this.host.querySelector(sel);
    q('h2').textContent = t('ui.sweep');
    q('.sweep-hint').textContent = baseName ? t('ui.sweepHintRun', { run: baseName }) : t('ui.sweepHint');
    const labels = this.host.querySelectorAll('.field-label');
    [t('ui.sweepParam'), t('ui.sweepValues'), t('ui.sweepEpochs')].forEach((text, i) => { labels[i].textContent = text; });
    const keys = this.host.querySelectorAll('.key > span');
    keys[0].textContent = t('ui.trainKey');
    keys[1].textContent = t('ui.testKey');
    q('.key .k-train').style.borderTopColor = SWEEP_STYLE.train_loss.color;
    q('.key .k-test').style.borderTopColor = SWEEP_STYLE.test_loss.color;
    this.form = q('form');
    this.status = q('.sweep-status');
    this.canvas = q('canvas');
    const select = this.form.elements.param;
    for (const k of Object.keys(KINDS)) select.append(new Option(kindLabel(k), k));
    select.value = KINDS[kind] ? kind : 'regularizationRate';
    this.form.elements.values.value = KINDS[kind] ? preset.values : KINDS[select.value];
    this.form.elements.epochs.value = String(preset?.epochs ?? DEFAULT_EPOCHS);
    this.button = q('button');
    this.button.textContent = t('ui.sweepStart');
    select.addEventListener('change', () => { this.form.elements.values.value = KINDS[select.value]; });
    this.form.addEventListener('submit', (ev) => { ev.preventDefault(); this.run(); });
    new ResizeObserver(() => this.draw()).observe(this.canvas);
    this.draw();
  }

  draw() {
    this.marks = drawSweep(this.canvas, this.result);
  }

  setStatus(text, kind = '') {
    this.status.textContent = text;
    this.status.dataset.kind = kind;
  }

  /** Mark the field at fault (or none) for assistive technology and the eye. */
  markInvalid(name = null) {
    for (const input of [this.form.elements.values, this.form.elements.epochs]) {
      if (input.name === name) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
    }
  }

  // Every press of Run replaces the status: the form is `novalidate`, so the page checks the
  // fields itself and nothing (the browser's own bubble included) stops a press unseen.
  async run() {
    if (this.running) return;
    const f = this.form.elements;
    let request, epochs;
    try {
      request = sweepRequest(f.param.value, f.values.value, this.base());
      epochs = sweepEpochs(f.epochs.value);
    } catch (err) {
      this.markInvalid(err.field);
      this.setStatus(err.message, 'error');
      if (err.field) f[err.field].focus();
      return;
    }
    this.markInvalid();
    this.running = true;
    this.button.disabled = true;
    const n = request.labels.length;
    const axis = kindLabel(f.param.value);
    this.setStatus(`${request.note} ${t('ui.sweepRunning', { n })}`.trim());
    try {
      const r = await fetch('/api/sweep', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ url: request.link, param: request.param, values: request.values, epochs }),
      });
      // A refused sweep leaves the last curve on screen.
      if (!r.ok) throw new Error(await errorText(r, request.param, axis));
      this.result = { labels: request.labels, points: Array(n).fill(null), axis };
      this.draw();
      let k = 0;
      for await (const record of readLines(r)) {
        if (record.error) throw new Error(record.error.message);
        this.result.points[k++] = record;
        this.draw();
      }
      this.setStatus(this.summary(request.note));
    } catch (err) {
      this.setStatus(t('ui.sweepFailed', { error: err.message }), 'error');
    } finally {
      this.running = false;
      this.button.disabled = false;
    }
  }

  /** "Lowest test loss 0.174 at λ = 0.01", after the note (if any). */
  summary(note) {
    const best = this.marks?.best;
    if (best === null || best === undefined) return [note, t('ui.sweepAllDiverged')].filter(Boolean).join(' ');
    const p = this.result.points[best];
    const text = t('ui.sweepBest', { loss: p.test_loss.toFixed(3), param: this.result.axis, value: this.result.labels[best] });
    // A flat curve says nothing yet: the runs stopped before the parameter mattered.
    const losses = this.result.points.map((q) => q?.test_loss).filter(Number.isFinite);
    const flat = losses.length > 1 && Math.max(...losses) - Math.min(...losses) < 0.02 * Math.max(...losses);
    return [note, text, flat ? t('ui.sweepFlat') : ''].filter(Boolean).join(' ');
  }
}
