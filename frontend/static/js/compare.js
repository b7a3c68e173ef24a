// The compare page: 2–6 runs of one link on the same data and seed, trained in lockstep on the
// server (POST /api/compare/step), each drawn by a RunCard, with one chart overlaying their test
// losses. The address bar holds the whole comparison (see playground_models/compare.py).

import { decodeEnvelope } from './protocol.js';
import { shortcutAllowed } from './keys.js';
import { linkText, copyLink } from './urlstate.js';
import { applyHidden } from './controls.js';
import { Notices } from './notices.js';
import { loadLang, applyKeys, languageSwitch, t, currentLang } from './i18n.js';
import { fetchLessons, lessonCard, lessonHref, lessonMenu, linkLesson, noSuchLesson, onlyNamesLesson } from './lessons.js';
import { RunCard, RUN_COLORS, runLabel, drawOverlay } from './runcard.js';
import { sharedRange } from './gradchart.js';
import { SweepPanel } from './sweeppanel.js';

const $ = (id) => document.getElementById(id);
const notices = new Notices($('notices'));
// The server keeps a comparison per page id and continues it; a new id (or a reset) replays.
let client = Math.random().toString(36).slice(2, 12);
let link = '';
let cards = [];
let epoch = 0;
let playing = false;
let busy = false;
let dirty = false;
let history = [];   // per run: every epoch's metrics, for the curves and for tests
let lesson = null;  // the lesson the link names, if any
let stopAt = null;  // its watch epoch, until play has paused there once

async function post(path, body) {
  const r = await fetch(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!r.ok) {
    let message = `HTTP ${r.status}`;
    let warnings = [];
    try {
      const e = (await r.json()).error;
      message = e.field ? `${e.field}: ${e.message}` : e.message;
      warnings = e.warnings ?? [];
    } catch { /* not JSON */ }
    throw Object.assign(new Error(message), { warnings });
  }
  return r;
}

// The page's own key: epochs per step, kept in the address bar (and so in a shared link) beside
// the server's canonical comparison, and never sent to the server.
const SPEED_KEY = 'speed';

function withoutSpeed(text) {
  return text.split('&').filter((kv) => kv && kv.split('=')[0] !== SPEED_KEY).join('&');
}

function speedFromLink(text) {
  const kv = text.split('&').find((item) => item.split('=')[0] === SPEED_KEY);
  const value = kv?.split('=')[1];
  return [...$('speed').options].some((o) => o.value === value) ? value : '0';
}

/** The canonical link already holds `lang` (a view parameter) when it is not English. */
function writeAddressBar(canonical) {
  const speed = $('speed').value;
  const url = `/compare?${canonical}${speed !== '0' ? `&${SPEED_KEY}=${speed}` : ''}`;
  if (url !== window.location.pathname + window.location.search) window.history.replaceState(null, '', url);
}

/** Train `n` more epochs (0: just the current frame) and draw what comes back. */
async function step(n) {
  if (busy) return;
  busy = true;
  try {
    const r = await post('/api/compare/step', { url: link, client, epoch, epochs: n });
    const { header, arrays } = decodeEnvelope(await r.arrayBuffer());
    if (epoch === 0) {
      cards.forEach((c, k) => c.setData(arrays[`train${k}`], arrays[`test${k}`], header.runs[k].num_classes));
    }
    for (const perRun of header.history) {
      perRun.forEach((m, k) => { history[k].push(m); cards[k].push(m); });
    }
    epoch = header.epoch;
    $('epoch').textContent = epoch.toLocaleString('en-US');
    header.runs.forEach((run, k) => cards[k].update(run, arrays));
    dirty = true;
    if (stopAt !== null && epoch >= stopAt) {
      stopAt = null;
      setPlaying(false);
      notices.show(t('ui.lessonPaused', { epochs: epoch }), 'info', 10000);
    }
    if (header.runs.every((run) => run.diverged_at !== undefined && run.diverged_at !== null)) setPlaying(false);
  } catch (err) {
    notices.show(err.message, 'error');
    setPlaying(false);
  } finally {
    busy = false;
  }
}

function setPlaying(on) {
  playing = on;
  $('play').classList.toggle('playing', on);
  const label = on ? t('ui.pause') : t('ui.play');
  $('play').title = label;
  $('play').setAttribute('aria-label', label);
}

async function reset() {
  setPlaying(false);
  while (busy) await new Promise((ok) => setTimeout(ok, 10));
  client = Math.random().toString(36).slice(2, 12);
  epoch = 0;
  stopAt = lesson?.epochs ?? null;
  history = cards.map(() => []);
  cards.forEach((c) => c.clear());
  await step(0);
}

/** Re-measure the cards whenever their boxes change. A card is first measured as it is added,
 * before the grid has placed the others: the first one alone spans the whole row. */
function observeCards() {
  const observer = new ResizeObserver(() => { cards.forEach((c) => c.resize()); dirty = true; });
  cards.forEach((c) => observer.observe(c.el));
}

// "auto" speed: a few epochs per request once the curves are long, so a long run does not
// crawl; one per request at first, so the first epochs appear one by one. Never past a lesson's
// watch epoch, so play pauses exactly there.
function epochsPerRequest() {
  const n = Number($('speed').value) || (epoch < 100 ? 1 : epoch < 1000 ? 5 : 20);
  return stopAt !== null && epoch < stopAt ? Math.min(n, stopAt - epoch) : n;
}

async function loop() {
  if (playing && !busy) await step(epochsPerRequest());
  requestAnimationFrame(loop);
}

