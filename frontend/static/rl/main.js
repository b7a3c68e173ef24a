// The agent lab page (docs/rl-protocol.md): one app-state object, the socket, and the views it
// feeds. The server runs the world and the agent; the page draws each frame it sends.

import { wireHeader } from "../lab/header.js";
import { applyKeys, choiceLabel, currentLang, loadLang, t } from "../js/i18n.js";
import { Notices } from "../js/notices.js";
import { LineChart } from "../lab/charts.js";
import { fmtLoss } from "../lab/readout.js";
import { Banner, RateMeter, SettingsBar, dispatcher, namer, perFrame, option, setValue, showPlayState, startLab } from "../lab/labpage.js";
import { LabSocket } from "../lab/socket.js";
import { NetView, QBars, WorldView } from "./views.js";

const $ = (id) => document.getElementById(id);
// Sensible values for each numeric setting; a link's value outside these is added as it comes.
const CHOICES = {
  window: [0, 1, 2, 3, 4],
  items: [0, 5, 10, 20, 30, 50, 100],
  replay: [100, 1000, 5000, 10000, 30000, 100000],
  learningRate: [0.00001, 0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1],
  batchSize: [1, 8, 16, 32, 64, 128, 256],
  weightDecay: [0, 0.00001, 0.0001, 0.001, 0.01],
  gamma: [0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99],
  learnStart: [1, 100, 500, 1000, 5000, 10000],
  epsBurnin: [0, 1000, 3000, 10000, 30000, 100000],
  epsSteps: [1000, 10000, 30000, 100000, 200000, 1000000],
  epsMin: [0, 0.01, 0.05, 0.1, 0.2],
  epsTest: [0, 0.01, 0.05, 0.1, 0.2, 1],
};
const NAMED = ["activation", "optimizer"]; // choices from the settings table, with labels
const SELECTS = [...NAMED, ...Object.keys(CHOICES)];
const SETTINGS = ["layers", "activation", "window", "items", "replay", "optimizer", "learningRate",
  "batchSize", "weightDecay", "gamma", "learnStart", "epsBurnin", "epsSteps", "epsMin", "epsTest", "seed"];
const SHAPED = ["layers", "activation", "window"]; // the pretrained agent's network settings

await loadLang();
applyKeys();

const app = {
  state: "paused",
  config: null,
  pretrained: null,
  latest: null, // the last frame, drawn on the next animation frame
  watchAfterBuild: false, // "Watch the pretrained agent" plays once it is built
  curvePoints: 0,
  rate: new RateMeter(), // ticks a second over the frames of the last 2 s
};
const named = namer(SETTINGS);
const notice = new Banner($("banner"), $("banner-text"));
const banner = (text, error) => notice.show(text, error);
const bar = new SettingsBar({ named: NAMED, selects: SELECTS, settings: SETTINGS, send: change, banner: notice, label: numberLabel });
const socket = new LabSocket(dispatcher({ config: onConfig, frame: onFrame, state: onState, error: onError }), (text, open) => {
  $("conn").textContent = text;
  $("conn").dataset.status = open ? "open" : "connecting";
}, "/ws/rl");
const notices = new Notices($("notices"));
const showLatest = perFrame(render); // the latest frame, drawn once per animation frame
const views = {
  world: new WorldView($("world")),
  curve: new LineChart($("curve"), [{ name: "reward", color: "#0877bd" }], {
    label: t("rl.chart.reward"),
    xText: (n) => t(n === 1 ? "rl.chart.tick" : "rl.chart.ticks", { n: n.toLocaleString() }),
  }),
  net: new NetView($("net")),
  q: new QBars($("q-bars")),
};
views.curve.draw(); // axes and "no data yet" before a frame
views.net.draw();

function numberLabel(v) {
  return typeof v === "number" && v >= 1000 ? v.toLocaleString() : String(v);
}

function update(changes) {
  socket.send({ type: "update", changes });
}

/** A setting the learner changed. A new network shape cannot take the pretrained agent's
 * weights: it starts from scratch. */
function change(changes) {
  const shaped = Object.keys(changes).some((k) => SHAPED.includes(k));
  update(shaped && app.config && app.config.start === "pretrained" ? { ...changes, start: "scratch" } : changes);
}

async function loadChoices() {
  const body = await (await fetch("/api/rl/params")).json();
  for (const name of NAMED) {
    const p = body.params.find((q) => q.name === name);
    for (const c of p.choices) $(name).append(option(c, choiceLabel(name, c)));
  }
  for (const [key, values] of Object.entries(CHOICES)) for (const v of values) $(key).append(option(v, numberLabel(v)));
  app.pretrained = body.pretrained || null;
  $("pretrained").hidden = !app.pretrained;
}

