// Live rooms (docs/protocol.md, "Rooms"). The teacher's side: *Share live* opens a room for the
// run on screen and shows its link and how many watch. The viewer's side (/room/<id>): the same
// page, fed by the room's socket instead of a session of its own, its controls read-only, with
// *Try it myself*: the run as it is now, in a new tab, the viewer's own.

import { t } from './i18n.js';
import { copyLink } from './urlstate.js';

const $ = (id) => document.getElementById(id);

/** The room this page watches (`/room/<id>`), or null on the 2-D lab itself. */
export const watchedRoom = () => document.body.dataset.room || null;

/** The teacher's panel: start, the room link and the viewer count, stop. */
export class LivePanel {
  constructor({ send, notices }) {
    this.send = send;
    this.notices = notices;
    this.room = null;
    this.button = $('share-live');
    this.button.addEventListener('click', () => this.toggle());
    $('live-start').addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.send('share_live', { name: $('live-name').value.trim().slice(0, 40) });
    });
    $('live-stop').addEventListener('click', () => this.send('stop_sharing'));
    // Escape closes the panel (a live room goes on) and gives focus back to its button.
    $('live-panel').addEventListener('keydown', (ev) => {
      if (ev.key !== 'Escape' || $('live-panel').hidden) return;
      ev.stopPropagation();
      this.toggle();
      this.button.focus();
    });
    $('live-copy').addEventListener('click', async () => {
      const ok = await copyLink($('live-link').value);
      this.notices.show(t(ok ? 'ui.roomLinkCopied' : 'ui.copyManually'), ok ? 'ok' : 'info');
    });
  }

  toggle() {
    const panel = $('live-panel');
    panel.hidden = !panel.hidden;
    this.button.setAttribute('aria-expanded', String(!panel.hidden));
    if (!panel.hidden && !this.room) $('live-name').focus();
  }

  /** A `room` message: the room is live, with this many viewers. */
  onRoom(msg) {
    this.room = msg.id;
    $('live-panel').hidden = false;
    this.button.setAttribute('aria-expanded', 'true');
    this.button.classList.add('live');
    $('live-start').hidden = true;
    $('live-on').hidden = false;
    $('live-link').value = `${location.origin}/room/${msg.id}${document.documentElement.lang.startsWith('zh') ? '?lang=zh' : ''}`;
    $('live-count').textContent = t('ui.watching', { n: msg.viewers });
  }

  /** `room_ended`: back to a run of one's own. */
  onEnded() {
    this.room = null;
    this.button.classList.remove('live');
    $('live-start').hidden = false;
    $('live-on').hidden = true;
    $('live-panel').hidden = true;
    this.button.setAttribute('aria-expanded', 'false');
  }
}

/** The viewer's bar: who is teaching, how many watch, Try it myself; the end, with its link. */
export class RoomBar {
  constructor(state) {
    this.state = state;
    this.ended = false;
    document.body.classList.add('watching');
    $('room-bar').hidden = false;
    $('share-live').hidden = true;
    // The viewer's own copy: the run's link, at the epoch on screen, in the viewer's language.
    $('try-it').addEventListener('click', () => { $('try-it').href = this.ownLink(); });
  }

  ownLink() {
    const q = new URLSearchParams(this.state.query || '');
    const epoch = this.state.frame?.header.epoch ?? 0;
    if (epoch > 0 && !q.has('at')) q.set('at', String(epoch));
    q.set('lang', document.documentElement.lang.startsWith('zh') ? 'zh' : 'en');
    return `/?${q.toString()}`;
  }

  onRoom(msg) {
    const n = msg.viewers;
    $('room-text').textContent = msg.name ? t('ui.roomLiveNamed', { name: msg.name, n }) : t('ui.roomLive', { n });
  }

  onEnded(msg) {
    this.ended = true;
    $('room-bar').classList.add('ended');
    $('room-text').textContent = t('ui.roomEnded');
    const a = $('try-it');
    a.textContent = t('ui.roomEndedOpen');
    a.removeAttribute('target');
    a.href = msg.link || '/';
    a.replaceWith(a.cloneNode(true));  // no longer rewritten on click: the end's own link
  }

  onMissing() {
    $('room-bar').classList.add('ended');
    $('room-text').textContent = t('ui.roomMissing');
    $('try-it').hidden = true;
  }
}

/** Every control of the page that would change the run, disabled: a viewer watches. */
export function readOnly() {
  const keep = new Set(['tab-loss', 'tab-acc', 'log-scale', 'try-it']);
  for (const el of document.querySelectorAll('main input, main select, main button, main textarea, .trainbar input, .trainbar select, .trainbar button, .run button, .run select')) {
    if (!keep.has(el.id)) el.disabled = true;
  }
}
