// The image lab page: one app-state object, the socket, and the views it feeds.

import { unpack } from "./arrays.js";
import { wireHeader } from "./header.js";
import { applyKeys, choiceLabel, currentLang, languageSwitch, loadLang, t } from "../js/i18n.js";
import { Notices } from "../js/notices.js";
import { applies } from "../js/state.js";
import { fileBase64 } from "../js/uploads.js";
import { LineChart } from "./charts.js";
import { ConvCalculator } from "./convcalc.js";
import { DrawPad } from "./draw.js";
import { LayerEditor } from "./editor.js";
import { paint } from "./images.js";
import { drawConfusion, drawFilters, drawMaps, drawPredictions } from "./inspect.js";
import { RaceView } from "./race.js";
import { fmtEpochs, fmtLoss } from "./readout.js";
import { LabSocket } from "./socket.js";

const $ = (id) => document.getElementById(id);
const STEPS = {
  learningRate: [0.00001, 0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3],
  momentum: [0, 0.5, 0.8, 0.9, 0.95, 0.99],
  batchSize: [1, 4, 8, 16, 20, 32, 64, 128, 256],
  weightDecay: [0, 0.00001, 0.0001, 0.001, 0.01, 0.1],
};
// A learning rate that suits each optimizer, set along with it (Adadelta wants about 1). A
// learner who picks an optimizer expects to see it train, not stall or blow up at the previous
// one's rate, so the rate comes along; a notice names it, and another can be picked at once.
const GOOD_LR = { sgd: 0.03, momentum: 0.01, nesterov: 0.01, adagrad: 0.01, adadelta: 1, rmsprop: 0.001, adam: 0.003 };

await loadLang(); // the views below write their first texts in the page's language
applyKeys();

const app = {
  state: "paused",
  config: null,
  layers: [],
  examples: null,
  example: 0,
  lastPreds: null,
  params: [], // the settings table (/api/lab/presets)
  trainSize: 0, // training examples: one epoch
  trained: 0, // examples trained on so far (the last frame's count)
  rateFor: null, // the optimizer whose learning rate was just set along with it
  classes: [..."0123456789"], // the data set's class names, in the page's language
};

const socket = new LabSocket(onMessage, (text, open) => {
  $("conn").textContent = text;
  $("conn").dataset.status = open ? "open" : "connecting";
});
const editor = new LayerEditor($("h-editor").closest("section"), (net) => update({ net }));
const curves = {
  loss: new LineChart($("loss-chart"), [
    { name: "train", color: "#5f6368" },
    { name: "val", color: "#f59322" },
    { name: "test", color: "#0877bd", dash: true },
  ], { label: t("lab.chart.loss") }),
  acc: new LineChart($("acc-chart"), [
    { name: "train", color: "#5f6368" },
    { name: "val", color: "#f59322" },
    { name: "test", color: "#0877bd", dash: true },
  ], { label: t("lab.chart.accuracy"), yRange: [0, 1] }),
};
const notices = new Notices($("notices"));
const pad = new DrawPad($("draw"), $("probs"), $("seen"), $("guess"), (m) => socket.send(m));
const race = new RaceView($("race-loss"), $("race-acc"), $("race-key"));
new ConvCalculator($("h-calc").closest("section"));

function update(changes) {
  socket.send({ type: "update", changes });
}

/** The catalogue's text for `key`, or the server's own text for a name the catalogue lacks. */
function known(key, fallback) {
  const text = t(key);
  return text === key ? fallback : text;
}

function option(value, label = String(value), disabled = false) {
  const o = document.createElement("option");
  o.value = String(value);
  o.textContent = label;
  o.disabled = disabled;
  return o;
}

function setSelect(id, value) {
  const sel = $(id);
  if (![...sel.options].some((o) => o.value === String(value))) sel.append(option(value));
  sel.value = String(value);
}

