// socialego-label: the labelling page (plain JS, served by the package; no network but the server).
"use strict";

const ACTION_KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0"];
const INTENT_KEYS = ["q", "w", "e"];
const ATTITUDE_KEYS = ["a", "s", "d"];
const SPEEDS = [0.25, 0.5, 1, 2, 4];
const MIN_SCORE = 0.05; // keypoints scored below this are not drawn
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

// -- the clip -------------------------------------------------------------------------------
async function loadTrack(name) {
  if (!name) return;
  stopTimer();
  const track = await call(`/api/track?name=${encodeURIComponent(name)}`);
  if (!track) return;
  page.track = track;
  page.index = 0;
  page.playing = true; // each new clip plays from its start
  page.images = {};
  page.imageShown = false;
  page.pending = { intent: null, attitude: null, unsure: false };
  const canvas = $("clip");
  if (track.state === "broken") {
    $("track-line").textContent = `${track.name}: broken`;
    $("frames-message").textContent = `${track.error} (press n for the next open track)`;
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#888";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    renderLists();
    return;
  }
  canvas.width = Math.round(track.frame_size[0]);
  canvas.height = Math.round(track.frame_size[1]);
  $("frames-message").textContent = track.frames_message || "";
  describeTrack();
  for (const fid of track.frame_ids) {
    const img = new Image();
    img.onload = () => { if (fid === currentFrameId()) draw(); };
    img.onerror = () => { img.failed = true; if (fid === currentFrameId()) draw(); };
    if (!track.frames_message || !track.frames_message.startsWith("no video frames")) {
      img.src = `/api/frame?name=${encodeURIComponent(track.name)}&frame=${fid}`;
    } else {
      img.failed = true;
    }
    page.images[fid] = img;
  }
  renderLists();
  draw();
  if (page.playing) startTimer();
}

function describeTrack() {
  const t = page.track;
  const s = page.state;
  let text = `${t.name}  (video ${t.video_name}, person ${t.person_id}): ${t.state}`;
  if (t.labels) {
    text += ` as ${s.labels.action[t.labels[2]]} / ${s.labels.intent[t.labels[0]]} / ` +
      `${s.labels.attitude[t.labels[1]]}`;
  }
  $("track-line").textContent = text;
  const index = s.tracks.indexOf(t.name);
  setStatus(`track ${index + 1} of ${s.tracks.length}`);
}

function currentFrameId() {
  return page.track && page.track.frame_ids ? page.track.frame_ids[page.index] : null;
}

function draw() {
  const t = page.track;
  if (!t || !t.frame_ids) return;
  const canvas = $("clip");
  const ctx = canvas.getContext("2d");
  const fid = currentFrameId();
  const img = page.images[fid];
  const shown = img && img.complete && !img.failed && img.naturalWidth > 0;
  if (shown) {
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
  } else {
    ctx.fillStyle = "#777";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.fillStyle = "#fff";
    ctx.font = "12px sans-serif";
    ctx.fillText(img && !img.failed ? "loading frame…" : "no frame image", 8, 16);
  }
  page.imageShown = Boolean(shown);
  page.shownFrameId = fid;
  const frame = t.frames[String(fid)];
  if (frame) drawPose(ctx, frame);
  $("frame-line").textContent = `frame ${fid} (${page.index + 1} of ${t.frame_ids.length})` +
    (frame ? "" : ", person not detected");
  $("play-state").textContent = page.playing ? "▶ playing" : "❚❚ paused";
  $("speed-line").textContent = `speed ×${SPEEDS[page.speed]}`;
}

function drawPose(ctx, frame) {
  const kp = frame.kp;
  const sk = page.state.skeleton;
  const scale = Math.max(1, ctx.canvas.width / 320);
  if (frame.box) {
    ctx.strokeStyle = "#ffd400";
    ctx.lineWidth = 1.5 * scale;
    ctx.strokeRect(frame.box[0], frame.box[1], frame.box[2], frame.box[3]);
  }
  const inRange = (i, r) => i >= r[0] && i < r[1];
  const visible = (i) => kp[i] && kp[i][2] >= MIN_SCORE;
  ctx.lineWidth = 2 * scale;
  for (const [a, b] of sk.edges) {
    if (!visible(a) || !visible(b)) continue;
    ctx.strokeStyle = inRange(a, sk.hands) ? "#ff7b00" : "#00e5ff";
    ctx.globalAlpha = Math.min(1, 0.35 + Math.min(kp[a][2], kp[b][2]));
    ctx.beginPath();
    ctx.moveTo(kp[a][0], kp[a][1]);
    ctx.lineTo(kp[b][0], kp[b][1]);
    ctx.stroke();
  }
  for (let i = 0; i < kp.length; i += 1) {
    if (!visible(i)) continue;
    const face = inRange(i, sk.face);
    ctx.globalAlpha = Math.min(1, 0.35 + kp[i][2]);
    ctx.fillStyle = face ? "#ff4fd8" : inRange(i, sk.hands) ? "#ff7b00" : "#ffffff";
    ctx.beginPath();
    ctx.arc(kp[i][0], kp[i][1], (face ? 0.8 : 1.8) * scale, 0, 2 * Math.PI);
    ctx.fill();
  }
  ctx.globalAlpha = 1;
}

function startTimer() {
  stopTimer();
  const fps = page.state.fps * SPEEDS[page.speed];
  page.timer = setInterval(() => {
    const n = page.track && page.track.frame_ids ? page.track.frame_ids.length : 0;
    if (!n) return;
    page.index = (page.index + 1) % n;
    draw();
  }, 1000 / fps);
}

function stopTimer() {
  if (page.timer) clearInterval(page.timer);
  page.timer = null;
}

function step(delta) {
  const t = page.track;
  if (!t || !t.frame_ids) return;
  page.playing = false;
  stopTimer();
  page.index = Math.max(0, Math.min(t.frame_ids.length - 1, page.index + delta));
  draw();
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
