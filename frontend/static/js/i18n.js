// Languages: the message catalogues (/api/locales/<lang>) and the page's language, carried in the
// link as `lang=zh`. One convention everywhere: page code writes `t(key, values)`, and the
// templates mark each text with its key (`data-i18n="ui.data"`, `data-i18n-title="…"`), which
// `applyKeys` fills in the page language. The catalogues are the only source of labels; a test
// checks that every key the page uses exists in every catalogue.

const LANGS = ['en', 'zh'];
let messages = {};
let english = {};
let lang = 'en';

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

/** A parameter's label and help, by name (`param.<name>.label`, `param.<name>.help`). */
export function paramLabel(name) { return t(`param.${name}.label`); }
export function paramHelp(name) { return t(`param.${name}.help`); }

/** A choice as people read it (`he` → "He: N(0, 2/fan_in)"); the value itself where the
 * catalogue has no label for it. */
export function choiceLabel(name, value) {
  const key = `choice.${name}.${value}`;
  const text = t(key);
  return text === key ? String(value) : text;
}

async function fetchCatalogue(code) {
  const r = await fetch(`/api/locales/${code}`, { headers: { Accept: 'application/json' } });
  if (!r.ok) throw new Error(`/api/locales/${code}: HTTP ${r.status}`);
  return (await r.json()).messages;
}

let loading = null;          // the promise of the last loadLang

/** Load the catalogues for `code` (English always, as the fallback for a missing message). */
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
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : lang;
  return lang;
}

const ATTRS = ['title', 'aria-label', 'placeholder'];

/** Fill every marked text and attribute under `root` from the catalogue of the page language. */
export function applyKeys(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const attr of ATTRS) {
    for (const el of root.querySelectorAll(`[data-i18n-${attr}]`)) {
      el.setAttribute(attr, t(el.getAttribute(`data-i18n-${attr}`)));
    }
  }
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