async function loadChoices() {
  const res = await fetch("/api/lab/presets");
  const body = await res.json();
  for (const d of body.data) {
    const name = known(`lab.data.${d.name}`, d.name);
    $("data").append(option(d.name, d.available ? name : t("lab.notInstalled", { name }), !d.available));
    $("data").lastChild.title = known(`lab.dataTitle.${d.name}`, d.title);
  }
  for (const p of body.presets) {
    $("preset").append(option(p.name, `${known(`lab.presetOf.${p.name}`, p.title)} · ${p.total_params.toLocaleString()}`));
    $("preset").lastChild.dataset.net = p.net;
  }
  app.params = body.params;
  const opt = body.params.find((p) => p.name === "optimizer");
  for (const o of opt.choices) $("optimizer").append(option(o, choiceLabel("optimizer", o)));
  const schedule = body.params.find((p) => p.name === "schedule");
  for (const o of schedule.choices) $("schedule").append(option(o, choiceLabel("schedule", o)));
  for (const o of ["off", "on"]) $("augment").append(option(o, t(`lab.augment.${o}`)));
  for (const [key, steps] of Object.entries(STEPS)) for (const v of steps) $(key).append(option(v));
}

function wireControls() {
  for (const key of ["data", "momentum", "batchSize", "weightDecay", "learningRate", "schedule", "augment"]) {
    $(key).addEventListener("change", () => {
      const raw = $(key).value;
      if (key === "data") {
        rebuilding(true); // making or reading a data set takes a moment: say so
        update({ data: raw, ...presetFor(raw) });
      }
      else update({ [key]: ["schedule", "augment"].includes(key) ? raw : Number(raw) });
    });
  }
  $("optimizer").addEventListener("change", () => {
    const name = $("optimizer").value;
    app.rateFor = name;
    update({ optimizer: name, learningRate: GOOD_LR[name] });
  });
  $("preset").addEventListener("change", () => {
    if ($("preset").value) update({ preset: $("preset").value });
  });
  $("seed").addEventListener("change", () => update({ seed: $("seed").value.trim() || "0" }));
  $("play").addEventListener("click", togglePlay);
  $("step").addEventListener("click", () => socket.send({ type: "step", n: 10 }));
  $("reset").addEventListener("click", () => {
    socket.send({ type: "reset" });
    curves.loss.clear();
    curves.acc.clear();
  });
  $("clear-draw").addEventListener("click", () => pad.clear());
  $("save-net").addEventListener("click", () => socket.send({ type: "save" }));
  $("load-net").addEventListener("click", () => keepOrReplace() && $("net-file").click());
  $("load-pretrained").addEventListener("click", () => keepOrReplace() && socket.send({ type: "load", pretrained: "shapes" }));
  $("net-file").addEventListener("change", () => {
    sendFile($("net-file").files[0], "load");
    $("net-file").value = "";
  });
  $("test-file").addEventListener("click", () => $("file").click());
  $("file").addEventListener("change", () => {
    testFile($("file").files[0]);
    $("file").value = ""; // the same file again is a new choice
  });
  const drawPanel = $("draw").closest("section");
  drawPanel.addEventListener("dragover", (e) => e.preventDefault());
  drawPanel.addEventListener("drop", (e) => {
    e.preventDefault();
    testFile(e.dataTransfer.files[0]);
  });
  // The script trains the experiment in the address bar as many whole epochs as this run has
  // (at least one).
  $("export").addEventListener("click", () => {
    const epochs = Math.max(1, app.trainSize ? Math.floor(app.trained / app.trainSize) : 0);
    $("export").href = `/api/lab/export?${new URLSearchParams({ url: location.search.slice(1), epochs })}`;
  });
  wireHeader($("share"), togglePlay);
  $("dream").addEventListener("click", () => {
    const unit = Number($("dream-unit").value);
    if ($("dream-unit").value.trim() === "" || !Number.isInteger(unit) || unit < 0) {  // said here, in words
      notices.show(t("lab.unitWhole", { field: t("lab.unitOrClass"), got: $("dream-unit").value }), "error");
      $("dream-unit").focus();
      return;
    }
    socket.send({ type: "dream", layer: Number($("dream-layer").value), unit });
    $("dream").textContent = t("lab.dreaming");
  });
  $("race").addEventListener("click", () => {
    const start = app.state !== "racing";
    if (start) race.clear();
    socket.send({ type: "race", action: start ? "start" : "stop" });
  });
}

/** A picture from the learner's computer, sent whole to be classified as a drawing is (the
 * server decodes it, makes it grey and ink-bright, centres it); too large is said here. */
function testFile(file) {
  sendFile(file, "predict_file");
}

