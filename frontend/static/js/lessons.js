// The lessons menu (one click opens a lesson's link) and the lesson card (its title and what to
// watch). Used by the lab page (through lessonsboot.js) and by the compare page.

import { t, currentLang } from './i18n.js';
import { dropPageKey } from './urlstate.js';

/** The lesson id a link names (`lesson=<id>`), or null. */
export function linkLesson(loc = window.location) {
  const m = `${loc.search.slice(1)}&${loc.hash.slice(1)}`.match(/(?:^|&)lesson=([^&]*)/);
  if (!m) return null;
  try { return decodeURIComponent(m[1]); } catch { return m[1]; }
}

/** Whether the link names a lesson and nothing else (`?lesson=knn`, with `lang` or not): the
 * short link a teacher writes on the board, which opens the lesson's whole link. */
export function onlyNamesLesson(loc = window.location) {
  const keys = `${loc.search.slice(1)}&${loc.hash.slice(1)}`.split('&').filter(Boolean)
    .map((kv) => kv.split('=')[0]);
  return keys.includes('lesson') && keys.every((k) => k === 'lesson' || k === 'lang');
}

/** The notice for a link whose `lesson` names none of `lessons`. */
export function noSuchLesson(id, lessons) {
  const shown = id.length > 40 ? `${id.slice(0, 40)}…` : id;
  return t('ui.noSuchLesson', { id: shown, ids: lessons.map((l) => l.id).join(', ') });
}

export async function fetchLessons(lang = currentLang()) {
  const r = await fetch(`/api/lessons?lang=${encodeURIComponent(lang)}`, { headers: { Accept: 'application/json' } });
  if (!r.ok) throw new Error(`/api/lessons: HTTP ${r.status}`);
  return (await r.json()).lessons;
}

/** The link that opens a lesson in the current language. */
export function lessonHref(lesson, lang = currentLang()) {
  return lang === 'en' ? lesson.page_url : `${lesson.page_url}&lang=${lang}`;
}

/** A "Lessons" button with a drop-down list; choosing one navigates to its link. */
export function lessonMenu(lessons, { onOpen = null } = {}) {
  const wrap = document.createElement('div');
  wrap.className = 'lesson-menu';
  wrap.dataset.control = 'lessons';
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'text-btn lesson-menu-button';
  button.id = 'lessons-button';
  button.textContent = t('ui.lessons');
  button.title = t('ui.lessonsTitle');
  button.setAttribute('aria-haspopup', 'true');
  button.setAttribute('aria-expanded', 'false');
  const list = document.createElement('ol');
  list.className = 'lesson-list';
  list.id = 'lesson-list';
  list.hidden = true;
  for (const lesson of lessons) {
    const item = document.createElement('li');
    const link = document.createElement('a');
    link.href = lessonHref(lesson);
    link.dataset.lesson = lesson.id;
    link.textContent = lesson.title;
    link.title = lesson.text;
    if (onOpen) link.addEventListener('click', (ev) => { if (onOpen(lesson) === false) ev.preventDefault(); });
    item.append(link);
    list.append(item);
  }
  const toggle = (open) => {
    list.hidden = !open;
    button.setAttribute('aria-expanded', String(open));
    if (open) keepInView(list);
  };
  button.addEventListener('click', (ev) => { ev.stopPropagation(); toggle(list.hidden); });
  document.addEventListener('click', (ev) => { if (!wrap.contains(ev.target)) toggle(false); });
  document.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Escape' || list.hidden) return;
    const within = wrap.contains(document.activeElement);
    toggle(false);
    if (within) button.focus();  // not lost to the page's body
  });
  // Tabbing on past the last lesson closes the list, which would cover the controls below.
  wrap.addEventListener('focusout', (ev) => {
    if (ev.relatedTarget && !wrap.contains(ev.relatedTarget)) toggle(false);
  });
  wrap.append(button, list);
  return wrap;
}

let watchEpoch = null; // the epoch the lesson on this page asks to watch until, once

/** Pause where the lesson says to look (`epochs`), the first time play gets there; null: no
 * lesson, or its card was closed. */
export function watchUntil(epochs) { watchEpoch = epochs ?? null; }

/** Whether playing should pause at `epoch` for the lesson; true once, then never again. */
export function lessonPause(epoch) {
  if (watchEpoch === null || epoch < watchEpoch) return false;
  watchEpoch = null;
  return true;
}

const MARGIN = 8; // px between an open list and the window's edges

/** Narrow the list to the window and move it sideways until all of it shows (a phone). */
function keepInView(list) {
  list.style.right = '';
  list.style.width = `${Math.min(340, window.innerWidth - 2 * MARGIN)}px`;
  const { left, right } = list.getBoundingClientRect();
  const shift = left < MARGIN ? MARGIN - left : Math.min(0, window.innerWidth - MARGIN - right);
  if (shift) list.style.right = `${-shift}px`;
}

/** The card that shows a lesson's title, text and how long to watch it. */
export function lessonCard(lesson) {
  const card = document.createElement('aside');
  card.className = 'lesson-card';
  card.id = 'lesson-card';
  card.dataset.lesson = lesson.id;
  const head = document.createElement('div');
  head.className = 'lesson-card-head';
  const title = document.createElement('h2');
  title.textContent = lesson.title;
  const close = document.createElement('button');
  close.type = 'button';
  close.className = 'link-btn';
  close.textContent = '×';
  close.setAttribute('aria-label', t('ui.closeLesson'));
  close.addEventListener('click', () => { card.remove(); dropPageKey('lesson'); watchUntil(null); });
  head.append(title, close);
  const label = document.createElement('strong');
  label.textContent = `${t('ui.whatToWatch')}: `;
  const text = document.createElement('p');
  text.append(label, lesson.text);
  const hint = document.createElement('p');
  hint.className = 'muted small';
  hint.textContent = t('ui.suggestedEpochs', { epochs: lesson.epochs });
  card.append(head, text, hint);
  return card;
}
