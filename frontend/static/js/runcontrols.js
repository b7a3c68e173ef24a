// Run controls: play/pause, step, reset, new seed, speed, the epoch and speed counters, the
// divergence banner, and the keyboard (space, s, r).

import { t } from './i18n.js';
import { shortcutAllowed } from './keys.js';

const SPEEDS = [1, 5, 10, 25, 50, 100, 250, 500, 1000];
export const DEFAULT_SPEED = 25;

const $ = (id) => document.getElementById(id);

export class RunControls {
  constructor(state, send) {
    this.state = state;
    this.send = send;
    this.play = $('play');
    this.play.addEventListener('click', () => this.toggle());
    $('step').addEventListener('click', () => this.step());
    $('reset').addEventListener('click', () => this.reset());
    $('reseed').addEventListener('click', () => send('reseed'));
    this.speed = $('speed');
    this.speed.addEventListener('change', () => send('speed', { steps_per_frame: Number(this.speed.value) }));
    this.epoch = $('epoch');
    this.rate = $('rate');
    this.banner = $('banner');
    $('banner-reset').addEventListener('click', () => this.reset());
    document.addEventListener('keydown', (ev) => this.key(ev));
    this.setLimits({ max_steps_per_frame: 1000 });
  }

  setLimits(limits) {
    const max = limits?.max_steps_per_frame ?? 1000;
    const current = Number(this.speed.value) || DEFAULT_SPEED;
    this.speed.replaceChildren();
    for (const s of SPEEDS.filter((v) => v <= max)) {
      const o = document.createElement('option');
      o.value = s;
      o.textContent = t('ui.perFrame', { n: s });
      this.speed.append(o);
    }
    this.speed.value = String(Math.min(current, max));
  }

  get steps() {
    return Number(this.speed.value) || DEFAULT_SPEED;
  }

  toggle() {
    this.send(this.state.runState === 'playing' ? 'pause' : 'play');
  }

  step() {
    this.send('step', { n: 1 });
  }

  reset() {
    this.send('reset');
  }

  key(ev) {
    if (!shortcutAllowed(ev)) return;
    const hidden = this.state.hidden;
    if (ev.key === ' ' && !hidden.has('playButton')) { ev.preventDefault(); this.toggle(); }
    else if (ev.key === 's' && !hidden.has('stepButton')) this.step();
    else if (ev.key === 'r' && !hidden.has('resetButton')) this.reset();
  }

  /** Show the run state; called on `state` messages and on frames. */
  sync() {
    const s = this.state.runState;
    const playing = s === 'playing';
    this.play.classList.toggle('playing', playing);
    const label = t(playing ? 'ui.pause' : 'ui.play');
    this.play.setAttribute('aria-label', label);
    this.play.title = label;
    const diverged = s === 'diverged';
    this.banner.hidden = !diverged;
    if (diverged) {
      $('banner-text').textContent = t('ui.diverged', { epoch: this.state.divergedAt ?? '?' });
    }
  }

  counters(header) {
    const e = header?.epoch ?? 0;
    this.epoch.textContent = e.toLocaleString('en-US');
    const sps = header?.steps_per_s;
    this.rate.textContent = this.state.runState === 'playing' && sps ? t('ui.updatesPerSecond', { rate: formatRate(sps) }) : '';
  }
}

function formatRate(v) {
  return v >= 1000 ? `${(v / 1000).toFixed(1)}k` : `${Math.round(v)}`;
}
