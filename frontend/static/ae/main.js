// The autoencoder lab page (docs/ae-protocol.md): one app-state object, the socket, and the
// views it feeds. The server trains the autoencoder; the page draws the code plane, the
// digits and the curves from each frame, and asks the decoder for any point clicked.

import { wireHeader } from "../lab/header.js";
import { applyKeys, choiceLabel, currentLang, loadLang, t } from "../js/i18n.js";
import { Notices } from "../js/notices.js";
import { LineChart } from "../lab/charts.js";
import { Banner, RateMeter, SettingsBar, dispatcher, namer, perFrame, option, setValue, showPlayState, startLab } from "../lab/labpage.js";
import { fmtLoss } from "../lab/readout.js";
import { LabSocket } from "../lab/socket.js";
import { AENetView, PlaneView, drawDigit } from "./views.js";

const $ = (id) => document.getElementById(id);
const CHOICES = {
  learningRate: [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1],
  batchSize: [1, 10, 20, 50, 100, 200, 500],
  weightDecay: [0, 0.00001, 0.0001, 0.001, 0.01],
};
const NAMED = ["data", "activation", "optimizer"];
const SELECTS = [...NAMED, ...Object.keys(CHOICES)];
const SETTINGS = ["data", "layers", "activation", "optimizer", "learningRate", "batchSize", "weightDecay", "seed"];
const STEP_UPDATES = 100;
const CLASS_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#505050", "#bcbd22", "#17becf"];

await loadLang();
applyKeys();

const app = { state: "paused", config: null, digits: null, latest: null, rate: new RateMeter() };
const named = namer(SETTINGS);
const notice = new Banner($("banner"), $("banner-text"));
const banner = (text, error) => notice.show(text, error);
const bar = new SettingsBar({ named: NAMED, selects: SELECTS, settings: SETTINGS, send: update, banner: notice });
const socket = new LabSocket(dispatcher({ config: onConfig, frame: onFrame, state: onState, error: onError, decoded: onDecoded }), (text, open) => {
  $("conn").textContent = text;
  $("conn").dataset.status = open ? "open" : "connecting";
}, "/ws/ae");
const notices = new Notices($("notices"));
const showLatest = perFrame(render); // the latest frame, drawn once per animation frame
const views = {
  plane: new PlaneView($("plane"), (x, y) => socket.send({ type: "decode", x, y })),
  curve: new LineChart($("curve"), [{ name: "loss", color: "#f59322" }, { name: "test", color: "#0877bd" }], {
    label: t("ae.chart.error"),
    log: true,
    xText: (n) => t(n === 1 ? "paint.chart.update" : "paint.chart.updates", { n: n.toLocaleString() }),
  }),
  net: new AENetView($("net")),
};
views.plane.draw();
views.curve.draw();
views.net.draw();

function update(changes) {
  socket.send({ type: "update", changes });
}

async function loadChoices() {
  const body = await (await fetch("/api/ae/params")).json();
  for (const name of NAMED) {
    const p = body.params.find((q) => q.name === name);
    for (const c of p.choices) {
      if (name === "data" && !body.data[c]) continue; // not on this server (mnist is optional)
      $(name).append(option(c, name === "data" ? t(`ae.data.${c}`) : choiceLabel(name, c)));
    }
  }
  for (const [key, values] of Object.entries(CHOICES)) for (const v of values) $(key).append(option(v));
  $("legend").replaceChildren(...CLASS_COLOURS.map((colour, k) => {
    const li = document.createElement("li");
    const swatch = document.createElement("i");
    swatch.style.background = colour;
    li.append(swatch, String(k));
    return li;
  }));
}

function togglePlay() {
  socket.send({ type: app.state === "playing" ? "pause" : "play" });
}

function select(step) {
  if (!app.digits || !app.latest) return;
  const n = app.digits.count;
  socket.send({ type: "select", index: (app.latest.selected + step + n) % n });
}

