// socialego-label: the clip (frames, box and skeleton on a canvas; play, pause, step, speed).
// Loaded before label.js, which holds the page state (page, $) these functions use.
"use strict";

const SPEEDS = [0.25, 0.5, 1, 2, 4];
const MIN_SCORE = 0.05; // keypoints scored below this are not drawn

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
