// The lab page's languages and lessons, added beside the page's own modules: the template's
// texts in the link's language, a language switch and a lessons menu in the top bar, and the
// card of the lesson the link names. It reads the link before main.js rewrites the address bar
// into its canonical form.

import { loadLang, applyKeys, languageSwitch } from './i18n.js';
import { fetchLessons, lessonHref, lessonMenu, lessonCard, linkLesson, noSuchLesson, onlyNamesLesson, watchUntil } from './lessons.js';
import { Notices } from './notices.js';

const openedWith = linkLesson();
const nameOnly = onlyNamesLesson();

async function boot() {
  await loadLang();
  applyKeys();
  const lessons = await fetchLessons();
  const bar = document.querySelector('.topbar .share') || document.querySelector('.topbar');
  if (bar) bar.prepend(lessonMenu(lessons), languageSwitch());
  const current = lessons.find((l) => l.id === openedWith);
  if (openedWith !== null && !current) {
    new Notices(document.getElementById('notices')).show(noSuchLesson(openedWith, lessons), 'warn', 0);
  }
  if (current && nameOnly) {  // the lesson's own link: its data, network and settings
    window.location.replace(lessonHref(current));
    return;
  }
  if (current) {
    const anchor = document.getElementById('notices') || document.querySelector('main');
    anchor?.after(lessonCard(current));
    watchUntil(current.epochs);  // play pauses there once, as the comparison's lessons do
  }
}

boot().catch((err) => console.error('lessons:', err));
