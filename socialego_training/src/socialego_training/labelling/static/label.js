// socialego-label: the labelling page (plain JS, served by the package; no network but the server).
"use strict";

const ACTION_KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0"];
const INTENT_KEYS = ["q", "w", "e"];
const ATTITUDE_KEYS = ["a", "s", "d"];
const HELP = [
  ["1 … 0", "action (answers at once; intent and attitude follow the label table's nesting)"],
  ["q w e", "intent override for the next answer (press again to clear)"],
  ["a s d", "attitude override for the next answer (press again to clear)"],
  ["u", "mark the next answer unsure"],
  ["x", "skip this track (its labels stay empty; training leaves it out)"],
  ["z or Backspace", "undo the last answer"],
  ["Space", "play / pause"],
  ["← → or , .", "step one frame back / forward"],
  ["↓ ↑ or - +", "slower / faster"],
  ["n", "next open track"],
  ["[ ]", "previous / next track in file order (to look at or change an answer)"],
  ["Esc", "clear the overrides; close this help"],
  ["h or ?", "this help"],
];

const page = {
  ready: false, state: null, track: null, images: {}, index: 0, playing: true, speed: 2,
  timer: null, pending: { intent: null, attitude: null, unsure: false }, lastError: null,
  imageShown: false, shownFrameId: null, busy: false,
};
window.labelPage = page; // read by the browser test

const $ = (id) => document.getElementById(id);

async function call(url, body) {
  const options = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  let response;
  try {
    response = await fetch(url, options);
  } catch (err) {
    showError(`the server does not answer (${err}); is socialego-label still running?`);
    return null;
  }
  const data = await response.json().catch(() => ({ error: `bad answer from ${url}` }));
  if (!response.ok || data.error) {
    showError(data.error || `${url}: HTTP ${response.status}`);
    return null;
  }
  return data;
}

function showError(message) {
  page.lastError = message;
  renderErrors();
}

function renderErrors() {
  const box = $("errors");
  box.textContent = "";
  const lines = (page.state ? page.state.broken : []).map(
    (b) => `broken track file ${b.path}: ${b.error}`);
  if (page.lastError) lines.push(page.lastError);
  for (const line of lines) {
    const div = document.createElement("div");
    div.textContent = line;
    box.appendChild(div);
  }
}

function setStatus(text) { $("status").textContent = text; }

// -- state, lists and progress --------------------------------------------------------------
function setState(state) {
  page.state = state;
  const s = state;
  $("dataset").textContent = `${s.root} / ${s.split} (${s.dataset} labels)`;
  const p = s.progress;
  $("progress-line").textContent = `${p.answered} of ${p.total} answered`;
  renderLists();
  renderProgress();
  renderErrors();
}

function renderLists() {
  const s = page.state;
  const labels = page.track && page.track.labels;
  const lists = [["actions", "action", ACTION_KEYS], ["intents", "intent", INTENT_KEYS],
    ["attitudes", "attitude", ATTITUDE_KEYS]];
  lists.forEach(([id, task, keys]) => {
    const list = $(id);
    list.textContent = "";
    s.labels[task].forEach((name, i) => {
      const li = document.createElement("li");
      const kbd = document.createElement("kbd");
      kbd.textContent = keys[i] || "";
      li.appendChild(kbd);
      let text = ` ${name}`;
      if (task === "action" && s.nesting) {
        const [ci, ca] = s.nesting[i];
        text += `  → ${s.labels.intent[ci]}, ${s.labels.attitude[ca]}`;
      }
      li.appendChild(document.createTextNode(text));
      const order = { intent: 0, attitude: 1, action: 2 }[task];
      if (labels && labels[order] === i) li.classList.add("current");
      if (page.pending[task] === i) li.classList.add("pending");
      list.appendChild(li);
    });
  });
  const parts = [];
  if (page.pending.intent !== null) parts.push(`intent ${s.labels.intent[page.pending.intent]}`);
  if (page.pending.attitude !== null) {
    parts.push(`attitude ${s.labels.attitude[page.pending.attitude]}`);
  }
  if (page.pending.unsure) parts.push("unsure");
  $("pending").textContent = parts.length ? `next answer: ${parts.join(", ")}` : "";
}

function renderProgress() {
  const p = page.state.progress;
  const box = $("progress");
  box.textContent = "";
  const st = p.states;
  const head = document.createElement("div");
  head.id = "progress-counts";
  head.textContent = `${p.answered} of ${p.total} answered: ${st.labelled} labelled, ` +
    `${st.unsure} unsure, ${st.skipped} skipped, ${st.open} open` +
    (st.broken ? `, ${st.broken} broken` : "");
  box.appendChild(head);
  const table = document.createElement("table");
  table.id = "class-counts";
  for (const [task, counts] of Object.entries(p.per_class)) {
    const row = table.insertRow();
    row.insertCell().textContent = task;
    row.insertCell().textContent = Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(" · ");
  }
  box.appendChild(table);
}

