// Controls built from the server's parameter table (/api/schema): one source of truth.
// Each parameter gets a widget chosen by its kind; a few kinds are drawn by the views that own
// them (features and layers in the network diagram, points by data editing, the seed by the
// run controls). Every widget sits in an element with data-param=<name>, so `_hide` and
// `only_when` work the same way for all of them.

import { applies } from './state.js';
import { t, choiceLabel, paramLabel, paramHelp } from './i18n.js';

// Drawn elsewhere, by the view that owns the concept.
const OWNED_ELSEWHERE = new Set(['networkShape', 'layerActivations', 'points', 'removed', 'seed', 'data']);
// Link-only switches for embedding pages: honoured from the URL, not offered as controls
// (hideText hides the very text a control would need; the page has one language so far).
const LINK_ONLY = new Set(['hideText', 'lang']);
const LIVE_THROTTLE_MS = 120;

const fmt = (p, v) => {
  if (typeof v !== 'number') return String(v);
  if (p.kind === 'int') return `${v}${p.unit || ''}`;
  return `${Number(v.toPrecision(3))}${p.unit || ''}`;
};

function throttle(fn, ms) {
  let last = 0;
  let timer = null;
  return (...args) => {
    const now = performance.now();
    clearTimeout(timer);
    if (now - last >= ms) {
      last = now;
      fn(...args);
    } else {
      timer = setTimeout(() => { last = performance.now(); fn(...args); }, ms - (now - last));
    }
  };
}

function field(p, inner, { inline = false } = {}) {
  const wrap = document.createElement('div');
  wrap.className = `field${inline ? ' field-inline' : ''}`;
  wrap.dataset.param = p.name;
  wrap.title = paramHelp(p.name);
  const label = document.createElement('label');
  label.className = 'field-label';
  label.textContent = paramLabel(p.name);
  label.htmlFor = `ctl-${p.name}`;
  if (inline) wrap.append(inner, label);
  else wrap.append(label, inner);
  return wrap;
}

function sliderStep(p) {
  if (p.kind === 'int') {
    const span = p.max - p.min;
    return span > 1000 ? 50 : 1;
  }
  return (p.max - p.min) <= 1 ? 0.01 : 0.05;
}

function makeSlider(p, onChange) {
  const box = document.createElement('div');
  box.className = 'slider';
  const input = document.createElement('input');
  input.type = 'range';
  input.id = `ctl-${p.name}`;
  input.min = p.min;
  input.max = p.max;
  input.step = sliderStep(p);
  const out = document.createElement('output');
  out.htmlFor = input.id;
  box.append(input, out);
  const value = () => (p.kind === 'int' ? parseInt(input.value, 10) : parseFloat(input.value));
  const send = p.effect === 'live' ? throttle((v) => onChange({ [p.name]: v }), LIVE_THROTTLE_MS) : null;
  input.addEventListener('input', () => {
    out.textContent = fmt(p, value());
    if (send) send(value());
  });
  input.addEventListener('change', () => {
    if (!send) onChange({ [p.name]: value() });
  });
  return {
    el: field(p, box),
    set(v) {
      if (document.activeElement === input && input.matches(':active')) return;
      input.value = v;
      out.textContent = fmt(p, v);
    },
  };
}

function makeSelect(p, onChange) {
  const select = document.createElement('select');
  select.id = `ctl-${p.name}`;
  const numeric = p.kind === 'float' || p.kind === 'int';
  const options = numeric ? p.steps.map(String) : p.choices;
  const fill = (extra) => {
    select.replaceChildren();
    const all = extra !== undefined && !options.includes(extra) ? [...options, extra] : options;
    const sorted = numeric ? [...all].sort((a, b) => Number(a) - Number(b)) : all;
    for (const o of sorted) {
      const opt = document.createElement('option');
      opt.value = o;
      opt.textContent = numeric ? fmt(p, Number(o)) : choiceLabel(p.name, o);
      select.append(opt);
    }
  };
  fill();
  select.addEventListener('change', () => {
    onChange({ [p.name]: numeric ? Number(select.value) : select.value });
  });
  return {
    el: field(p, select),
    set(v) {
      const s = String(v);
      if (![...select.options].some((o) => o.value === s)) fill(s);
      select.value = s;
    },
  };
}

