// The page's wiring: one WebSocket to this tab's ffbp session, the controls that configure
// it, the URL hash that records the setup, and a render loop that draws the newest snapshot
// once per animation frame (a slow frame skips snapshots rather than queueing them).
import { drawBoundary, drawLines, fmt, outputScale } from "./views.js";
import { NetworkView, pretty } from "./network.js";
import { showDetail, showExplain, showHealth } from "./panels.js";
import { readHash, writeHash } from "./link.js";

const $ = (id) => document.getElementById(id);
const FEATURES = ["x1", "x2", "x1sq", "x2sq", "x1x2", "sinx1", "sinx2"];
const DATASETS = {
  classification: [["circle", "Circle"], ["xor", "Exclusive or"], ["gauss", "Gaussian clusters"], ["spiral", "Spiral"]],
  regression: [["plane", "Plane"], ["multigauss", "Multi-Gaussian"]],
};
const RATES = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const REG_RATES = [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const MAX_LAYERS = 6, MAX_UNITS = 8;

const state = {
  session: null, config: null, defaults: null, points: null, snap: null, dirty: false,
  playing: false, selected: null, hashApplied: false,
};
// Counters for programs and the speed test: snapshots received and drawn since `start`.
// readMs and drawMs: the time spent reading messages and drawing, to see which one limits.
const stats = { received: 0, frames: 0, readMs: 0, drawMs: 0, start: performance.now() };
stats.reset = () => {
  Object.assign(stats, { received: 0, frames: 0, readMs: 0, drawMs: 0, start: performance.now() });
};
stats.rate = () => stats.frames / ((performance.now() - stats.start) / 1000);
window.ffbpStats = stats;
window.ffbp = state;

// -- the socket --------------------------------------------------------------------------
// maps=f32: the grid maps come as base64 float32, far cheaper to write and read than JSON
const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws?maps=f32`);
const send = (msg) => { if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg)); };
const configure = (changes) => send({ type: "configure", changes });

ws.onmessage = (event) => {
  const t0 = performance.now();
  const msg = JSON.parse(event.data);
  const handler = HANDLERS[msg.type];
  if (handler) handler(msg);
  stats.readMs += performance.now() - t0;
};
ws.onclose = () => showError("The connection to ffbp closed: restart 'ffbp playground' and reload the page.");

const HANDLERS = {
  hello: (m) => {
    state.session = m.session;
    $("export-model").href = `/api/export/${m.session}/model.ffbp`;
    $("export-script").href = `/api/export/${m.session}/train.py`;
  },
  config: (m) => {
    if (!state.defaults) state.defaults = m.config;
    // a new network shape or new data: the selected weight may be gone, its numbers are
    const before = state.config;
    if (before && shapeOf(before) !== shapeOf(m.config)) clearSelection();
    // same shape, other settings (new weights from another init, another α): its numbers
    // are redone, not left describing the network before
    else if (before && state.selected && !state.playing && JSON.stringify(before) !== JSON.stringify(m.config)) {
      requestExplain();
    }
    state.config = m.config;
    applyConfig(m.config);
    if (!state.hashApplied) {
      state.hashApplied = true;
      const changes = readHash(m.config);
      if (Object.keys(changes).length) { applyLink(changes); return; }
    }
    writeHash(m.config);
  },
  points: (m) => {
    // "Batch (all points)" stays all of them when a new split or table has more points
    const all = $("batch-mode").value === "batch" && state.config && state.config.batch_size < m.train.length;
    state.points = m;
    if (all) configure({ batch_size: m.train.length });
    $("sample").max = String(m.train.length);
    applyBatchLimits();
    state.dirty = true;
  },
  snapshot: (m) => { state.snap = unpackMaps(m); state.dirty = state.fresh = true; stats.received++; },
  playing: (m) => {
    setPlaying(m.playing);
    if (m.speed) {                  // the server's own count for the run that just ended
      stats.server = m.speed;
      $("speed").textContent = `last run: ${Math.round(m.speed.steps_per_second).toLocaleString("en")} ` +
        `steps/s, ${m.speed.frames_per_second.toFixed(1)} updates/s`;
    }
  },
  explain: (m) => {
    if (state.selected) showExplain(m, ...state.selected.slice(0, 3), sampleIndex(), state.snap && state.snap.epoch);
  },
  detail: (m) => { state.detail = m; showDetail(m); state.dirty = true; },
  // only the server's "playing" says whether it trains: a refused setting stops nothing
  // a refused setting: the controls and the address go back to what runs, so no select
  // keeps showing a choice the session never took
  error: (m) => {
    showError(m.message);
    if (state.config) { applyConfig(state.config); writeHash(state.config); }
  },
};

function unpack(v) {
  if (Array.isArray(v)) return v.map(unpack);
  if (typeof v !== "string") return v;
  const text = atob(v), bytes = new Uint8Array(text.length);
  for (let k = 0; k < text.length; k++) bytes[k] = text.charCodeAt(k);
  return new Float32Array(bytes.buffer);
}
function unpackMaps(m) {
  for (const key of ["output", "inputs", "neurons"]) m[key] = unpack(m[key]);
  return m;
}

const shapeOf = (c) => JSON.stringify([c.hidden, c.features, c.dataset, c.problem, c.seed]);

function clearSelection() {
  state.selected = null;
  view.select(null);
  $("explain-hint").hidden = false;
  $("explain-numbers").replaceChildren();
  $("explain-text").textContent = "";
  $("step-detail").replaceChildren();
  state.detail = null;
}

function showError(text) {
  const box = $("error");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => { box.hidden = true; }, 8000);
}

// -- controls ----------------------------------------------------------------------------
function options(select, items) {
  select.replaceChildren(...items.map(([value, label]) => new Option(label, value)));
}
options($("learning-rate"), RATES.map((r) => [r, String(r)]));
options($("reg-rate"), REG_RATES.map((r) => [r, String(r)]));

function setSelect(select, value) {
  if (![...select.options].some((o) => o.value === String(value))) select.append(new Option(String(value), value));
  select.value = String(value);
}

function applyConfig(c) {
  // the session keeps an uploaded table when you look at other data: it stays on the list
  if (c.dataset === "upload") state.uploaded = true;
  const sets = [...DATASETS[c.problem]];
  if (state.uploaded) sets.push(["upload", "Your CSV"]);
  options($("dataset"), sets);
  setSelect($("dataset"), c.dataset);
  setSelect($("learning-rate"), c.learning_rate);
  setSelect($("reg-rate"), c.reg_rate);
  for (const key of ["activation", "regularization", "problem", "optimizer", "init"]) setSelect($(key), c[key]);
  $("reg-rate").disabled = c.regularization === "none";
  $("train-ratio").value = c.train_ratio; $("train-ratio-value").textContent = c.train_ratio;
  $("noise").value = c.noise; $("noise-value").textContent = c.noise;
  $("noise").disabled = c.dataset === "upload";          // an upload's values are its own
  $("show-test").checked = !!c.show_test;
  $("discretize").checked = !!c.discretize;
  $("layer-count").textContent = `${c.hidden.length} hidden layer${c.hidden.length === 1 ? "" : "s"}`;
  $("add-layer").disabled = c.hidden.length >= MAX_LAYERS;
  $("remove-layer").disabled = c.hidden.length === 0;
  $("plane-choice").hidden = c.dataset !== "upload";
  $("feature-hint").hidden = c.dataset === "upload";     // an upload's columns are all inputs
  applyBatchLimits();
  state.dirty = true;
}

function nTrain() { return state.points ? state.points.train.length : 250; }

// The batch size runs from 1 (stochastic) to every training point (batch); the mode select
// names the two ends.
function applyBatchLimits() {
  const c = state.config;
  if (!c) return;
  const slider = $("batch-size"), n = nTrain();
  slider.max = String(Math.max(n, 1));
  slider.value = c.batch_size;
  $("batch-size-value").textContent = c.batch_size;
  $("batch-mode").value = c.batch_size === 1 ? "stochastic" : c.batch_size >= n ? "batch" : "mini";
}

const number = (id) => Number($(id).value);
$("learning-rate").onchange = () => configure({ learning_rate: number("learning-rate") });
$("reg-rate").onchange = () => configure({ reg_rate: number("reg-rate") });
for (const key of ["activation", "optimizer", "init"]) {
  $(key).onchange = () => configure({ [key]: $(key).value });
}
// L1 or L2 at a rate of 0 would change nothing: choosing one starts it at λ = 0.01
$("regularization").onchange = () => {
  const regularization = $("regularization").value;
  configure(regularization !== "none" && state.config.reg_rate === 0
    ? { regularization, reg_rate: 0.01 } : { regularization });
};
// built-in data: a problem comes with its own data sets; an upload stays, read the other way
$("problem").onchange = () => {
  const problem = $("problem").value;
  if (state.config.dataset === "upload") configure({ problem });
  else configure({ problem, dataset: DATASETS[problem][0][0] });
};
$("dataset").onchange = () => configure({ dataset: $("dataset").value });
$("train-ratio").oninput = () => { $("train-ratio-value").textContent = $("train-ratio").value; };
$("train-ratio").onchange = () => configure({ train_ratio: number("train-ratio") });
$("noise").oninput = () => { $("noise-value").textContent = $("noise").value; };
$("noise").onchange = () => configure({ noise: number("noise") });
$("batch-size").oninput = () => { $("batch-size-value").textContent = $("batch-size").value; };
$("batch-size").onchange = () => configure({ batch_size: number("batch-size") });
$("batch-mode").onchange = () => {
  const mode = $("batch-mode").value, n = nTrain();
  configure({ batch_size: mode === "stochastic" ? 1 : mode === "batch" ? n : Math.min(10, n) });
};
$("regenerate").onclick = () => configure({ seed: state.config.seed + 1 });
$("show-test").onchange = () => configure({ show_test: $("show-test").checked });
$("discretize").onchange = () => configure({ discretize: $("discretize").checked });
// the column already on the other axis: the two axes swap
for (const [id, key, other] of [["x-feature", "x_feature", "y_feature"], ["y-feature", "y_feature", "x_feature"]]) {
  $(id).onchange = () => {
    const k = number(id), c = state.config;
    configure(k === c[other] ? { [key]: k, [other]: c[key] } : { [key]: k });
  };
}

$("add-layer").onclick = () => {
  const hidden = state.config.hidden;
  if (hidden.length < MAX_LAYERS) configure({ hidden: [...hidden, 2] });
};
$("remove-layer").onclick = () => {
  const hidden = state.config.hidden;
  if (hidden.length) configure({ hidden: hidden.slice(0, -1) });
};

function setPlaying(on) {
  state.playing = on;
  $("play").hidden = on;
  $("pause").hidden = !on;
  // the explain panel shows the paused network: refresh it to the weights training left
  if (!on && state.selected) requestExplain();
}
$("play").onclick = () => { setPlaying(true); send({ type: "play" }); };
$("pause").onclick = () => send({ type: "pause" });
$("reset").onclick = () => {
  send({ type: "reset" });
  if (state.selected && !state.playing) requestExplain();      // on the new weights
};
$("step").onclick = () => {
  send({ type: "step", sample: sampleIndex() });
  if (state.selected) requestExplain();
};

// the step panel's sample counts from 1 as every human-facing number does; messages from 0
function sampleIndex() {
  const k = Math.floor(number("sample")) - 1;
  return Math.max(0, Math.min(nTrain() - 1, Number.isFinite(k) ? k : 0));
}
$("sample").onchange = () => {
  $("sample").value = String(sampleIndex() + 1);          // 9999 of 250 shows as 250
  send({ type: "detail", sample: sampleIndex() });
  if (state.selected) requestExplain();
};

function requestExplain() {
  const [layer, i, j, bias] = state.selected;
  send(bias ? { type: "explain", layer, j, bias, sample: sampleIndex() }
    : { type: "explain", layer, i, j, sample: sampleIndex() });
}

const view = new NetworkView($("net"), $("edges"), $("tooltip"), {
  feature: (name) => {
    const on = state.config.features;
    const next = on.includes(name) ? on.filter((f) => f !== name) : FEATURES.filter((f) => on.includes(f) || f === name);
    if (next.length) configure({ features: next });
    else showError("The network needs at least one input feature.");
  },
  units: (L, delta) => {
    const hidden = [...state.config.hidden];
    hidden[L - 1] = Math.max(1, Math.min(MAX_UNITS, hidden[L - 1] + delta));
    configure({ hidden });
  },
  select: (L, I, J, bias = false) => {
    state.selected = [L, I, J, bias];
    view.select(L, I, J, bias);
    requestExplain();
    // and the step panel previews the next mini-batch's update of this weight (a bias
    // leaves the panel following the last weight clicked)
    if (!state.playing && !bias) send({ type: "detail", sample: sampleIndex() });
  },
});

// -- upload ------------------------------------------------------------------------------
$("upload").onchange = async () => {
  const input = $("upload"), file = input.files[0], box = $("upload-message");
  if (!file) return;
  box.className = "message";
  box.textContent = `reading ${file.name} …`;
  try {
    const target = $("upload-target").value.trim();
    const query = `session=${encodeURIComponent(state.session)}&name=${encodeURIComponent(file.name)}` +
      (target ? `&target=${encodeURIComponent(target)}` : "");
    const reply = await fetch(`/api/upload?${query}`,
      { method: "POST", body: file, headers: { "Content-Type": "text/csv" } });
    const body = await reply.json().catch(() => ({ error: `the server answered ${reply.status}` }));
    if (!reply.ok) throw new Error(body.error || `the server answered ${reply.status}`);
    box.className = "message ok";
    box.textContent = `${file.name}: ${body.rows} rows, ${body.columns.length} features, ` +
      `target ${body.target} (${body.problem})`;
  } catch (err) {
    box.className = "message bad";
    box.textContent = err.message;
  }
  input.value = "";
};

// -- the URL hash: the whole setup, so a link reproduces it (link.js) --------------------
// a link pasted or edited in the address bar of an open page applies too
window.addEventListener("hashchange", () => {
  if (state.config) applyLink(readHash(state.config));
});

// One setting at a time: a bad one (a typo in a shared link) is refused with its own
// message while the others still apply, and the address is then rewritten to what runs.
function applyLink(changes) {
  for (const [k, v] of Object.entries(changes)) configure({ [k]: v });
}

// -- drawing -----------------------------------------------------------------------------
function render() {
  const snap = state.snap, c = state.config;
  if (!snap || !c) return;
  $("epoch").textContent = String(Math.floor(snap.epoch));
  // null: a number the server could not send as JSON (NaN or inf from a diverging network)
  // a diverging loss (1e307) in three significant digits, not 308 of them across the page
  const loss = (v) => (typeof v !== "number" ? "–" : Math.abs(v) < 1e4 ? v.toFixed(3) : v.toExponential(2));
  $("loss-train").textContent = loss(snap.loss_train);
  $("loss-test").textContent = loss(snap.loss_test);
  // built-in data: the seven features by key, those in the config feeding the network;
  // an upload: its columns, all feeding it (the snapshot's labels)
  const upload = c.dataset === "upload";
  const all = upload ? snap.features : FEATURES;
  view.build(snap.layout, all, upload ? snap.features : c.features, !upload);
  const opts = { problem: c.problem, discretize: c.discretize, showTest: c.show_test,
    mark: state.detail ? state.detail.sample : undefined, scale: outputScale(c.problem, state.points) };
  view.update(snap, opts);
  drawBoundary($("boundary"), snap, state.points, opts);
  axes(snap);
  drawLines($("curve"), [snap.curve.train, snap.curve.test], ["#222", "#999"]);
  showHealth(snap.health);
  if (upload) planeChoice(snap.features, c);
}

function axes(snap) {
  const p = state.points, names = p ? [pretty(p.x_name), pretty(p.y_name)] : ["", ""];
  $("axis-x").textContent = `${fmt(snap.grid.x[0])}  ←  ${names[0]}  →  ${fmt(snap.grid.x[1])}`;
  $("axis-y").textContent = `${fmt(snap.grid.y[0])}  ←  ${names[1]}  →  ${fmt(snap.grid.y[1])}`;
}

function planeChoice(names, c) {
  for (const [id, value] of [["x-feature", c.x_feature], ["y-feature", c.y_feature]]) {
    const select = $(id);
    if (select.dataset.names !== names.join("|")) {
      select.dataset.names = names.join("|");
      options(select, names.map((n, k) => [k, n]));
    }
    select.value = String(value);
  }
}

function frame() {
  if (state.dirty) {
    const t0 = performance.now();
    state.dirty = false;
    render();
    stats.drawMs += performance.now() - t0;
    if (state.fresh) stats.frames++;      // snapshots drawn, not redraws for a setting
    state.fresh = false;
  }
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);
window.addEventListener("resize", () => { state.dirty = true; });   // the drawing refits