function wireControls() {
  bar.wire();
  $("play").addEventListener("click", togglePlay);
  $("step").addEventListener("click", () => socket.send({ type: "step", n: STEP_UPDATES }));
  $("reset").addEventListener("click", () => socket.send({ type: "reset" }));
  $("prev").addEventListener("click", () => select(-1));
  $("next").addEventListener("click", () => select(1));
  wireHeader($("share"), togglePlay);
  window.addEventListener("resize", () => {
    views.plane.schedule();
    views.curve.schedule();
    views.net.schedule();
  });
}

/** The selected digit as the network gets it, cut from the sprite's alpha (its ink). */
function drawInput(index) {
  const d = app.digits;
  if (!d || !d.image.complete) return;
  const side = d.side;
  const scratch = document.createElement("canvas");
  scratch.width = scratch.height = side;
  const ctx = scratch.getContext("2d");
  ctx.drawImage(d.image, (index % d.columns) * side, Math.floor(index / d.columns) * side, side, side, 0, 0, side, side);
  const rgba = ctx.getImageData(0, 0, side, side).data;
  drawDigit($("input"), Array.from({ length: side * side }, (_, k) => rgba[4 * k + 3]), side);
}

function onConfig(msg) {
  const c = (app.config = msg.config);
  for (const key of SETTINGS) setValue(key, c[key]);
  bar.confirm(c);
  history.replaceState(null, "", `?${msg.query}${currentLang() === "en" ? "" : `&lang=${currentLang()}`}`);
  if (msg.rebuilt) {
    const image = new Image();
    image.src = msg.digits.sprite;
    app.digits = { ...msg.digits, image };
    image.onload = () => app.latest && drawInput(app.latest.selected);
    views.plane.setDigits(msg.digits);
    views.net.code = c.layers ? c.layers.split(",").length : 0;
    $("m-mean").textContent = fmtLoss(msg.digits.mean_error);
    views.curve.clear();
    $("curve").dataset.points = "0";
    drawDigit($("decoded"), null, 1);
    $("probe-at").textContent = "";
    app.rate.reset();
    banner((msg.warnings || []).map(named).join(currentLang() === "zh" ? "；" : "; "));
  } else if (notice.errorShown) {
    banner("");
  }
  document.body.classList.remove("loading");
}

function onFrame(f) {
  f.rate = f.state === "playing" ? app.rate.measure(f.updates * app.config.batchSize) : null;
  if (f.state !== "playing") app.rate.reset();
  views.curve.push(f.updates, { loss: f.loss, test: f.test_error });
  $("curve").dataset.points = String(Number($("curve").dataset.points || 0) + 1);
  views.plane.set(f.codes, f.selected);
  views.net.set(f.layers, null);
  app.latest = f;
  showLatest();
}

function render() {
  const f = app.latest;
  const d = app.digits;
  const rate = f.rate === null ? null : Math.round(f.rate);
  $("updates").textContent = f.updates.toLocaleString();
  $("rate").textContent = rate === null ? "" : t("ae.rate", { n: rate.toLocaleString() });
  $("m-loss").textContent = fmtLoss(f.loss);
  $("m-test").textContent = fmtLoss(f.test_error);
  $("m-rate").textContent = rate === null ? "—" : rate.toLocaleString();
  drawInput(f.selected);
  drawDigit($("output"), f.reconstruction, d.side);
  if (f.probe) showDecoded(f.probe);
  $("digit-note").textContent = t("ae.digitNote", { k: f.selected + 1, n: d.count, label: d.labels[f.selected] });
  document.body.dataset.updates = String(f.updates);
  document.body.dataset.selected = String(f.selected);
  document.body.dataset.frames = String(Number(document.body.dataset.frames || 0) + 1);
}

function onDecoded(msg) {
  showDecoded(msg);
  document.body.dataset.decoded = String(Number(document.body.dataset.decoded || 0) + 1);
}

/** The decoder's picture at the probe point: answered to a click, then in every frame. */
function showDecoded(msg) {
  drawDigit($("decoded"), msg.image, app.digits.side);
  $("probe-at").textContent = `(${msg.x.toFixed(2)}, ${msg.y.toFixed(2)})`;
}

function onState(msg) {
  app.state = msg.state;
  showPlayState(msg, notice);
}

function onError(msg) {
  bar.showError(msg, app.config);
}

startLab(socket, notices, wireControls, loadChoices);
