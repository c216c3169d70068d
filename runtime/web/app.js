// edge-rppg live page: reads the server-sent events of /events (vitals, pulse, health, history)
// and draws them; the video is the <img> on /stream.mjpg. No libraries: kiosks are often offline.
"use strict";

const ARTEFACTS = {
  motion_x: "head motion (sideways)", motion_y: "head motion (up/down)", motion_scale: "head motion (towards/away)",
  light_r: "light change (red)", light_g: "light change (green)", light_b: "light change (blue)",
};
const HISTORY_S = 300;
const $ = (id) => document.getElementById(id);
const fmt = (v, nd) => (v === null || v === undefined || !Number.isFinite(v) ? "–" : v.toFixed(nd));

let hrHistory = [];   // [timestamp, hr_bpm, valid]
let pulse = null;   // {bvp, bvp_fs}

// What the SDK says about the reading (its invalid_reason, never a rule of the page's own), in words
// and as a code for the card's data-reason.
const REASONS = {
  no_face: () => "no face",
  warming_up: (v) => `warming up: ${Math.round(100 * v.window_fill)} % of the first window`,
  no_peak: () => "no pulse peak in the band",
  low_quality: (v) => `low quality (SNR ${fmt(v.quality, 1)} dB)`,
  coverage: () => "the face was missing from too much of the window",
  artefact: (v) => ARTEFACTS[v.artefact] || v.artefact || "artefact",
  engine_error: () => "the engine's output was unusable",
  timestamp_jump: () => "the camera's clock jumped",
  pulse_colour: () => "the skin's colour does not change as blood's does",
  steady_run: () => "waiting for a second reading that agrees",
};

function verdict(v) {
  if (v.valid) return ["valid", v.face_found ? "valid" : "valid (last reading; no face now)", "valid"];
  const code = v.invalid_reason || (v.face_found ? "unknown" : "no_face");
  const words = (REASONS[code] || (() => code.replace(/_/g, " ")))(v);
  const state = v.hr_bpm === null && code !== "no_face" ? "none" : "invalid";
  const reason = code === "artefact" && v.artefact ? `artefact:${v.artefact}` : code;
  return [state, state === "none" ? words : `not valid: ${words}`, reason];
}

function showVitals(v) {
  const [state, text, reason] = verdict(v);
  const card = $("hr-card");
  card.dataset.state = state;
  card.dataset.reason = reason;
  card.dataset.frameIndex = v.frame_index;
  card.dataset.timestamp = v.timestamp;
  card.dataset.valid = String(v.valid);
  $("hr").textContent = v.hr_bpm === null ? "--" : v.hr_bpm.toFixed(1);
  $("status").textContent = text;
  $("frame-info").textContent = `frame ${v.frame_index} · t = ${v.timestamp.toFixed(2)} s`;
  $("quality").textContent = v.quality === null ? "–" : `${fmt(v.quality, 1)} dB`;
  const ok = v.valid && v.face_found;
  $("rf").textContent = ok && v.rf_valid && v.rf_hz !== null ? `${fmt(60 * v.rf_hz, 1)} /min` : "–";
  const hrv = ok && v.hrv && v.hrv.valid ? v.hrv : null;
  $("rmssd").textContent = hrv ? `${fmt(hrv.rmssd_ms, 0)} ms` : "–";
  $("sdnn").textContent = hrv ? `${fmt(hrv.sdnn_ms, 0)} ms` : "–";
  $("lfhf").textContent = hrv ? fmt(hrv.lf_hf, 2) : "–";
  $("faces").textContent = String(v.faces);
  const newest = hrHistory.length ? hrHistory[hrHistory.length - 1][0] : -Infinity;
  if (v.hr_updated && v.timestamp !== newest) {  // the first vitals event may repeat the history's last
    hrHistory.push([v.timestamp, v.hr_bpm, v.valid]);
    trimHistory();
    drawHistory();
  }
}

function trimHistory() {
  if (!hrHistory.length) return;
  const last = hrHistory[hrHistory.length - 1][0];
  while (hrHistory.length && (last - hrHistory[0][0] > HISTORY_S || hrHistory[0][0] > last)) hrHistory.shift();
}

