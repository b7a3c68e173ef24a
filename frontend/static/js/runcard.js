// One run of the compare view: its boundary (the lab's MapView), its train/test loss curve,
// its metrics and its per-layer gradient norms, now and over the epochs; plus the chart that
// overlays every run's test loss. Pure drawing: compare.js owns the data and the loop.

import { MapView } from './boundary.js';
import { DecimatedSeries, LineChart } from './losschart.js';
import { GradHistory, drawGradBars, drawGradHistory } from './gradchart.js';
import { fitCanvas, marginFor, tickText } from './canvas.js';
import { t, paramLabel, choiceLabel } from './i18n.js';

// Run colours stay clear of the blue and orange that mean the two classes and a weight's sign,
// and apart from each other also for red-green colour blindness (tests/js/palette.test.mjs):
// purple, green, magenta, near-black, dusty rose, maroon.
export const RUN_COLORS = ['#6a3d9a', '#1b7837', '#c51b7d', '#202124', '#a67970', '#800000'];

const fmtLoss = (v) => (v === null || v === undefined ? '—' : v < 0.001 && v > 0 ? v.toExponential(1) : v.toFixed(3));
const fmtAcc = (v) => (v === null || v === undefined ? '' : ` · ${t('ui.testAccuracy')} ${(100 * v).toFixed(1)} %`);

/** A run's name in the page language: `Neurons per layer = 20`, from its overrides. */
export function runLabel(k, overrides) {
  const parts = Object.entries(overrides).map(([name, value]) => {
    const shown = Array.isArray(value) ? value.join(', ') : String(value);
    return `${paramLabel(name)} = ${choiceLabel(name, shown)}`;
  });
  return parts.join(' · ') || t('ui.run', { n: k + 1 });
}

export class RunCard {
  constructor(parent, k, label, config) {
    this.k = k;
    this.state = { config, data: null, model: null };
    this.series = new DecimatedSeries(['train_loss', 'test_loss', 'train_acc', 'test_acc']);
    const card = document.createElement('section');
    card.className = 'run-card';
    card.dataset.run = String(k + 1);
    card.innerHTML = '<h2 class="run-title"><i></i><span></span></h2><canvas class="plot"></canvas>'
      + '<canvas class="chart"></canvas><p class="run-metrics"></p>'
      + '<p class="grads-title"></p><canvas class="grads"></canvas>'
      + '<p class="grads-title grads-history-title"></p><canvas class="grads-history"></canvas>';
    card.querySelector('h2 i').style.background = RUN_COLORS[k % RUN_COLORS.length];
    card.querySelector('h2 span').textContent = label;
    if (config?.compat === 'tf') {  // this run trains on TensorFlow Playground's own engine
      const mode = document.createElement('b');
      mode.className = 'mode-name';
      mode.textContent = t('ui.tfMode');
      card.querySelector('h2').append(mode);
    }
    card.querySelector('.grads-title').textContent = t('ui.gradNorms');
    card.querySelector('.grads-history-title').textContent = t('ui.gradHistory');
    parent.append(card);
    this.el = card;
    this.map = new MapView(card.querySelector('canvas.plot'), this.state, { axes: false, pointRadius: 2 });
    this.chart = new LineChart(card.querySelector('canvas.chart'), this.series, ['train_loss', 'test_loss']);
    this.metricsEl = card.querySelector('.run-metrics');
    this.grads = card.querySelector('canvas.grads');
    this.gradsHistory = card.querySelector('canvas.grads-history');
    this.clear();
  }

  setData(train, test, numClasses) {
    this.state.data = { train, test, numClasses, oneD: false };
    this.state.model = { num_classes: numClasses };
  }

  clear() {
    this.series.clear();
    this.grid = null;
    this.curve = null;
    this.gradNorms = null;
    this.gradHistory = null;
  }

  /** One trained epoch from the step history (gradient norms only on some epochs). */
  push(m) {
    this.series.push(m.epoch, m);
    if (m.grad_norms) this.pushGrads(m.epoch, m.grad_norms);
  }

  pushGrads(epoch, norms) {
    this.gradHistory ??= new GradHistory(norms.length);
    this.gradHistory.push(epoch, norms);
  }

