// Boot and wiring: schema → controls, link → session, socket messages → app state → views.
// Drawing happens on requestAnimationFrame, at most once per display frame, whatever the
// socket delivers; views redraw only what a message made dirty.

import { createState, applies } from './state.js';
import { Connection, PROTOCOL_VERSION } from './protocol.js';
import { buildControls, applyHidden } from './controls.js';
import { MapView, outputGrid, knnGrid } from './boundary.js';
import { DecimatedSeries, LineChart } from './losschart.js';
import { NetworkView } from './network.js';
import { ParamEditor } from './paramedit.js';
import { t, langReady } from './i18n.js';
import { RunControls, DEFAULT_SPEED } from './runcontrols.js';
import { DataEditor } from './dataedit.js';
import { linkText, hiddenFromLink, writeAddressBar, copyLink } from './urlstate.js';
import { drawPreview } from './preview.js';
import { Notices } from './notices.js';
import { SweepPanel } from './sweeppanel.js';
import { lessonPause } from './lessons.js';
import { dataCsv, layerTensors, safetensors, save } from './downloads.js';
import { base64Size, fileBase64 } from './uploads.js';
import { OwnData } from './owndata.js';
import { Scrubber } from './scrubber.js';
import { shortcutAllowed } from './keys.js';
import { LivePanel, RoomBar, readOnly, watchedRoom } from './rooms.js';

const $ = (id) => document.getElementById(id);
const state = createState();
const notices = new Notices($('notices'));
const series = new DecimatedSeries(['train_loss', 'test_loss', 'train_acc', 'test_acc']);
const dirty = { output: false, network: false, charts: false, controls: false, rebuild: false };
let conn = null;
let controls = null;
let sessions = 0;        // hellos seen: a second one means the server came back
let lastEpoch = -1;
let rewoundTo = null;    // the epoch a rewind went back to, until its frame comes

async function getJSON(url) {
  const r = await fetch(url, { headers: { Accept: 'application/json' } });
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.json();
}

const ROOM = watchedRoom();  // watching a teacher's run: nothing is sent, Try it myself instead

function send(type, fields) {
  if (ROOM) { notices.show(t('ui.watchOnly'), 'info'); return; }
  // Before the first connection the page is still starting; after it, the connection was lost.
  if (!conn?.send(type, fields)) notices.show(t(sessions > 0 ? 'ui.connectionLost' : 'ui.notConnected'), 'warn');
}

/** Send parameter changes, keeping dependent values valid (loss vs. problem). */
function update(changes) {
  const cfg = state.config;
  if (!cfg) return;
  const next = { ...changes };
  if ('problem' in next && cfg.loss !== 'auto') {
    const lossP = state.byName.loss;
    if (lossP) next.loss = 'auto';
  }
  // Choosing a data set, or the other problem, leaves your own data.
  if (cfg.data && !('data' in next) && ['dataset', 'regDataset', 'problem'].some((k) => k in next)) next.data = '';
  send('update', { changes: next });
}

// --- views ---------------------------------------------------------------------------------
const output = new MapView($('output'), state);
const knnView = new MapView($('knn'), state, { axes: false, pointRadius: 2 });
const lossChart = new LineChart($('loss-chart'), series, ['train_loss', 'test_loss']);
const network = new NetworkView($('network'), state, {
  onChange: update,
  note: $('links-note'),
  onHover: (i) => { state.hoverNeuron = i; dirty.output = true; $('output-title').textContent = t(i === null ? 'ui.output' : 'ui.neuronOutput'); },
  // On a phone the plot that shows the neuron large is a screen away: bring it into view.
  onPin: (i) => {
    const box = $('output').getBoundingClientRect();
    if (i !== null && (box.bottom < 0 || box.top > window.innerHeight)) $('output').scrollIntoView({ block: 'center' });
  },
});
// A hand edit of a weight or bias is in the run's history, so in its link; not in TF Playground
// mode, which keeps no history: the page says which.
const paramEditor = new ParamEditor(network, state, {
  send,
  onEdited: () => notices.show(t(state.config?.compat === 'tf' ? 'ui.editedNotice' : 'ui.editedInLink'), 'info', 10000),
});
const run = new RunControls(state, send);
const live = ROOM ? null : new LivePanel({ send, notices });
const roomBar = ROOM ? new RoomBar(state) : null;
// The sweep starts from the experiment on screen: the address bar always holds all of it.
new SweepPanel($('sweep'), { base: () => ({ link: linkText(), config: state.config }) });
const editor = new DataEditor(output, state, $('class-picker'), {
  onChange: update,
  onNotice: (t) => notices.show(t, 'info'),
});

