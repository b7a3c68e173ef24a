// The painting lab page (docs/paint-protocol.md): one app-state object, the socket, and the
// views it feeds. The server trains the network and paints its picture; the page shows each
// frame it sends beside the original.

import { wireHeader } from "../lab/header.js";
import { applyKeys, choiceLabel, currentLang, loadLang, t } from "../js/i18n.js";
import { Notices } from "../js/notices.js";
import { LineChart } from "../lab/charts.js";
import { fmtLoss } from "../lab/readout.js";
import { Banner, RateMeter, SettingsBar, dispatcher, namer, perFrame, option, setValue, showPlayState, startLab } from "../lab/labpage.js";
import { LabSocket } from "../lab/socket.js";

const $ = (id) => document.getElementById(id);
// Sensible values for each numeric setting; a link's value outside these is added as it comes.
const CHOICES = {
  size: [32, 64, 100, 128, 200, 256],
  fourier: [0, 1, 2, 3, 4, 5, 6, 7, 8],
  batchSize: [1, 5, 10, 20, 50, 100, 200, 500, 1000],
  weightDecay: [0, 0.00001, 0.0001, 0.001, 0.01],
};
const NAMED = ["picture", "activation", "optimizer"]; // choices from the settings table
const SELECTS = [...NAMED, ...Object.keys(CHOICES)];
const SETTINGS = ["picture", "size", "layers", "activation", "fourier", "optimizer", "learningRate",
  "batchSize", "weightDecay", "seed"];
const STEP_UPDATES = 100; // what the step button trains

await loadLang();
applyKeys();

const app = {
  state: "paused",
  config: null,
  limits: null,
  latest: null, // the last frame, shown on the next animation frame
  own: false, // the learner's own picture is being painted
  sentRate: null, // a learning rate sent and not yet confirmed: the slider keeps its place
  rate: new RateMeter(), // pixels a second over the frames of the last 2 s
};
const named = namer(SETTINGS);
const notice = new Banner($("banner"), $("banner-text"));
const banner = (text, error) => notice.show(text, error);
const bar = new SettingsBar({ named: NAMED, selects: SELECTS, settings: SETTINGS, send: update, banner: notice });
const socket = new LabSocket(dispatcher({ config: onConfig, frame: onFrame, state: onState, error: onError }), (text, open) => {
  $("conn").textContent = text;
  $("conn").dataset.status = open ? "open" : "connecting";
}, "/ws/paint");
const notices = new Notices($("notices"));
const showLatest = perFrame(render); // the latest frame, drawn once per animation frame
const curve = new LineChart($("curve"), [{ name: "psnr", color: "#0877bd" }], {
  label: t("paint.chart.psnr"),
  xText: (n) => t(n === 1 ? "paint.chart.update" : "paint.chart.updates", { n: n.toLocaleString() }),
});
curve.draw(); // axes and "no data yet" before a frame

/** The learning rate as the slider holds it (log10) and as it is read. */
function setRate(rate) {
  $("learningRate").value = String(Math.log10(rate));
  $("lr-value").textContent = fmtRate(rate);
}

function fmtRate(rate) {
  return rate >= 0.001 ? String(Number(rate.toPrecision(2))) : rate.toExponential(1);
}

function sliderRate() {
  return Number((10 ** Number($("learningRate").value)).toPrecision(2));
}

function update(changes) {
  socket.send({ type: "update", changes });
}

async function loadChoices() {
  const body = await (await fetch("/api/paint/params")).json();
  for (const name of NAMED) {
    const p = body.params.find((q) => q.name === name);
    for (const c of p.choices) {
      $(name).append(option(c, name === "picture" ? t(`paint.picture.${c}`) : choiceLabel(name, c)));
    }
  }
  for (const [key, values] of Object.entries(CHOICES)) {
    for (const v of values) $(key).append(option(v, key === "fourier" && v === 0 ? t("paint.fourierNone") : String(v)));
  }
  app.limits = body.limits;
}

/** While the learner's own picture is painted, the picture menu says so (an entry that cannot
 * be chosen), so that choosing any gallery picture is a change. */
function showOwn(name) {
  const select = $("picture");
  select.querySelector("option[data-own]")?.remove();
  if (name === null) {
    select.value = app.config.picture;
    return;
  }
  const entry = option("", t("paint.ownOption", { name: name || "…" }));
  entry.dataset.own = "";
  entry.disabled = true;
  select.prepend(entry);
  select.value = "";
}

function togglePlay() {
  socket.send({ type: app.state === "playing" ? "pause" : "play" });
}

/** A learner's picture: checked for size here (the server checks again), then sent whole. */
function sendFile(file) {
  if (!file) return;
  const limit = app.limits ? app.limits.max_upload_bytes : Infinity;
  if (file.size > limit) {
    const mb = (n) => (n / 1e6).toLocaleString(undefined, { maximumFractionDigits: 1 });
    banner(named(`picture: ${t("paint.tooLarge", { size: mb(file.size), limit: mb(limit) })}`), true);
    return;
  }
  const reader = new FileReader();
  reader.onload = () => {
    const text = String(reader.result);
    notices.show(t("paint.uploading", { name: file.name }), "ok");
    socket.send({ type: "picture", name: file.name.slice(0, 200), data: text.slice(text.indexOf(",") + 1) });
  };
  reader.onerror = () => banner(t("paint.unreadable"), true);
  reader.readAsDataURL(file);
}