function showHealth(h) {
  $("fps-in").textContent = fmt(h.fps_in, 1);
  $("fps-proc").textContent = fmt(h.fps_processed, 1);
  $("dropped").textContent = String(h.dropped_frames);
  const c = h.clients || {};
  $("clients").textContent = `${c.event_clients ?? "–"} data · ${c.video_clients ?? "–"} video`;
  // stages as columns: a row of names, one of means, one of maxima
  const stages = Object.entries(h.latency_ms || {});
  const row = (head, cells, tag) => {
    const tr = document.createElement("tr");
    for (const [i, text] of [head, ...cells].entries()) {
      const td = document.createElement(i === 0 || tag === "th" ? "th" : "td");
      td.textContent = text;
      tr.appendChild(td);
    }
    return tr;
  };
  $("latency").tBodies[0].replaceChildren(
    row("stage", stages.map(([s]) => s), "th"),
    row("mean ms", stages.map(([, ms]) => fmt(ms.mean, 1)), "td"),
    row("max ms", stages.map(([, ms]) => fmt(ms.max, 1)), "td"));
}

// A canvas sized to its CSS box at the screen's pixel ratio; returns its 2D context and CSS size.
function surface(canvas) {
  const r = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * r) || canvas.height !== Math.round(h * r)) {
    canvas.width = Math.round(w * r);
    canvas.height = Math.round(h * r);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(r, 0, 0, r, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return [ctx, w, h];
}

const css = (name) => getComputedStyle(document.body).getPropertyValue(name).trim();

function drawPulse() {
  const [ctx, w, h] = surface($("pulse"));
  $("pulse").dataset.samples = pulse ? pulse.bvp.length : 0;
  if (!pulse || pulse.bvp.length < 2) return;
  const y = pulse.bvp;
  let lo = Math.min(...y), hi = Math.max(...y);
  if (hi - lo < 1e-9) { lo -= 1; hi += 1; }
  ctx.strokeStyle = css("--pulse");
  ctx.lineWidth = 2;
  ctx.beginPath();
  y.forEach((v, i) => {
    const px = 4 + (w - 8) * i / (y.length - 1), py = 6 + (h - 12) * (1 - (v - lo) / (hi - lo));
    if (i) ctx.lineTo(px, py); else ctx.moveTo(px, py);
  });
  ctx.stroke();
}

function drawHistory() {
  const [ctx, w, h] = surface($("history"));
  const pts = hrHistory.filter((p) => p[1] !== null);
  $("history").dataset.points = pts.length;
  if (!pts.length) return;
  // the last 5 min, or at least 1 min while the history is shorter (so that early points spread out)
  const t1 = pts[pts.length - 1][0], span = Math.min(HISTORY_S, Math.max(60, t1 - pts[0][0])), t0 = t1 - span;
  const hrs = pts.map((p) => p[1]);
  const lo = Math.floor(Math.min(...hrs) / 10) * 10 - 5, hi = Math.ceil(Math.max(...hrs) / 10) * 10 + 5;
  const left = 34;
  ctx.fillStyle = css("--muted");
  ctx.font = "12px sans-serif";
  ctx.fillText(String(hi), 2, 12);
  ctx.fillText(String(lo), 2, h - 4);
  const X = (t) => left + (w - left - 6) * (t - t0) / span;
  const Y = (v) => 6 + (h - 12) * (1 - (v - lo) / (hi - lo));
  ctx.strokeStyle = css("--grid");
  ctx.beginPath();
  pts.forEach((p, i) => (i ? ctx.lineTo(X(p[0]), Y(p[1])) : ctx.moveTo(X(p[0]), Y(p[1]))));
  ctx.stroke();
  for (const [t, v, ok] of pts) {
    ctx.fillStyle = ok ? css("--valid") : css("--invalid");
    ctx.beginPath();
    ctx.arc(X(t), Y(v), 3, 0, 2 * Math.PI);
    ctx.fill();
  }
}

function setConn(state, text) {
  const el = $("conn");
  el.dataset.state = state;
  el.textContent = text;
}

function connect() {
  const es = new EventSource("/events");
  const on = (name, fn) => es.addEventListener(name, (e) => fn(JSON.parse(e.data)));
  es.onopen = () => setConn("live", "live");
  es.onerror = () => setConn("lost", "disconnected: the run has ended or the server is unreachable (retrying)");
  on("history", (m) => { hrHistory = m.history; trimHistory(); drawHistory(); });
  on("vitals", showVitals);
  on("pulse", (m) => { pulse = m; drawPulse(); });
  on("health", showHealth);
}

window.addEventListener("resize", () => { drawPulse(); drawHistory(); });
$("frame").addEventListener("error", () => setConn("lost", "video stream unavailable"));
connect();