// Rewind and undo: the server replays the run to the moment; the curve after it stays faint.
const scrubber = new Scrubber(lossChart, {
  now: () => state.frame?.header.epoch ?? 0,
  enabled: () => !ROOM && !!state.frame && state.config?.compat !== 'tf',
  onPick: (epoch) => send('rewind', { epoch }),
  onMove: (row) => {
    showMetrics(row ? { metrics: row, epoch: row.epoch } : state.frame?.header);
    dirty.charts = true;
  },
});
const undo = () => { if (!$('undo').classList.contains('off')) send('undo'); };
$('undo').addEventListener('click', undo);
document.addEventListener('keydown', (ev) => {
  if (ev.key === 'u' && shortcutAllowed(ev)) undo();
});

$('log-scale').addEventListener('change', (ev) => { lossChart.log = ev.target.checked; dirty.charts = true; });
function showCurves(which) {
  const acc = which === 'acc';
  lossChart.setSeries(acc ? ['train_acc', 'test_acc'] : ['train_loss', 'test_loss'], acc ? [0, 1] : null);
  $('tab-loss').classList.toggle('selected', !acc);
  $('tab-acc').classList.toggle('selected', acc);
  $('tab-loss').setAttribute('aria-selected', String(!acc));
  $('tab-acc').setAttribute('aria-selected', String(acc));
  $('log-scale').parentElement.hidden = acc;
  dirty.charts = true;
}
$('tab-loss').addEventListener('click', () => showCurves('loss'));
$('tab-acc').addEventListener('click', () => showCurves('acc'));
// The script trains as far as this run has (at least one epoch), from the link in the address bar.
$('export').addEventListener('click', () => {
  const epochs = Math.max(1, state.frame?.header.epoch ?? 0);
  $('export').href = `/api/export?${new URLSearchParams({ url: location.search.slice(1), epochs })}`;
});
// The weights of the frame on screen, named as the exported script's Net names them, and the data.
const fileBase = () => {
  const cfg = state.config;
  const data = cfg.problem === 'regression' ? cfg.regDataset : cfg.dataset;
  return `netplay_${data}_${cfg.networkShape.join('x') || 'linear'}`;
};
$('dl-weights').addEventListener('click', () => {
  if (!state.frame || !state.model) return;
  const { weights, biases } = state.frame.arrays;
  const epoch = String(state.frame.header.epoch);
  const tensors = layerTensors(state.model.layers, weights, biases);
  save(`${fileBase()}_epoch${epoch}.safetensors`,
    safetensors(tensors, { link: location.search.slice(1), epoch }), 'application/octet-stream');
});
// A network kept as a file (settings, progress, weights), made by the server; and one loaded
// again, which replaces this run: asked first once it has trained.
$('save-net').addEventListener('click', () => send('save'));
$('load-net').addEventListener('click', () => {
  if (!(state.frame?.header.epoch > 0) || window.confirm(t('ui.loadConfirm'))) $('net-file').click();
});
$('net-file').addEventListener('change', () => {
  const file = $('net-file').files[0];
  $('net-file').value = '';  // the same file again is a new choice
  if (!file) return;
  const limit = state.limits?.max_message_bytes ?? Infinity;
  if (base64Size(file.size) + 512 > limit) {  // its base64 in a message: said here
    notices.show(t('ui.netTooLarge', { size: Math.ceil(file.size / 1000), limit: Math.floor(limit / 1000) }), 'error', 0);
    return;
  }
  fileBase64(file).then((data) => send('load', { name: file.name.slice(0, 200), data }),
    () => notices.show(t('ui.fileUnreadable'), 'error', 0));
});
$('dl-data').addEventListener('click', () => {
  if (!state.data) return;
  save(`${fileBase()}.csv`, dataCsv(state.data, state.config.problem === 'regression'), 'text/csv');
});
$('share').addEventListener('click', async () => {
  // A run with live changes in its link (`h`) is shared where it is now: the link opens there.
  const epoch = state.frame?.header.epoch ?? 0;
  const here = /(^|&)h=/.test(linkText()) && !/(^|&)at=/.test(linkText()) && epoch > 0 ? `&at=${epoch}` : '';
  const ok = await copyLink(window.location.href + here);
  notices.show(t(ok ? 'ui.linkCopied' : 'ui.copyManually'), ok ? 'ok' : 'info');
});
$('seed').addEventListener('change', (ev) => {
  const v = ev.target.value.trim();
  if (v) update({ seed: v });
});
$('clear-edits').addEventListener('click', () => update({ points: [], removed: [] }));
const ownData = new OwnData({
  panel: document.querySelector('.panel-data'), file: $('own-data-file'), paste: $('own-data-paste'),
  pasteText: $('own-data-text'), pasteUse: $('own-data-use'), note: $('own-data-note'),
  state, update, notices,
});
$('own-data-off').addEventListener('click', () => update({ data: '', points: [], removed: [] }));