function wireDrop() {
  const veil = $("drop-veil");
  let depth = 0;
  const files = (e) => e.dataTransfer && [...e.dataTransfer.types].includes("Files");
  document.addEventListener("dragenter", (e) => {
    if (!files(e)) return;
    depth += 1;
    veil.hidden = false;
  });
  document.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (!depth) veil.hidden = true;
  });
  document.addEventListener("dragover", (e) => {
    if (files(e)) e.preventDefault(); // a drop anywhere on the page is the picture's
  });
  document.addEventListener("drop", (e) => {
    if (!files(e)) return;
    e.preventDefault();
    depth = 0;
    veil.hidden = true;
    sendFile(e.dataTransfer.files[0]);
  });
}

function wireControls() {
  bar.wire();
  $("learningRate").addEventListener("input", () => ($("lr-value").textContent = fmtRate(sliderRate())));
  $("learningRate").addEventListener("change", () => {
    app.sentRate = sliderRate();
    update({ learningRate: app.sentRate });
  });
  $("play").addEventListener("click", togglePlay);
  $("step").addEventListener("click", () => socket.send({ type: "step", n: STEP_UPDATES }));
  $("reset").addEventListener("click", () => socket.send({ type: "reset" }));
  $("upload").addEventListener("click", () => $("file").click());
  $("file").addEventListener("change", () => {
    sendFile($("file").files[0]);
    $("file").value = ""; // the same file again is a new choice
  });
  wireDrop();
  wireHeader($("share"), togglePlay);
  window.addEventListener("resize", () => curve.schedule());
}

function onConfig(msg) {
  const c = (app.config = msg.config);
  const own = msg.rebuilt ? msg.picture.source === "own" : app.own;
  for (const key of SETTINGS) if (key !== "learningRate" && !(key === "picture" && own)) setValue(key, c[key]);
  // Keys held on the slider send a rate per step: a config answering an earlier one must not
  // pull the slider back under the learner's finger.
  if (app.sentRate === null || app.sentRate === c.learningRate) {
    setRate(c.learningRate);
    app.sentRate = null;
  }
  bar.confirm(c);
  history.replaceState(null, "", `?${msg.query}${currentLang() === "en" ? "" : `&lang=${currentLang()}`}`);
  if (msg.rebuilt) {
    const p = msg.picture;
    $("original").src = p.image;
    $("picture-size").textContent = t("paint.pixels", { width: p.width, height: p.height });
    $("m-baseline").textContent = t("paint.db", { n: p.baseline_psnr.toFixed(1) });
    $("own-note").hidden = p.source !== "own";
    $("drop").dataset.source = p.source;
    app.own = own;
    showOwn(own ? p.name : null);
    curve.clear();
    $("curve").dataset.points = "0";
    app.rate.reset();
    banner((msg.warnings || []).map(named).join(currentLang() === "zh" ? "；" : "; "));
  } else if (notice.errorShown) {
    banner(""); // a change that went through: the last one's error is past
  }
  document.body.classList.remove("loading");
}

function onFrame(f) {
  f.rate = f.state === "playing" ? app.rate.measure(f.pixels) : null;
  if (f.state !== "playing") app.rate.reset();
  curve.push(f.updates, { psnr: f.psnr });
  $("curve").dataset.points = String(Number($("curve").dataset.points || 0) + 1);
  app.latest = f;
  showLatest();
}

/** The picture and the numbers of the latest frame, once per animation frame. */
function render() {
  const f = app.latest;
  const rate = f.rate === null ? null : Math.round(f.rate);
  $("painted").src = f.image;
  $("updates").textContent = f.updates.toLocaleString();
  $("rate").textContent = rate === null ? "" : t("paint.rate", { n: rate.toLocaleString() });
  $("m-psnr").textContent = t("paint.db", { n: f.psnr.toFixed(1) });
  $("m-loss").textContent = fmtLoss(f.loss);
  $("m-pixels").textContent = f.pixels.toLocaleString();
  $("m-rate").textContent = rate === null ? "—" : rate.toLocaleString();
  document.body.dataset.updates = String(f.updates);
  document.body.dataset.psnr = String(f.psnr);
  document.body.dataset.frames = String(Number(document.body.dataset.frames || 0) + 1);
}

function onState(msg) {
  app.state = msg.state;
  showPlayState(msg, notice);
}

function onError(msg) {
  // Your own picture stays chosen; the slider is put back apart (it is not a select).
  bar.showError(msg, app.config, (field) => field === "picture" && app.own);
  if (app.config && msg.field === "learningRate") {
    app.sentRate = null;
    setRate(app.config.learningRate);
  }
}

startLab(socket, notices, wireControls, loadChoices);