/** `file` sent whole as a message of `type` (its bytes in base64); too large is said here. */
function sendFile(file, type) {
  if (!file) return;
  const limit = app.uploadLimit || Infinity;
  if (file.size > limit) {
    const mb = (n) => (n / 1e6).toLocaleString(undefined, { maximumFractionDigits: 1 });
    banner(t("lab.fileTooLarge", { size: mb(file.size), limit: mb(limit) }));
    return;
  }
  fileBase64(file).then((data) => socket.send({ type, name: file.name.slice(0, 200), data }),
    () => banner(t("ui.fileUnreadable")));
}

const COLOUR_DATA = ["shapes", "cifar10"];

/** The preset that comes along with a change of data when the net's input has the wrong number
 * of channels for it (a grey net would see colour pictures grey): ConvNetJS's own net for each. */
function presetFor(data) {
  const channels = Number((/^in\d+x\d+x(\d)/.exec(app.config?.net || "") || [])[1] || 0);
  const colour = COLOUR_DATA.includes(data);
  if (channels === 3 && !colour) return { preset: "convnetjs-mnist" };
  if (channels === 1 && colour) return { preset: "convnetjs-cifar10" };
  return {};
}

/** Whether to go on and replace a trained network by a loaded one: asked once it has trained. */
function keepOrReplace() {
  return !app.trained || window.confirm(t("lab.loadConfirm"));
}

function togglePlay() {
  socket.send({ type: app.state === "playing" ? "pause" : "play" });
}

/** Whether a new data set or net is being built (the panels show the old one meanwhile). */
function rebuilding(on) {
  document.body.classList.toggle("rebuilding", on);
  if (on) $("credit").textContent = t("lab.preparing");
}

function banner(text) {
  $("banner").hidden = !text;
  $("banner-text").textContent = text || "";
}

function onConfig(msg) {
  app.config = msg.config;
  const c = msg.config;
  editor.batchSize = c.batchSize;
  for (const key of ["data", "optimizer", "learningRate", "momentum", "batchSize", "weightDecay", "schedule", "augment"]) setSelect(key, c[key]);
  $("seed").value = c.seed;
  for (const p of app.params) {
    const field = document.querySelector(`.lab-trainbar [data-param="${p.name}"]`);
    if (field) field.hidden = !applies(p, c); // momentum, for the optimizers that use it
  }
  if (app.rateFor === c.optimizer && msg.changed?.includes("learningRate")) {
    const optimizer = choiceLabel("optimizer", c.optimizer);
    notices.show(t("lab.rateSet", { rate: c.learningRate, optimizer }), "info", 10000);
  }
  app.rateFor = null;
  const preset = [...$("preset").options].find((o) => o.dataset.net === c.net);
  $("preset").value = preset ? preset.value : "";
  history.replaceState(null, "", `?${msg.query}${currentLang() === "en" ? "" : `&lang=${currentLang()}`}`);
  if (!msg.summary) return; // a live change: weights kept, curves go on
  rebuilding(false);
  app.layers = msg.summary.layers;
  editor.setRunning(c.net, c.data, msg.summary);
  app.examples = unpack(msg.examples);
  app.classes = msg.classes.map((name, i) => known(`lab.class.${c.data}.${i}`, name));
  const drawable = app.examples.shape.length === 3; // grey digits, not colour pictures
  pad.setClasses(app.classes, drawable);
  $("h-draw").textContent = t(drawable ? "lab.drawDigit" : "lab.testPicture");
  $("clear-draw").hidden = !drawable;
  $("draw-keys").hidden = !drawable;
  $("guess").textContent = t(drawable ? "lab.drawHint" : "lab.drawColour");
  app.trainSize = msg.sizes.train;
  app.example = 0;
  curves.loss.clear();
  curves.acc.clear();
  $("credit").textContent = t("lab.credit", {
    credit: known(`lab.creditOf.${c.data}`, msg.credit),
    train: msg.sizes.train,
    val: msg.sizes.val,
    test: msg.sizes.test,
  });
  $("device").textContent = msg.device.toUpperCase();
  $("dream-layer").replaceChildren(
    ...app.layers.slice(1).filter((l) => ["conv", "res", "fc"].includes(l.kind)).map((l) => option(l.index, `${l.index}: ${l.layer}`)),
  );
  $("dream-layer").value = String(app.layers.length - 1);
  if (msg.warnings && msg.warnings.length) banner(msg.warnings.join("; "));
  else banner("");
  if (msg.notice) notices.show(msg.notice, "ok", 8000);
  document.body.classList.remove("loading");
}