// --- metrics -------------------------------------------------------------------------------
const fmtLoss = (v) => (v === null || v === undefined ? '—' : v < 0.001 && v > 0 ? v.toExponential(1) : v.toFixed(3));
const fmtAcc = (v) => (v === null || v === undefined ? '—' : `${(100 * v).toFixed(1)} %`);

function showMetrics(h) {
  const m = h?.metrics || {};
  $('train-loss').textContent = fmtLoss(m.train_loss);
  $('test-loss').textContent = fmtLoss(m.test_loss);
  $('train-acc').textContent = fmtAcc(m.train_acc);
  $('test-acc').textContent = fmtAcc(m.test_acc);
  // L1 sets weights to exactly 0 (pruned links, drawn dashed in the network).
  const zero = m.zero_weights ?? 0;
  const counted = zero > 0 && h.epoch > 0 && state.config?.regularization === 'L1';
  $('zero-weights').hidden = !counted;
  if (counted) $('zero-weights').textContent = t('ui.zeroWeights', { zero, total: m.weights });
}

/** Under the loss chart, the learning rate a schedule has set for this epoch. */
function showRate(h) {
  const scheduled = (state.config?.schedule ?? 'constant') !== 'constant';
  $('lr-now').hidden = !scheduled;
  if (scheduled && h.learning_rate !== undefined) {
    $('lr-now').textContent = t('ui.lrNow', { lr: Number(h.learning_rate.toPrecision(3)) });
  }
}

/** TensorFlow Playground mode: the badge, and the loss named as TF's square loss. */
function showMode(tf) {
  $('mode-badge').hidden = !tf;
  const name = tf ? t('ui.squareLoss') : t('ui.loss');
  $('loss-name').textContent = name;
  $('tab-loss').textContent = name;
}
$('leave-mode').addEventListener('click', () => update({ compat: 'netplay' }));

// --- messages ------------------------------------------------------------------------------
function onConfig(msg) {
  const prevModel = JSON.stringify(state.model);
  state.config = msg.config;
  state.query = msg.query || state.query;
  state.version = msg.version ?? state.version;
  if (msg.model) state.model = msg.model;
  const changed = Object.keys(msg.effects || {}).length > 0;  // an update's, not the link's
  for (const w of msg.warnings || []) {
    notices.show(t(changed ? 'ui.changeWarning' : 'ui.fromLink', { warning: w }), 'warn');
  }
  if (msg.notice) notices.show(msg.notice, 'ok', 15000);  // a network loaded
  const errors = (msg.errors || []).map((e) => e.message || t('ui.notUsable', { field: e.field }));
  if (errors.length) {
    notices.show(t('ui.linkProblem', { errors: errors.join('; ') }), 'error', 0);
  }
  for (const h of msg.hidden || []) state.hidden.add(h);
  if (!ROOM) writeAddressBar(state.query, state.hidden);  // a room's page keeps its own address
  // A history longer than a link carries: the link holds what fits and opens before the rest.
  const hist = msg.history;
  if (hist && hist.carried < hist.changes && !state.historyCut) {
    notices.show(t('ui.historyTooLong', { carried: hist.carried, at: hist.at }), 'warn', 0);
  }
  state.historyCut = !!hist && hist.carried < hist.changes;
  state.historyChanges = hist?.changes ?? 0;
  $('undo').classList.toggle('off', !state.historyChanges || state.config.compat === 'tf' || !!ROOM);
  $('rewind-hint').hidden = state.config.compat === 'tf' || !!ROOM;
  document.body.classList.toggle('hide-text', !!state.config.hideText);
  $('seed').value = state.config.seed;
  const edits = (state.config.points?.length || 0) + (state.config.removed?.length || 0);
  $('edits').hidden = edits === 0;
  $('edits-count').textContent = t('ui.editsCount', {
    added: state.config.points?.length || 0, removed: state.config.removed?.length || 0,
  });
  $('knn-box').hidden = !(state.config.knn > 0);
  $('knn-k').textContent = state.config.knn;
  document.body.classList.toggle('classification', state.config.problem === 'classification');
  showMode(state.config.compat === 'tf');
  if (JSON.stringify(state.model) !== prevModel) dirty.rebuild = true;
  dirty.controls = dirty.output = dirty.network = true;
}

