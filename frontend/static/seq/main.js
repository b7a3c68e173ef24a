// The sequence lab page: one app-state object, the socket, and the views it feeds.

import { wireHeader } from "../lab/header.js";
import { applyKeys, choiceLabel, currentLang, languageSwitch, loadLang, t } from "../js/i18n.js";
import { Notices } from "../js/notices.js";
import { applies } from "../js/state.js";
import { LineChart } from "../lab/charts.js";
import { fmtLoss } from "../lab/readout.js";
import { LabSocket } from "../lab/socket.js";
import { Heatmap, StepChart } from "./views.js";

const $ = (id) => document.getElementById(id);
const CHOICES = {
  noise: [0, 0.05, 0.1, 0.2, 0.5, 1],
  hidden: [4, 8, 16, 32, 64, 128, 256],
  layers: [1, 2, 3, 4],
  learningRate: [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1],
  clip: [0, 0.1, 0.5, 1, 5, 10, 100],
  batchSize: [1, 8, 16, 32, 64, 128, 256],
};
const NUMBERS = new Set(["length", ...Object.keys(CHOICES)]);
const RNN = "#f59322";
const LSTM = "#0877bd";

await loadLang();
applyKeys();

const app = { state: "paused", config: null, params: [], findings: null };
const socket = new LabSocket(onMessage, (text, open) => {
  $("conn").textContent = text;
  $("conn").dataset.status = open ? "open" : "connecting";
}, "/ws/seq");
const notices = new Notices($("notices"));
const pair = () => [{ name: "train", color: "#5f6368" }, { name: "test", color: "#0877bd", dash: true }];
const views = {
  loss: new LineChart($("loss-chart"), pair(), { label: t("lab.chart.loss"), log: true }),
  acc: new LineChart($("acc-chart"), pair(), { label: t("lab.chart.accuracy"), yRange: [0, 1] }),
  hidden: new Heatmap($("hidden-map")),
  grad: new StepChart($("grad-chart"), [{ name: "grad", color: "#3c4043" }], { log: true }),
  gates: new StepChart($("gates-chart"), [
    { name: "input", color: "#0877bd" },
    { name: "forget", color: "#f59322" },
    { name: "output", color: "#5f6368", dash: true },
  ]),
  compareAcc: new LineChart($("compare-acc"), [{ name: "rnn", color: RNN }, { name: "lstm", color: LSTM }],
    { label: t("seq.chart.testAcc"), yRange: [0, 1] }),
  compareGrad: new StepChart($("compare-grad"), [{ name: "rnn", color: RNN }, { name: "lstm", color: LSTM }], { log: true }),
};

for (const view of Object.values(views)) view.draw(); // axes and "no data yet" before a frame

function option(value, label = String(value)) {
  const o = document.createElement("option");
  o.value = String(value);
  o.textContent = label;
  return o;
}

function setValue(id, value) {
  const el = $(id);
  if (el.tagName === "SELECT" && ![...el.options].some((o) => o.value === String(value))) el.append(option(value));
  el.value = String(value);
}

function update(changes) {
  socket.send({ type: "update", changes });
}

function banner(text) {
  $("banner").hidden = !text;
  $("banner-text").textContent = text || "";
}

async function loadChoices() {
  const body = await (await fetch("/api/seq/params")).json();
  app.params = body.params;
  app.findings = body.findings;
  for (const name of ["task", "cell", "optimizer"]) {
    const p = body.params.find((q) => q.name === name);
    for (const c of p.choices) $(name).append(option(c, name === "optimizer" ? choiceLabel("optimizer", c) : t(`seq.${name}.${c}`)));
  }
  for (const [key, values] of Object.entries(CHOICES)) for (const v of values) $(key).append(option(v, key === "clip" && v === 0 ? t("seq.clipOff") : String(v)));
  const f = app.findings;
  const count = f.seeds.length;
  const rows = f.rows.map((r) => t("seq.lesson.row", { ...r, count })).join("; ");
  const values = { steps: f.steps.toLocaleString(), seeds: f.seeds.join(", "), rows, from: f.n_from, upto: f.n_upto };
  const beyond = f.n_from !== null && f.rows.some((r) => r.n > f.n_upto && r.lstm < count);
  $("lesson").textContent = t(f.n_from === null ? "seq.lesson.none" : "seq.lesson", values)
    + (beyond ? ` ${t("seq.lesson.beyond", values)}` : "");
}

