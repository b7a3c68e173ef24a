// What the pages of the labs on the shared socket shell (the agent and painting labs) do alike:
// options and values of their settings, the banner, a server sentence naming a setting as the
// page labels it, the settings that fold away on a phone, a rate measured over recent frames,
// and the socket's messages handed to one function per type.

import { currentLang, languageSwitch, t } from "../js/i18n.js";

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

/** The play button and the page's state from a `state` message; a divergence in the banner. */
export function showPlayState(msg, banner) {
  const playing = msg.state === "playing";
  $("play").classList.toggle("playing", playing);
  $("play").setAttribute("aria-pressed", String(playing));
  document.body.dataset.state = msg.state;
  if (msg.state === "diverged") banner.show(msg.message, true);
}

/** A lab's settings bar: its selects (`named` ones send their text, the rest numbers), the
 * hidden-layers field (sent on change or Enter, once per value), the seed; a server error on a
 * setting shown by name, the settings opened to it, a select put back to the value in force
 * (a typed text stays, to fix). `send(changes)` sends an update. */
export class SettingsBar {
  constructor({ named, selects, settings, send, banner, label = (v) => String(v) }) {
    this.named = named;
    this.selects = selects;
    this.settings = settings;
    this.send = send;
    this.banner = banner;
    this.label = label;
    this.sentLayers = null;
    this.name = namer(settings);
  }

  wire() {
    for (const key of this.selects) {
      $(key).addEventListener("change", () => this.send({ [key]: this.named.includes(key) ? $(key).value : Number($(key).value) }));
    }
    const applyLayers = () => {
      const value = $("layers").value.replace(/\s+/g, "");
      if (value === this.sentLayers) return;
      this.sentLayers = value;
      this.send({ layers: value });
    };
    $("layers").addEventListener("change", applyLayers);
    $("layers").addEventListener("keydown", (e) => {
      if (e.key === "Enter") applyLayers();
    });
    $("seed").addEventListener("change", () => this.send({ seed: $("seed").value.trim() || "1" }));
  }

  /** A `config` arrived: its layers are the ones in force. */
  confirm(config) {
    this.sentLayers = config.layers;
    $("layers").removeAttribute("aria-invalid");
  }

  /** An `error` message; `config` is the one in force, `keep(field)` true for a control the
   * lab puts back itself. */
  showError(msg, config, keep = () => false) {
    const text = msg.message.replace(/^\w+(: |：)/, "");
    this.banner.show(msg.field ? this.name(`${msg.field}: ${text}`) : text, true);
    const field = msg.field && document.querySelector(`[data-param="${msg.field}"]`);
    if (field && $("settings").contains(field)) $("settings").open = true; // the field in sight
    if (msg.field === "layers") $("layers").setAttribute("aria-invalid", "true");
    if (config && this.selects.includes(msg.field) && !keep(msg.field)) setValue(msg.field, config[msg.field], this.label);
  }
}

/** `draw` run on the next animation frame, at most once per frame however often asked. */
export function perFrame(draw) {
  let pending = false;
  return () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      draw();
    });
  };
}

/** A lab page's start: the language switch, the settings fold, the controls wired (`wire`),
 * its choices loaded (`load`), then the socket started from the page's link. */
export async function startLab(socket, notices, wire, load) {
  $("conn").before(languageSwitch());
  foldSettings($("settings"));
  wire();
  await load();
  socket.startFromLink(() => notices.show(t("ui.reconnected"), "ok"));
}