function onData({ header, arrays }) {
  state.data = {
    train: arrays.train, test: arrays.test, numClasses: header.num_classes, oneD: !!header.one_d,
    version: header.version, trainIndex: arrays.train_index || null, testIndex: arrays.test_index || null,
  };
  $('counts').textContent = t('ui.pointCounts', { train: arrays.train.length / 3, test: arrays.test.length / 3 });
  document.body.classList.toggle('multi-class', header.num_classes > 2);  // no orange–blue legend
  dirty.output = dirty.rebuild = dirty.controls = true;
}

function onFrame(f) {
  const h = f.header;
  if (state.data && h.version < state.data.version) return; // a frame of the model before a rebuild
  state.frame = f;
  if (h.epoch === rewoundTo) rewoundTo = null;  // the moment gone back to: the curves are cut
  else if (h.epoch < lastEpoch || h.epoch === 0) { series.clear(); lossChart.ghost = null; }
  lastEpoch = h.epoch;
  scrubber.label();
  $('rewind-hint').classList.toggle('off', h.epoch === 0);  // nothing to go back to yet
  series.push(h.epoch, h.metrics || {});
  if (h.state && h.state !== state.runState) { state.runState = h.state; run.sync(); }
  dirty.output = dirty.network = dirty.charts = true;
  run.counters(h);
  showMetrics(h);
  showRate(h);
  if (h.state === 'playing' && lessonPause(h.epoch)) {
    send('pause');
    notices.show(t('ui.lessonPaused', { epochs: h.epoch }), 'info', 10000);
  }
}

function onMessage(msg) {
  switch (msg.type) {
    case 'hello':
      state.limits = msg.limits;
      run.setLimits(msg.limits);
      if (msg.protocol !== PROTOCOL_VERSION) {
        notices.show(t('ui.protocolMismatch', { server: msg.protocol, page: PROTOCOL_VERSION }), 'error');
        conn.close();
        return;
      }
      sessions++;
      start();
      break;
    case 'config':
      onConfig(msg);
      if (conn.isOpen) onStatus('open');  // after a replay's progress
      break;
    case 'progress':  // a link's replay, which takes minutes on a big net
      $('conn').textContent = t('ui.replaying', { percent: Math.floor((100 * msg.done) / msg.of) });
      break;
    case 'network':
      save(msg.name, Uint8Array.from(atob(msg.data), (c) => c.charCodeAt(0)), 'application/octet-stream');
      break;
    case 'room':
      if (ROOM) {
        conn.inflate = msg.compression === 'deflate-raw';  // the teacher's frames, as sent
        roomBar.onRoom(msg);
      } else live.onRoom(msg);
      break;
    case 'room_ended':
      if (ROOM) roomBar.onEnded(msg); else live.onEnded();
      break;
    case 'rewound':
      lossChart.ghost = series.cut(msg.epoch);
      lastEpoch = rewoundTo = msg.epoch;
      dirty.charts = true;
      notices.show(t('ui.rewound', { epoch: msg.epoch, from: msg.from }), 'info', 8000);
      break;
    case 'state':
      state.runState = msg.state;
      state.message = msg.message || '';
      state.divergedAt = msg.diverged_at ?? null;
      run.sync();
      dirty.network = true;  // a big net's links, drawn a few layers per frame, all at once
      if (msg.epoch !== undefined) run.epoch.textContent = msg.epoch.toLocaleString('en-US');
      break;
    case 'error':
      if (ROOM && (msg.code === 'no_room' || msg.code === 'room_full')) {
        roomBar.onMissing();
        conn.close();  // not a connection to retry
        if (msg.code === 'room_full') notices.show(msg.message, 'error', 0);
        break;
      }
      // A message names its field itself ("learningRate: must be …"); others get it in front.
      notices.show(!msg.field || msg.message.startsWith(`${msg.field}:`) ? msg.message : `${msg.field}: ${msg.message}`, 'error');
      dirty.controls = dirty.rebuild = true; // put the controls back to what the server holds
      break;
    default: break;
  }
}