// -- answers --------------------------------------------------------------------------------
async function answer(action) {
  const t = page.track;
  if (!t || t.state === "broken") return;
  const s = page.state;
  if (action >= s.labels.action.length) return;
  if (!s.nesting && (page.pending.intent === null || page.pending.attitude === null)) {
    showError(`the ${s.dataset} label table does not nest actions: press the intent ` +
      "(q w e) and attitude (a s d) keys first");
    return;
  }
  const body = { name: t.name, action, intent: page.pending.intent,
    attitude: page.pending.attitude, unsure: page.pending.unsure };
  await write("/api/answer", body);
}

async function skip() {
  const t = page.track;
  if (!t || t.state === "broken") return;
  await write("/api/skip", { name: t.name });
}

// One write at a time: a key pressed while an answer is being saved would land on the old track.
async function write(url, body) {
  if (page.busy) {
    setStatus("still saving the last answer…");
    return;
  }
  page.busy = true;
  try {
    await afterWrite(await call(url, body));
  } finally {
    page.busy = false;
  }
}

async function afterWrite(result) {
  if (!result) return;
  page.lastError = null;
  setState(result.state);
  if (result.next) {
    await loadTrack(result.next);
    setStatus(`saved ${result.name}; now track ` +
      `${page.state.tracks.indexOf(result.next) + 1} of ${page.state.tracks.length}`);
  } else {
    await loadTrack(result.name);
    setStatus(`saved ${result.name}; every track is answered`);
  }
}

async function undo() {
  if (page.busy) return;
  page.busy = true;
  try {
    const result = await call("/api/undo", {});
    if (!result) return;
    setState(result.state);
    if (result.name === null) {
      setStatus("nothing to undo");
      return;
    }
    await loadTrack(result.name);
    setStatus(`took back the last answer of ${result.name}`);
  } finally {
    page.busy = false;
  }
}

function toggle(task, value) {
  page.pending[task] = page.pending[task] === value ? null : value;
  renderLists();
}

function onKey(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
  const help = $("help");
  if (!help.hidden) {
    if (key === "Escape" || key === "h" || key === "?") help.hidden = true;
    event.preventDefault();
    return;
  }
  let handled = true;
  if (ACTION_KEYS.includes(key)) answer(ACTION_KEYS.indexOf(key));
  else if (INTENT_KEYS.includes(key)) toggle("intent", INTENT_KEYS.indexOf(key));
  else if (ATTITUDE_KEYS.includes(key)) toggle("attitude", ATTITUDE_KEYS.indexOf(key));
  else if (key === "u") { page.pending.unsure = !page.pending.unsure; renderLists(); }
  else if (key === "x") skip();
  else if (key === "z" || key === "Backspace") undo();
  else if (key === " ") {
    page.playing = !page.playing;
    if (page.playing) startTimer(); else stopTimer();
    draw();
  } else if (key === "ArrowRight" || key === ".") step(1);
  else if (key === "ArrowLeft" || key === ",") step(-1);
  else if (key === "ArrowUp" || key === "+" || key === "=") changeSpeed(1);
  else if (key === "ArrowDown" || key === "-") changeSpeed(-1);
  else if (key === "n") nextOpen();
  else if (key === "[") loadTrack(page.state.tracks.length && neighbour(-1));
  else if (key === "]") loadTrack(page.state.tracks.length && neighbour(1));
  else if (key === "Escape") {
    page.pending = { intent: null, attitude: null, unsure: false };
    renderLists();
  } else if (key === "h" || key === "?") help.hidden = false;
  else handled = false;
  if (handled) event.preventDefault();
}

function neighbour(delta) {
  const names = page.state.tracks;
  const index = page.track ? names.indexOf(page.track.name) : 0;
  return names[Math.max(0, Math.min(names.length - 1, index + delta))];
}

function changeSpeed(delta) {
  page.speed = Math.max(0, Math.min(SPEEDS.length - 1, page.speed + delta));
  if (page.playing) startTimer();
  draw();
}

async function nextOpen() {
  const state = await call("/api/state");
  if (!state) return;
  setState(state);
  if (state.next_open) await loadTrack(state.next_open);
  else setStatus("every track is answered");
}

function buildHelp() {
  const table = $("help-keys");
  for (const [keys, what] of HELP) {
    const row = table.insertRow();
    row.insertCell().textContent = keys;
    row.insertCell().textContent = what;
  }
}

async function start() {
  buildHelp();
  document.addEventListener("keydown", onKey);
  page.speed = SPEEDS.indexOf(1);
  const state = await call("/api/state");
  if (!state) return;
  setState(state);
  const first = state.next_open || state.tracks[0];
  await loadTrack(first);
  if (!state.next_open) setStatus("every track is answered; [ ] to look at them");
  page.ready = true;
}

start();
