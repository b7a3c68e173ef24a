// Languages: the message catalogues (/api/locales/<lang>) and the page's language, carried in the
// link as `lang=zh`. `t(key, values)` reads a message; `translateDom(root)` turns the English
// texts other modules wrote (labels, buttons, notices) into the page language. It maps each
// English catalogue text to its translation, so modules that write English stay correct in
// every language without knowing about this one; a MutationObserver keeps up with later text.

const LANGS = ['en', 'zh'];
let messages = {};
let english = {};
let lang = 'en';
let byEnglish = new Map();   // exact English text → translation
let patterns = [];           // [RegExp, key, names] for texts with {placeholders}

/** The language a link asks for (`lang=zh` in the query or hash), else English. */
export function linkLang(loc = window.location) {
  const text = `${loc.search.slice(1)}&${loc.hash.slice(1)}`;
  const m = text.match(/(?:^|&)lang=([a-z]+)/);
  return m && LANGS.includes(m[1]) ? m[1] : 'en';
}

export function currentLang() { return lang; }

/** A message with `{name}` placeholders filled; English, then the key, when missing. */
export function t(key, values = {}) {
  const text = messages[key] ?? english[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (all, name) => (name in values ? String(values[name]) : all));
}

async function fetchCatalogue(code) {
  const r = await fetch(`/api/locales/${code}`, { headers: { Accept: 'application/json' } });
  if (!r.ok) throw new Error(`/api/locales/${code}: HTTP ${r.status}`);
  return (await r.json()).messages;
}

function escapeRe(s) { return s.replace(/[.*+?^$()|[\]\\]/g, '\\$&'); }

let loading = null;          // the promise of the last loadLang

/** Load the catalogues for `code` (English always, as the fallback and the lookup key). */
export function loadLang(code = linkLang()) {
  loading = load(code);
  return loading;
}

/** The catalogues of the page's language, loaded once whichever module asks first. */
export function langReady() { return loading ?? loadLang(); }

async function load(code) {
  lang = LANGS.includes(code) ? code : 'en';
  english = await fetchCatalogue('en');
  messages = lang === 'en' ? english : await fetchCatalogue(lang);
  byEnglish = new Map();
  patterns = [];
  if (lang !== 'en') {
    for (const [key, text] of Object.entries(english)) {
      if (!messages[key] || messages[key] === text) continue;
      if (/\{\w+\}/.test(text)) {
        const names = [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
        const re = new RegExp(`^${escapeRe(text).replace(/\\\{\w+\\\}|\{\w+\}/g, '(.+?)')}$`);
        patterns.push([re, key, names]);
      } else {
        byEnglish.set(text, messages[key]);
      }
    }
    // Choice values as the server writes them (`relu`) read as their label in this language.
    for (const [key, text] of Object.entries(messages)) {
      const m = key.match(/^choice\.[^.]+\.(.+)$/);
      if (m && !byEnglish.has(m[1])) byEnglish.set(m[1], text);
    }
  }
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : lang;
  return lang;
}

/** The translation of one English text, or null when there is none. */
export function translateText(text) {
  const trimmed = text.trim();
  if (!trimmed) return null;
  const hit = byEnglish.get(trimmed);
  if (hit !== undefined) return text.replace(trimmed, hit);
  for (const [re, key, names] of patterns) {
    const m = trimmed.match(re);
    if (m) return text.replace(trimmed, t(key, Object.fromEntries(names.map((n, i) => [n, m[i + 1]]))));
  }
  return null;
}

const ATTRS = ['title', 'aria-label', 'placeholder'];

function translateParams(root) {
  // Controls built from the schema: label and help by parameter name, options by value.
  for (const wrap of root.querySelectorAll?.('[data-param]') || []) {
    const name = wrap.dataset.param;
    const label = wrap.querySelector(':scope > label.field-label, :scope > .field-label');
    const key = `param.${name}.label`;
    if (label && messages[key] && label.textContent !== messages[key]) label.textContent = messages[key];
    if (wrap.title && messages[`param.${name}.help`]) wrap.title = messages[`param.${name}.help`];
    for (const opt of wrap.querySelectorAll('option')) {
      const text = messages[`choice.${name}.${opt.value}`];
      if (text && opt.textContent !== text) opt.textContent = text;
    }
  }
}

/** Translate every text node and labelled attribute under `root` (no-op in English). */
export function translateDom(root = document.body) {
  if (lang === 'en' || !root) return;
  if (root.nodeType === Node.TEXT_NODE) {
    const next = translateText(root.nodeValue);
    if (next !== null && next !== root.nodeValue) root.nodeValue = next;
    return;
  }
  if (root.nodeType !== Node.ELEMENT_NODE) return;
  translateParams(root);
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement?.closest('script, style, [data-no-i18n]')) continue;
    const next = translateText(node.nodeValue);
    if (next !== null && next !== node.nodeValue) node.nodeValue = next;
  }
  for (const el of [root, ...root.querySelectorAll('[title], [aria-label], [placeholder]')]) {
    for (const attr of ATTRS) {
      const v = el.getAttribute?.(attr);
      const next = v && translateText(v);
      if (next && next !== v) el.setAttribute(attr, next);
    }
  }
}

/** Keep translating what other modules write after load. */
export function watchDom(root = document.body) {
  if (lang === 'en') return null;
  translateDom(root);
  const observer = new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === 'characterData') translateDom(r.target);
      else if (r.type === 'attributes') translateDom(r.target);
      else for (const n of r.addedNodes) translateDom(n);
    }
  });
  observer.observe(root, { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ATTRS });
  if (document.title) document.title = translateText(document.title) ?? document.title;
  return observer;
}

/** A link to the same page in another language (`lang=` replaced or added). */
export function linkInLang(code, loc = window.location) {
  const params = new URLSearchParams(`${loc.search.slice(1)}${loc.hash ? `&${loc.hash.slice(1)}` : ''}`);
  if (code === 'en') params.delete('lang'); else params.set('lang', code);
  return `${loc.pathname}?${params.toString().replace(/%2C/g, ',').replace(/%3B/g, ';')}`;
}

/** A small en / 中文 switch that reloads the page in the chosen language. */
export function languageSwitch() {
  const select = document.createElement('select');
  select.className = 'lang-switch';
  select.setAttribute('aria-label', t('ui.language'));
  select.dataset.noI18n = '';
  for (const [code, label] of [['en', 'English'], ['zh', '中文']]) {
    const opt = document.createElement('option');
    opt.value = code;
    opt.textContent = label;
    select.append(opt);
  }
  select.value = lang;
  select.addEventListener('change', () => { window.location.href = linkInLang(select.value); });
  return select;
}