function wireControls() {
  for (const key of ["task", "cell", "noise", "hidden", "layers", "optimizer", "learningRate", "clip", "batchSize"]) {
    $(key).addEventListener("change", () => update({ [key]: NUMBERS.has(key) ? Number($(key).value) : $(key).value }));
  }
  $("length").addEventListener("input", () => ($("length-out").textContent = $("length").value));
  $("length").addEventListener("change", () => update({ length: Number($("length").value) }));
  $("seed").addEventListener("change", () => update({ seed: $("seed").value.trim() || "1" }));
  $("play").addEventListener("click", togglePlay);
  $("step").addEventListener("click", () => socket.send({ type: "step", n: 10 }));
  $("reset").addEventListener("click", () => {
    socket.send({ type: "reset" });
    views.loss.clear();
    views.acc.clear();
  });
  $("compare").addEventListener("click", () => {
    const start = app.state !== "comparing";
    if (start) views.compareAcc.clear();
    socket.send({ type: "compare", action: start ? "start" : "stop" });
  });
  wireHeader($("share"), togglePlay);
}

function togglePlay() {
  socket.send({ type: app.state === "playing" ? "pause" : "play" });
}

function onConfig(msg) {
  const c = (app.config = msg.config);
  for (const key of ["task", "cell", "length", "noise", "hidden", "layers", "optimizer", "learningRate", "clip", "batchSize", "seed"]) setValue(key, c[key]);
  $("length-out").textContent = c.length;
  for (const p of app.params) {
    const field = document.querySelector(`.seq-trainbar [data-param="${p.name}"]`);
    if (field) field.hidden = !applies(p, c); // noise, for the sine wave only
  }
  $("task-about").textContent = t(`seq.about.${c.task}`, { n: c.length });
  $("gates-note").textContent = t(c.cell === "lstm" ? "seq.gatesHint" : "seq.gatesNone");
  history.replaceState(null, "", `?${msg.query}${currentLang() === "en" ? "" : `&lang=${currentLang()}`}`);
  if (msg.rebuilt) {
    views.loss.clear();
    views.acc.clear();
    views.gates.clear();
    banner(msg.warnings && msg.warnings.length ? msg.warnings.join("; ") : "");
  }
  document.body.classList.remove("loading");
}

function fmtAcc(v) {
  return v == null ? "—" : `${(100 * v).toFixed(1)}%`;
}

function ratioText(grad) {
  const first = grad[0];
  const last = grad[grad.length - 1];
  if (!(first > 0) || !(last > 0)) return "";
  return t("seq.gradRatio", { ratio: (first / last).toExponential(1) });
}

function onFrame(f) {
  $("steps").textContent = f.steps.toLocaleString();
  $("rate").textContent = f.examples_per_s ? t("lab.rate", { n: Math.round(f.examples_per_s).toLocaleString() }) : "";
  $("m-train-loss").textContent = fmtLoss(f.train.loss);
  $("m-test-acc").textContent = fmtAcc(f.test.acc);
  $("m-grad").textContent = f.grad_norm == null ? "—" : f.grad_norm.toPrecision(3);
  $("m-rate").textContent = f.examples_per_s ? Math.round(f.examples_per_s).toLocaleString() : "—";
  views.loss.push(f.examples, { train: f.train.loss, test: f.test.loss });
  views.acc.push(f.examples, { train: f.train.acc, test: f.test.acc });
  views.hidden.set(f.hidden);
  views.grad.set({ grad: f.grad });
  $("grad-ratio").textContent = ratioText(f.grad);
  views.gates.set(f.gates ? { input: f.gates.subarray(0, f.grad.length), forget: f.gates.subarray(f.grad.length, 2 * f.grad.length), output: f.gates.subarray(2 * f.grad.length) } : {});
  document.body.dataset.frames = String(Number(document.body.dataset.frames || 0) + 1);
}

function onCompareFrame(m) {
  const { rnn, lstm } = m.runs;
  views.compareAcc.push(rnn.examples, { rnn: rnn.test.acc, lstm: lstm.test.acc });
  views.compareGrad.set({ rnn: rnn.grad, lstm: lstm.grad });
  $("rate").textContent = t("lab.rate", { n: Math.round(m.examples_per_s).toLocaleString() });
  $("compare").dataset.acc = `${rnn.test.acc} ${lstm.test.acc}`;
}

function onMessage(msg) {
  switch (msg.type) {
    case "config":
      onConfig(msg);
      break;
    case "frame":
      onFrame(msg);
      break;
    case "compare_frame":
      onCompareFrame(msg);
      break;
    case "state":
      app.state = msg.state;
      $("play").classList.toggle("playing", msg.state === "playing");
      $("compare").textContent = t(msg.state === "comparing" ? "seq.compareStop" : "seq.compareStart");
      if (msg.state === "diverged") banner(msg.message);
      break;
    case "error":
      banner(`${msg.field ? msg.field + ": " : ""}${msg.message.replace(/^\w+: /, "")}`);
      break;
    default:
      break;
  }
}

async function main() {
  $("conn").before(languageSwitch());
  wireControls();
  await loadChoices();
  socket.startFromLink(() => notices.show(t("ui.reconnected"), "ok"));
}

main();
