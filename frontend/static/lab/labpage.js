// What the pages of the labs on the shared socket shell (the agent and painting labs) do alike:
// options and values of their settings, the banner, a server sentence naming a setting as the
// page labels it, the settings that fold away on a phone, a rate measured over recent frames,
// and the socket's messages handed to one function per type.

import { currentLang } from "../js/i18n.js";

const $ = (id) => document.getElementById(id);

export function option(value, label = String(value)) {
  const o = document.createElement("option");
  o.value = String(value);
  o.textContent = label;
  return o;
}

/** Show `value` in the control `id`; a select gets the value as an option when it lacks it. */
export function setValue(id, value, label = (v) => String(v)) {
  const el = $(id);
  if (el.tagName === "SELECT" && ![...el.options].some((o) => o.value === String(value))) {
    el.append(option(value, label(value)));
  }
  el.value = String(value);
}

/** The alert under the settings: a warning, or an error until a change goes through. */
export class Banner {
  constructor(el, textEl) {
    this.el = el;
    this.textEl = textEl;
    this.errorShown = false;
  }

  show(text, error = false) {
    this.el.hidden = !text;
    this.textEl.textContent = text || "";
    this.errorShown = Boolean(text) && error;
  }
}

/** `named(text)`: a server sentence that starts with one of `settings` ("gamma: …"), with the
 * key shown as the page labels it (the text of its field's label, before any value shown) and
 * the colon after it as the page's language writes one. */
export function namer(settings) {
  const labelOf = (key) => {
    const label = document.querySelector(`[data-param="${key}"] .field-label`);
    return label ? label.firstChild.textContent.trim() : key;
  };
  return (text) => text.replace(/^(\w+)(: |：)/, (whole, key) => (settings.includes(key) ? `${labelOf(key)}${currentLang() === "zh" ? "：" : ": "}` : whole));
}

/** The settings (`details`) fold away on a phone's screen, and open on a wider one. */
export function foldSettings(details) {
  const narrow = window.matchMedia("(max-width: 760px)");
  const fold = () => (details.open = !narrow.matches);
  fold();
  narrow.addEventListener("change", fold);
}

/** A count per second as the learner sees it: the count's growth over the frames of the last
 * `windowMs`; null until a quarter second has passed. */
export class RateMeter {
  constructor(windowMs = 2000) {
    this.windowMs = windowMs;
    this.samples = []; // [time, count]
  }

  reset() {
    this.samples = [];
  }

  measure(count) {
    const now = performance.now();
    const s = this.samples;
    if (s.length && count < s[s.length - 1][1]) s.length = 0;
    s.push([now, count]);
    while (s.length > 2 && now - s[0][0] > this.windowMs) s.shift();
    const [t0, c0] = s[0];
    return now - t0 > 250 ? ((count - c0) * 1000) / (now - t0) : null;
  }
}

/** One function per message type; other types are ignored. */
export function dispatcher(handlers) {
  return (msg) => {
    const handle = handlers[msg.type];
    if (handle) handle(msg);
  };
}