function onFrame(f) {
  app.trained = f.examples;
  $("epoch").textContent = fmtEpochs(f.examples, app.trainSize);
  $("epoch").title = t("lab.chart.examples", { n: f.examples.toLocaleString() });
  $("rate").textContent = f.examples_per_s ? t("lab.rate", { n: Math.round(f.examples_per_s).toLocaleString() }) : "";
  $("m-train-loss").textContent = fmtLoss(f.train.loss);
  $("m-val-acc").textContent = f.val.acc == null ? "—" : `${(100 * f.val.acc).toFixed(1)}%`;
  $("m-test-acc").textContent = f.test.acc == null ? "—" : `${(100 * f.test.acc).toFixed(1)}%`;
  $("m-rate").textContent = f.examples_per_s ? Math.round(f.examples_per_s).toLocaleString() : "—";
  curves.loss.push(f.examples, { train: f.train.loss, val: f.val.loss, test: f.test.loss });
  curves.acc.push(f.examples, { train: f.train.acc, val: f.val.acc, test: f.test.acc });
  $("example-no").textContent = f.example;
  requestAnimationFrame(() => {
    drawMaps($("maps"), f.maps, app.layers);
    drawFilters($("filters"), f.filters, app.layers);
    if (app.examples) {
      drawPredictions($("preds"), app.examples, f.predictions, f.example, (i) => socket.send({ type: "select", example: i }), app.classes);
    }
    drawConfusion($("confusion"), f.confusion);
  });
  if (!pad.blank && !pad.inFlight) pad.ask(); // the prediction follows the training net
}

function onMessage(msg) {
  switch (msg.type) {
    case "hello":
      app.uploadLimit = msg.limits.max_upload_bytes;
      break;
    case "config":
      onConfig(msg);
      break;
    case "summary":
      editor.render(msg);
      break;
    case "frame":
      onFrame(msg);
      break;
    case "state":
      app.state = msg.state;
      $("play").classList.toggle("playing", msg.state === "playing");
      $("race").textContent = t(msg.state === "racing" ? "lab.stopRace" : "lab.startRace");
      if (msg.state === "diverged") banner(msg.message);
      break;
    case "network": {
      // A kept network: downloaded as a file of its own name.
      const bytes = Uint8Array.from(atob(msg.data), (c) => c.charCodeAt(0));
      const link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
      link.download = msg.name;
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
      break;
    }
    case "prediction":
      pad.show(msg);
      if (msg.file !== undefined) {
        const best = msg.probs.indexOf(Math.max(...msg.probs));
        $("guess").innerHTML = "";
        $("guess").textContent = t("lab.fileGuess", { name: msg.file, digit: app.classes[best], p: (100 * msg.probs[best]).toFixed(0) });
        banner("");
      }
      break;
    case "dream": {
      const img = unpack(msg.image); // [H, W], or [3, H, W] for a colour net
      const [h, w] = img.shape.slice(-2);
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of img.data) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      paint($("dream-out"), img.data, h, w, 0, { mode: img.shape.length === 3 ? "rgb" : "ink", lo, hi });
      $("dream").textContent = t("lab.dream");
      break;
    }
    case "race_frame":
      race.push(msg);
      $("rate").textContent = t("lab.raceRate", { n: Math.round(msg.examples_per_s).toLocaleString() });
      break;
    case "error": {
      // A setting's name (the link's key) leads its message; a file's or a drawing's message
      // says what it is about itself, in the page's language.
      const setting = app.params.some((p) => p.name === msg.field);
      banner(`${setting ? msg.field + ": " : ""}${msg.message.replace(/^\w+: /, "")}`);
      rebuilding(false);
      $("dream").textContent = t("lab.dream");
      if (msg.field === "pixels" || msg.field === "predict") pad.inFlight = false;
      break;
    }
    default:
      break;
  }
}

async function main() {
  $("conn").before(languageSwitch());
  if (currentLang() !== "en") document.querySelector(".nav-link").href = `/?lang=${currentLang()}`;
  wireControls();
  await loadChoices();
  // After a lost connection the server starts the experiment again from the link: say so.
  socket.startFromLink(() => notices.show(t("ui.reconnected"), "ok"));
}

main();