function render() {
  if (dirty) {
    const gradRange = sharedRange(cards.map((c) => c.gradHistory));
    const log = $('log-scale').checked;  // one checkbox for every loss chart of the page
    for (const c of cards) { c.setLog(log); c.draw(gradRange); }
    drawOverlay($('overlay'), cards, log);
    dirty = false;
  }
  requestAnimationFrame(render);
}

function wire() {
  $('play').addEventListener('click', () => setPlaying(!playing));
  $('step').addEventListener('click', () => { setPlaying(false); step(1); });
  $('reset').addEventListener('click', reset);
  $('log-scale').addEventListener('change', () => { dirty = true; });
  $('share').addEventListener('click', async () => {
    const ok = await copyLink();
    notices.show(ok ? t('ui.linkCopied') : t('ui.copyManually'), ok ? 'ok' : 'info');
  });
  document.addEventListener('keydown', (ev) => {
    if (!shortcutAllowed(ev)) return;
    if (ev.key === ' ') { ev.preventDefault(); setPlaying(!playing); }
    else if (ev.key === 's') { setPlaying(false); step(1); }
    else if (ev.key === 'r') reset();
  });
  window.addEventListener('resize', () => { dirty = true; });
}

Object.defineProperty(window, 'netplayCompare', {
  value: Object.freeze({
    get epoch() { return epoch; },
    get playing() { return playing; },
    get history() { return structuredClone(history); },
    get gradHistory() { return cards.map((c) => c.gradHistory?.toJSON() ?? []); },
    get curves() { return cards.map((c) => c.series.toJSON()); },
    get cardSizes() {
      return cards.map((c) => ({ width: c.map.canvas.width, cssWidth: c.map.canvas.clientWidth, radius: c.map.r }));
    },
    get link() { return link; },
    get views() { return cards.map((c) => c.view ?? null); },
    get logScale() { return { overlay: $('log-scale').checked, cards: cards.map((c) => c.chart.log) }; },
    get ready() { return cards.length > 0 && !!cards[0].state.data; },
  }),
});

async function boot() {
  await loadLang();
  applyKeys();
  const lessons = await fetchLessons();
  $('compare-tools').prepend(lessonMenu(lessons), languageSwitch());
  $('back-to-lab').href = currentLang() === 'en' ? '/' : `/?lang=${currentLang()}`;
  $('speed').value = speedFromLink(linkText());
  $('speed').addEventListener('change', () => writeAddressBar(link));
  const named = linkLesson();
  const known = lessons.find((l) => l.id === named);
  if (named !== null && !known) notices.show(noSuchLesson(named, lessons), 'warn', 0);
  if (known && !known.compare && onlyNamesLesson()) {  // a lesson of the 2-D lab: open it there
    window.location.replace(lessonHref(known));
    return;
  }
  const r = await post('/api/compare/parse', { url: withoutSpeed(linkText()), client, lang: currentLang() });
  const spec = await r.json();
  link = spec.url;
  writeAddressBar(link);
  applyHidden(new Set(spec.hidden)); // classroom links: `playButton_hide=true` and the like
  for (const w of spec.warnings) notices.show(w, 'warn');
  // Bad parts of the link opened at their defaults (the address bar now holds the rest).
  if (spec.errors?.length) {
    notices.show(t('ui.linkProblem', { errors: spec.errors.map((e) => e.message).join('; ') }), 'error', 0);
  }
  lesson = lessons.find((l) => l.id === spec.lesson) ?? null;
  stopAt = lesson?.epochs ?? null;
  if (lesson) $('notices').after(lessonCard(lesson));
  const grid = $('runs');
  cards = spec.runs.map((config, k) => new RunCard(grid, k, runLabel(k, spec.overrides[k]), config));
  history = cards.map(() => []);
  observeCards();
  $('overlay-key').replaceChildren(...cards.map((c) => {
    const span = document.createElement('span');
    const dot = document.createElement('i');
    dot.style.background = RUN_COLORS[c.k % RUN_COLORS.length];
    span.append(dot, c.el.querySelector('h2 span').textContent);
    return span;
  }));
  // The sweep extends the comparison from its last run (a lesson names what to sweep).
  const last = cards.length - 1;
  new SweepPanel($('sweep'), {
    base: () => ({ link: spec.run_urls[last], config: spec.runs[last] }),
    baseName: cards[last].el.querySelector('h2 span').textContent,
    preset: lesson?.sweep && { ...lesson.sweep, epochs: lesson.epochs },
  });
  wire();
  await step(0);
  requestAnimationFrame(loop);
  requestAnimationFrame(render);
}

/** A link that opens no comparison: say why instead of an empty page, and offer a way on. */
function showBroken(err) {
  for (const w of err.warnings ?? []) notices.show(w, 'warn', 0);
  document.querySelector('.topbar .run').hidden = true;
  const box = document.createElement('section');
  box.className = 'panel broken-link';
  box.id = 'broken-link';
  const title = document.createElement('h2');
  title.textContent = t('ui.compareBroken');
  const why = document.createElement('p');
  why.className = 'broken-why';
  why.textContent = err.message;
  const help = document.createElement('p');
  help.textContent = t('ui.compareBrokenHelp');
  const back = document.createElement('a');
  back.className = 'primary-btn';
  back.href = $('back-to-lab').getAttribute('href');
  back.textContent = t('ui.backToLab');
  box.append(title, why, help, back);
  document.querySelector('main.compare').replaceChildren(box);
}

boot().catch((err) => { notices.show(err.message, 'error', 0); showBroken(err); });