function makeCheckbox(p, onChange) {
  const input = document.createElement('input');
  input.type = 'checkbox';
  input.id = `ctl-${p.name}`;
  input.addEventListener('change', () => onChange({ [p.name]: input.checked }));
  return { el: field(p, input, { inline: true }), set(v) { input.checked = !!v; } };
}

/** Dataset choices as a grid of labelled thumbnails (drawn later from /api/preview). */
function makeTiles(p, onChange, drawPreview) {
  const grid = document.createElement('div');
  grid.className = 'tiles';
  grid.setAttribute('role', 'radiogroup');
  grid.setAttribute('aria-label', paramLabel(p.name));
  const buttons = {};
  for (const choice of p.choices) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'tile';
    b.dataset.value = choice;
    b.setAttribute('role', 'radio');
    b.title = choiceLabel(p.name, choice);
    const c = document.createElement('canvas');
    c.width = c.height = 48;
    const span = document.createElement('span');
    span.textContent = t(`tile.${choice}`);
    b.append(c, span);
    b.addEventListener('click', () => onChange({ [p.name]: choice }));
    grid.append(b);
    buttons[choice] = b;
    drawPreview?.(p.name, choice, c);
  }
  // A radio group is one tab stop: the arrow keys move the choice (WAI-ARIA's radio pattern).
  grid.addEventListener('keydown', (ev) => {
    const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[ev.key];
    const i = p.choices.indexOf(ev.target.dataset?.value);
    if (i < 0 || (step === undefined && ev.key !== 'Home' && ev.key !== 'End')) return;
    ev.preventDefault();
    const n = p.choices.length;
    const next = ev.key === 'Home' ? 0 : ev.key === 'End' ? n - 1 : (i + step + n) % n;
    buttons[p.choices[next]].focus();
    onChange({ [p.name]: p.choices[next] });
  });
  const wrap = field(p, grid);
  wrap.classList.add('field-tiles');
  return {
    el: wrap,
    set(v) {
      const known = v in buttons;
      for (const [k, b] of Object.entries(buttons)) {
        b.classList.toggle('selected', k === v);
        b.setAttribute('aria-checked', k === v ? 'true' : 'false');
        b.tabIndex = k === v || (!known && k === p.choices[0]) ? 0 : -1;
      }
    },
  };
}

function makeWidget(p, onChange, drawPreview) {
  if (p.kind === 'choice' && p.group === 'data' && /dataset/i.test(p.name)) {
    return makeTiles(p, onChange, drawPreview);
  }
  if (p.kind === 'bool') return makeCheckbox(p, onChange);
  if (p.kind === 'choice') return makeSelect(p, onChange);
  if ((p.kind === 'float' || p.kind === 'int') && p.steps?.length) return makeSelect(p, onChange);
  if (p.kind === 'float' || p.kind === 'int') return makeSlider(p, onChange);
  return null;
}

/**
 * Build every control into `containers[group]`. Boolean features go to the network diagram,
 * so they are skipped here. Returns { sync() } to re-read values and visibility from state.
 */
export function buildControls(state, containers, onChange, { drawPreview } = {}) {
  const widgets = {};
  for (const p of state.schema) {
    if (OWNED_ELSEWHERE.has(p.name) || LINK_ONLY.has(p.name)) continue;
    if (p.group === 'features' && p.kind === 'bool') continue;
    const host = containers[p.group];
    if (!host) continue;
    const w = makeWidget(p, onChange, drawPreview);
    if (!w) continue;
    host.append(w.el);
    widgets[p.name] = w;
  }
  return {
    sync() {
      const cfg = state.config;
      if (!cfg) return;
      for (const [name, w] of Object.entries(widgets)) {
        w.set(cfg[name]);
        w.el.hidden = !applies(state.byName[name], cfg);
      }
      applyHidden(state.hidden);
    },
  };
}

/** Classroom mode: hide every element tagged with a hidden parameter or control name. */
export function applyHidden(hidden) {
  for (const el of document.querySelectorAll('[data-param], [data-control]')) {
    const name = el.dataset.param || el.dataset.control;
    el.classList.toggle('classroom-hidden', hidden.has(name));
  }
}