  /** The run's state after a step: its boundary grid (or, for 1-D regression, its curve along
   * x₁), metrics and current gradient norms. */
  update(run, arrays) {
    const k = this.k;
    // 1-D data has no x₂: the run is drawn as the lab draws it, target against x₁.
    this.curve = arrays[`curve${k}`] ?? null;
    if (this.state.data) this.state.data.oneD = !!this.curve;
    this.grid = arrays[`classes${k}`]
      ? { classes: arrays[`classes${k}`], confidence: arrays[`confidence${k}`], k: run.num_classes }
      : arrays[`output${k}`] ? { signed: arrays[`output${k}`] } : null;
    this.epoch = run.epoch;
    this.gradNorms = run.grad_norms;
    // Epoch 0 (the initial weights) starts both charts; the step history holds later epochs.
    if (!this.series.length) this.series.push(run.epoch, run);
    if (!this.gradHistory && run.grad_norms) this.pushGrads(run.epoch, run.grad_norms);
    const diverged = run.diverged_at !== undefined && run.diverged_at !== null;
    this.metricsEl.classList.toggle('diverged', diverged);
    this.metricsEl.textContent = diverged
      ? t('ui.diverged', { epoch: run.diverged_at })
      : `${run.loss === 'square' ? `${t('ui.squareLoss')}: ` : ''}${t('ui.train')} ${fmtLoss(run.train_loss)} · ${t('ui.test')} ${fmtLoss(run.test_loss)}${fmtAcc(run.test_acc)}`;
  }

  /** Redraw everything; `gradRange` is the log₁₀ range shared by every card's history. Both
   * charts span epoch 0 to the current epoch, whichever epochs their samples fall on. */
  draw(gradRange) {
    this.view = this.curve ? 'curve' : 'map';
    if (this.curve) this.map.drawCurve(this.curve); else this.map.drawMap(this.grid);
    this.chart.draw(this.epoch);
    drawGradBars(this.grads, this.gradNorms);
    drawGradHistory(this.gradsHistory, this.gradHistory, gradRange, this.epoch);
  }

  resize() { this.map.resize(); this.chart.resize(); }

  /** Draw the loss curve on a log scale (the page's one checkbox sets every loss chart). */
  setLog(on) { this.chart.log = on; }
}

/** Every run's test loss over epochs, one colour per run (log scale by default). */
export function drawOverlay(canvas, cards, log) {
  const [ctx, w, h] = fitCanvas(canvas);
  const R = 8, T = 8, B = 16;
  const f = log ? (v) => (v > 0 ? Math.log10(v) : NaN) : (v) => v;
  let lo = Infinity, hi = -Infinity;
  const x1 = Math.max(1, ...cards.map((c) => c.epoch ?? 0));
  for (const c of cards) {
    const s = c.series;
    for (let i = 0; i < s.length; i++) {
      const v = f(s.y.test_loss[i]);
      if (Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    }
  }
  if (!Number.isFinite(lo)) { lo = 0; hi = 1; }
  if (hi - lo < 1e-9) { hi += 0.5; lo -= 0.5; }
  const ticks = [lo, (lo + hi) / 2, hi].map((v) => [v, tickText(log ? 10 ** v : v)]);
  const L = marginFor(ctx, ticks.map(([, text]) => text), 40);
  const X = (x) => L + (x / x1) * (w - L - R);
  const Y = (v) => T + ((hi - v) / (hi - lo)) * (h - T - B);
  ctx.fillStyle = '#70757a';
  ctx.strokeStyle = '#e8eaed';
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const [v, text] of ticks) {
    const y = Math.round(Y(v)) + 0.5;
    ctx.beginPath(); ctx.moveTo(L, y); ctx.lineTo(w - R, y); ctx.stroke();
    ctx.fillText(text, L - 4, y);
  }
  ctx.textAlign = 'left';
  ctx.textBaseline = 'bottom';
  ctx.fillText(`${t('ui.epoch')} 0`, L, h);
  ctx.textAlign = 'right';
  ctx.fillText(String(Math.round(x1)), w - R, h);
  ctx.lineWidth = 1.8;
  for (const c of cards) {
    const s = c.series;
    ctx.strokeStyle = RUN_COLORS[c.k % RUN_COLORS.length];
    ctx.beginPath();
    let pen = false;
    for (let i = 0; i < s.length; i++) {
      const v = f(s.y.test_loss[i]);
      if (!Number.isFinite(v)) { pen = false; continue; }
      if (pen) ctx.lineTo(X(s.x[i]), Y(v)); else ctx.moveTo(X(s.x[i]), Y(v));
      pen = true;
    }
    ctx.stroke();
  }
}