function togglePlay() {
  socket.send({ type: app.state === "playing" ? "pause" : "play" });
}

function wireControls() {
  bar.wire();
  $("play").addEventListener("click", togglePlay);
  $("step").addEventListener("click", () => socket.send({ type: "step", n: 10 }));
  $("reset").addEventListener("click", () => socket.send({ type: "reset" }));
  $("speed").addEventListener("change", () => socket.send({ type: "speed", speed: $("speed").value }));
  $("learning").addEventListener("change", () => socket.send({ type: "learn", on: $("learning").checked }));
  $("pretrained").addEventListener("click", () => {
    const p = app.pretrained;
    if (!p) return;
    app.watchAfterBuild = true;
    update({ start: "pretrained", layers: p.layers, activation: p.activation, window: p.window });
  });
  $("scratch").addEventListener("click", () => update({ start: "scratch" }));
  wireHeader($("share"), togglePlay);
  window.addEventListener("resize", () => {
    views.world.schedule();
    views.net.schedule();
    views.curve.schedule();
  });
}

function clearCurve() {
  views.curve.clear();
  app.curvePoints = 0;
  $("curve").dataset.points = "0";
}

function onConfig(msg) {
  const c = (app.config = msg.config);
  for (const key of SETTINGS) setValue(key, c[key], numberLabel);
  bar.confirm(c);
  views.world.setWorld(msg.world);
  history.replaceState(null, "", `?${msg.query}${currentLang() === "en" ? "" : `&lang=${currentLang()}`}`);
  $("agent-note").textContent = t(c.start === "pretrained" ? "rl.note.pretrained" : "rl.note.scratch");
  if (msg.rebuilt) {
    clearCurve();
    app.rate.reset();
    banner((msg.warnings || []).map(named).join(currentLang() === "zh" ? "；" : "; "));
    if (app.watchAfterBuild && c.start === "pretrained") socket.send({ type: "play" });
    app.watchAfterBuild = false;
  } else if (notice.errorShown) {
    banner(""); // a change that went through: the last one's error is past
  }
  document.body.classList.remove("loading");
}

function onFrame(f) {
  f.rate = f.state === "playing" ? app.rate.measure(f.tick) : null;
  if (f.state !== "playing") app.rate.reset();
  for (const [tick, mean] of f.curve) views.curve.push(tick, { reward: mean });
  if (f.curve.length) {
    app.curvePoints += f.curve.length;
    $("curve").dataset.points = String(app.curvePoints);
  }
  views.world.set(f);
  views.net.set(f.layers, f.action);
  views.q.set(f.q, f.action);
  app.latest = f;
  showLatest();
}

function fixed(v, digits) {
  return v === null || v === undefined ? "—" : v.toFixed(digits);
}

/** The counters and the brain stats, from the latest frame, once per animation frame. */
function render() {
  const f = app.latest;
  const rate = f.rate === null ? null : Math.round(f.rate);
  $("ticks").textContent = f.tick.toLocaleString();
  $("rate").textContent = rate === null ? "" : t("rl.rate", { n: rate.toLocaleString() });
  $("m-reward").textContent = fixed(f.reward.mean, 3);
  $("m-epsilon").textContent = fixed(f.epsilon, 3);
  $("m-age").textContent = f.age.toLocaleString();
  $("m-replay").textContent = f.replay.toLocaleString();
  $("m-loss").textContent = fmtLoss(f.loss);
  $("m-apples").textContent = f.eaten.apples.toLocaleString();
  $("m-poison").textContent = f.eaten.poison.toLocaleString();
  $("m-rate").textContent = rate === null ? "—" : rate.toLocaleString();
  $("learning-state").textContent = t(f.learning ? "rl.state.learning" : "rl.state.notLearning");
  document.body.dataset.tick = String(f.tick);
  document.body.dataset.frames = String(Number(document.body.dataset.frames || 0) + 1);
}

function onState(msg) {
  app.state = msg.state;
  $("learning").checked = msg.learning;
  $("learning-state").textContent = t(msg.learning ? "rl.state.learning" : "rl.state.notLearning");
  $("speed").value = msg.speed;
  showPlayState(msg, notice);
}

function onError(msg) {
  app.watchAfterBuild = false;
  bar.showError(msg, app.config);
}

startLab(socket, notices, wireControls, loadChoices);
