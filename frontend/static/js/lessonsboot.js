// The lab page's languages and lessons, added beside the page's own modules: a language switch
// and a lessons menu in the top bar, the card of the lesson the link names, and the Chinese
// texts of everything the other modules write (see i18n.js). It reads the link before main.js
// rewrites the address bar into its canonical form.

import { loadLang, watchDom, languageSwitch, currentLang, t } from './i18n.js';
import { fetchLessons, lessonMenu, lessonCard, linkLesson, watchUntil } from './lessons.js';

const openedWith = linkLesson();

async function boot() {
  await loadLang();
  const lessons = await fetchLessons();
  const bar = document.querySelector('.topbar .share') || document.querySelector('.topbar');
  if (bar) bar.prepend(lessonMenu(lessons), languageSwitch());
  const current = lessons.find((l) => l.id === openedWith);
  if (current) {
    const anchor = document.getElementById('notices') || document.querySelector('main');
    anchor?.after(lessonCard(current));
    watchUntil(current.epochs);  // play pauses there once, as the comparison's lessons do
  }
  if (currentLang() !== 'en') translateComposite();
  watchDom(document.body);
}

/** Texts the page builds from several nodes, which the text-by-text translation cannot see. */
function translateComposite() {
  const about = document.querySelector('footer.about p');
  if (about) {
    const strong = document.createElement('strong');
    strong.textContent = t('ui.whatIsThis');
    about.replaceChildren(strong, ` ${t('ui.about')} ${t('ui.keysHelp')}`);
  }
  const knnTitle = document.querySelector('#knn-box .chart-title');
  const k = document.getElementById('knn-k');
  // Keep the #knn-k element itself: main.js writes k into it.
  if (knnTitle && k) knnTitle.replaceChildren(`${t('ui.knnBaseline')}（k = `, k, '）');
}

boot().catch((err) => console.error('lessons:', err));
