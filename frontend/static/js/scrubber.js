// Rewind by the loss chart: drag along it (or use the arrow keys while it has focus) to pick an
// earlier epoch of this run, let go (or press Enter) to go back there. The chart is a slider for
// assistive technology; Escape, or a pick at the epoch of now, leaves everything as it was.

import { t } from './i18n.js';

const BIG_STEP = 10;

export class Scrubber {
  /** `chart`: the LineChart; `now()`: the run's epoch; `onPick(epoch)`: go back there;
   * `onMove(row)`: the recorded values at the picked epoch (null when the pick ends). */
  constructor(chart, { now, onPick, onMove, enabled }) {
    this.chart = chart;
    this.now = now;
    this.onPick = onPick;
    this.onMove = onMove;
    this.enabled = enabled;
    const c = chart.canvas;
    c.tabIndex = 0;
    c.setAttribute('role', 'slider');
    c.setAttribute('aria-valuemin', '0');
    this.label();
    c.addEventListener('pointerdown', (ev) => this.down(ev));
    c.addEventListener('pointermove', (ev) => this.drag(ev));
    c.addEventListener('pointerup', () => this.up());
    c.addEventListener('pointercancel', () => this.cancel());
    c.addEventListener('keydown', (ev) => this.key(ev));
    c.addEventListener('blur', () => this.cancel());
    this.dragging = false;
  }

  /** The slider's name and range (call when the language, the run or its epoch changes). */
  label() {
    const c = this.chart.canvas;
    c.setAttribute('aria-label', t('ui.rewindChart'));
    c.setAttribute('aria-valuemax', String(this.now()));
    c.setAttribute('aria-valuenow', String(this.chart.cursor ?? this.now()));
    c.setAttribute('aria-valuetext', `${t('ui.epoch')} ${this.chart.cursor ?? this.now()}`);
  }

  show(epoch) {
    const e = Math.max(0, Math.min(this.now(), epoch));
    this.chart.cursor = e;
    this.label();
    this.onMove(this.chart.series.at(e));
  }

  cancel() {
    this.dragging = false;
    if (this.chart.cursor === null) return;
    this.chart.cursor = null;
    this.label();
    this.onMove(null);
  }

  pick() {
    const e = this.chart.cursor;
    this.cancel();
    if (e !== null && e < this.now()) this.onPick(e);
  }

  down(ev) {
    if (!this.enabled() || ev.button > 0) return;
    this.dragging = true;
    this.chart.canvas.setPointerCapture?.(ev.pointerId);
    this.show(this.chart.epochAt(ev.offsetX));
    ev.preventDefault();
  }

  drag(ev) {
    if (this.dragging) this.show(this.chart.epochAt(ev.offsetX));
  }

  up() {
    if (this.dragging) this.pick();
  }

  key(ev) {
    if (!this.enabled()) return;
    const now = this.now();
    const at = this.chart.cursor ?? now;
    const step = ev.shiftKey ? BIG_STEP : 1;
    const moves = { ArrowLeft: at - step, ArrowDown: at - step, ArrowRight: at + step, ArrowUp: at + step,
      PageDown: at - BIG_STEP, PageUp: at + BIG_STEP, Home: 0, End: now };
    if (ev.key in moves) this.show(moves[ev.key]);
    else if (ev.key === 'Enter') this.pick();
    else if (ev.key === 'Escape') this.cancel();
    else return;
    ev.preventDefault();
  }
}