/** Start (or restart after a reconnect) the session from what the page holds. */
function start() {
  // The server parses the link (query or TF Playground hash) and reports what it could not use.
  send('start', { url: linkText() });
  send('speed', { steps_per_frame: run.steps || DEFAULT_SPEED });
  if (sessions > 1) notices.show(t('ui.reconnected'), 'ok');
}

function onStatus(s) {
  const pill = $('conn');
  pill.dataset.status = s;
  pill.textContent = t({ open: 'ui.live', connecting: 'ui.connecting', idle: 'ui.idleClosed' }[s] ?? 'ui.reconnecting');
  if (s === 'closed' || s === 'idle') {
    state.runState = 'paused';
    run.sync();
    run.rate.textContent = '';  // no training is measured while there is no server
  }
}

// --- drawing -------------------------------------------------------------------------------
let ackedSeq = null;

function render() {
  if (dirty.controls && controls) {
    controls.sync();
    editor.sync();
    ownData.sync();
    if (ROOM) readOnly();
    dirty.controls = false;
  }
  if (dirty.rebuild) {
    network.rebuild();
    dirty.rebuild = false;
    dirty.network = true;
  }
  if (dirty.output) {
    const k = state.model?.num_classes ?? state.data?.numClasses ?? 2;
    if (state.data?.oneD && state.hoverNeuron === null) output.drawCurve(state.frame?.arrays.curve);
    else output.drawMap(outputGrid(state.frame, k, state.hoverNeuron));
    if (state.config?.knn > 0) knnView.drawMap(knnGrid(state.frame, k));
    dirty.output = false;
  }
  if (dirty.network) { network.draw(); paramEditor.refresh(); dirty.network = false; }
  // Flow control: tell the server which frame is on screen, so it never runs far ahead of us.
  const seq = state.frame?.header.seq;
  if (seq !== undefined && seq !== ackedSeq && conn?.isOpen) {
    conn.send('ack', { seq });
    ackedSeq = seq;
  }
  if (dirty.charts) {
    if (state.config?.problem !== 'classification' && lossChart.names[0] === 'train_acc') showCurves('loss');
    lossChart.draw();
    dirty.charts = false;
  }
  requestAnimationFrame(render);
}

window.addEventListener('resize', () => {
  output.resize(); knnView.resize(); lossChart.resize();
  dirty.output = dirty.charts = true;
});

// --- debug handle for tests and the curious: read-only views of the state ------------------
Object.defineProperty(window, 'netplay', {
  value: Object.freeze({
    get config() { return state.config && structuredClone(state.config); },
    get frame() { return state.frame && structuredClone(state.frame.header); },
    get weights() { return state.frame && Array.from(state.frame.arrays.weights); },
    get biases() { return state.frame && Array.from(state.frame.arrays.biases); },
    get runState() { return state.runState; },
    get version() { return state.version; },
    get history() { return series.toJSON(); },
    get oldFuture() { return lossChart.ghost?.toJSON() ?? []; },
    get hidden() { return [...state.hidden]; },
    get connected() { return !!conn?.isOpen; },
    get ready() { return !!(state.config && state.frame); },
    get query() { return state.query; },
  }),
});

// --- boot ----------------------------------------------------------------------------------
async function boot() {
  const [schema] = await Promise.all([getJSON('/api/schema'), langReady()]);
  state.schema = Array.isArray(schema) ? schema : schema.params || schema.parameters || [];
  state.byName = Object.fromEntries(state.schema.map((p) => [p.name, p]));
  if (ROOM) run.setLimits(state.limits);  // no hello comes to a viewer: its labels, said now
  state.hidden = hiddenFromLink(linkText());
  controls = buildControls(state, {
    data: $('data-controls'), features: $('feature-controls'), network: $('network-controls'),
    training: $('training-controls'), view: $('view-controls'),
  }, update, { drawPreview: (name, value, canvas) => drawPreview(state, name, value, canvas) });
  applyHidden(state.hidden);

  const path = ROOM ? `/ws/room/${encodeURIComponent(ROOM)}` : '/ws';
  conn = new Connection(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`, {
    onMessage, onBinary: (m) => (m.header.type === 'data' ? onData(m) : onFrame(m)), onStatus,
  });
  requestAnimationFrame(render);
}

boot().catch((err) => notices.show(t('ui.pageFailed', { error: err.message }), 'error', 0));

// Exported for nothing but clarity of what this module owns.
export { state, applies };
