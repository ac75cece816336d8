/// The live view's page: one self-contained HTML file (no external assets: the robot's board
/// may have no internet). It opens `/ws`, draws each snapshot, and sends `{"type":"estop"}`
/// when the E-STOP button is pressed.
///
/// `?selftest=N` (for the browser test): after N state messages the page presses its own
/// E-STOP button, and once the server confirms the stop it writes the outcome into
/// `#selftest` (`messages=K rate=R estop=confirmed`).
enum LivePage {
    static let html = #"""
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>robotctl live</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1d232b; }
  header { display: flex; align-items: center; gap: 16px; padding: 10px 18px; background: #1d232b; color: #fff; }
  header h1 { font-size: 17px; margin: 0; flex: 1; }
  #conn { font-size: 12px; padding: 3px 8px; border-radius: 10px; background: #666; }
  #conn.up { background: #2e7d32; } #conn.down { background: #b71c1c; }
  #estop { font: bold 18px system-ui; color: #fff; background: #d50000; border: 3px solid #7f0000;
           border-radius: 8px; padding: 10px 26px; cursor: pointer; }
  #estop.pressed { background: #7f0000; }
  main { display: grid; grid-template-columns: repeat(auto-fit, minmax(330px, 1fr)); gap: 14px; padding: 14px; }
  section { background: #fff; border-radius: 8px; padding: 10px 14px; box-shadow: 0 1px 2px #0002; }
  h2 { font-size: 14px; margin: 0 0 8px; color: #3a4654; }
  table { border-collapse: collapse; width: 100%; }
  td { padding: 2px 4px; } td.v { text-align: right; font-variant-numeric: tabular-nums; }
  .bar { height: 8px; background: #e3e7ec; border-radius: 4px; position: relative; }
  .bar span { position: absolute; top: 0; bottom: 0; background: #1565c0; border-radius: 4px; }
  #banner { display: none; padding: 10px 18px; background: #ffebee; color: #b71c1c; font-weight: bold; }
  svg text { font: 11px system-ui; fill: #3a4654; }
</style>
</head>
<body>
<header><h1 id="title">robotctl live</h1><span id="conn">connecting</span>
  <button id="estop" title="Stops the motors through the safety layer (latched)">E-STOP</button></header>
<div id="banner">E-stop pressed: the safety layer has stopped the motors.</div>
<main>
  <section><h2>Run</h2><table id="run"></table></section>
  <section><h2>Joints</h2><svg id="dials" width="100%" height="130" role="img" aria-label="joint angles"></svg><table id="joints"></table></section>
  <section><h2>Observation and action</h2><table id="channels"></table></section>
  <section><h2>Return per episode</h2>
    <svg id="returns" width="100%" height="220" role="img" aria-label="return per episode"></svg></section>
</main>
<div id="selftest"></div>
<script>
"use strict";
const params = new URLSearchParams(location.search);
const selftest = params.has("selftest") ? Math.max(1, parseInt(params.get("selftest"), 10) || 1) : 0;
let info = null, episodes = [], messages = 0, firstAt = 0, pressedAt = 0, ws = null;

function fmt(x, d) { return (typeof x === "number" && isFinite(x)) ? x.toFixed(d === undefined ? 3 : d) : "–"; }
function esc(s) { return String(s).replace(/[&<>"]/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;"}[c])); }
function rows(el, list) { document.getElementById(el).innerHTML = list.map(r => "<tr><td>" + esc(r[0]) + "</td><td class=v>" + r[1] + "</td></tr>").join(""); }

// Angles the observation carries as (cos, sin) pairs: "cos_theta"/"sin_theta" or "elbow.cos"/"elbow.sin".
function angleJoints() {
  const names = info.observation.map(c => c.name), out = [];
  names.forEach((n, i) => {
    let base = null, sinName = null;
    if (n.startsWith("cos_")) { base = n.slice(4); sinName = "sin_" + base; }
    else if (n.endsWith(".cos")) { base = n.slice(0, -4); sinName = base + ".sin"; }
    const j = sinName ? names.indexOf(sinName) : -1;
    if (j >= 0) out.push({name: base, cos: i, sin: j});
  });
  return out;
}

function drawDials(obs) {
  const joints = angleJoints(), svg = document.getElementById("dials");
  let s = "";
  joints.forEach((j, k) => {
    const cx = 65 + k * 130, cy = 62, r = 48, a = Math.atan2(obs[j.sin], obs[j.cos]);
    // 0 rad points up; positive angles turn counter-clockwise.
    const x = cx - r * Math.sin(a), y = cy - r * Math.cos(a);
    s += `<circle cx="${cx}" cy="${cy}" r="${r}" fill="none" stroke="#cfd6de"/>` +
         `<line x1="${cx}" y1="${cy}" x2="${x.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#1565c0" stroke-width="5" stroke-linecap="round"/>` +
         `<text x="${cx}" y="${cy + r + 16}" text-anchor="middle">${esc(j.name)} ${fmt(a, 2)} rad</text>`;
  });
  svg.innerHTML = s || `<text x="8" y="20">no angle channels (cos/sin) in this task's observation</text>`;
}

function drawReturns() {
  const svg = document.getElementById("returns"), w = svg.clientWidth || 400, h = 220, pad = 44;
  const ys = episodes.map(e => e.return);
  if (info && typeof info.ceiling === "number") ys.push(info.ceiling);
  if (!episodes.length) { svg.innerHTML = `<text x="8" y="20">no finished episode yet</text>`; return; }
  let lo = Math.min(...ys), hi = Math.max(...ys);
  if (hi - lo < 1e-9) { lo -= 1; hi += 1; }
  const X = i => pad + (w - pad - 10) * (episodes.length === 1 ? 0.5 : i / (episodes.length - 1));
  const Y = v => h - 28 - (h - 40) * (v - lo) / (hi - lo);
  let s = `<line x1="${pad}" y1="${h - 28}" x2="${w - 10}" y2="${h - 28}" stroke="#9aa5b1"/>` +
          `<text x="4" y="${Y(hi) + 4}">${fmt(hi, 0)}</text><text x="4" y="${Y(lo) + 4}">${fmt(lo, 0)}</text>` +
          `<text x="${w / 2}" y="${h - 8}" text-anchor="middle">episode</text>`;
  if (info && typeof info.ceiling === "number")
    s += `<line x1="${pad}" y1="${Y(info.ceiling)}" x2="${w - 10}" y2="${Y(info.ceiling)}" stroke="#2e7d32" stroke-dasharray="5 4"/>` +
         `<text x="${w - 12}" y="${Y(info.ceiling) - 4}" text-anchor="end">ceiling ${fmt(info.ceiling, 0)}</text>`;
  s += `<polyline fill="none" stroke="#1565c0" stroke-width="2" points="${episodes.map((e, i) => X(i).toFixed(1) + "," + Y(e.return).toFixed(1)).join(" ")}"/>`;
  episodes.forEach((e, i) => { if (e.aborted) s += `<circle cx="${X(i)}" cy="${Y(e.return)}" r="3" fill="#d50000"><title>aborted</title></circle>`; });
  svg.innerHTML = s;
}

function onState(m) {
  messages += 1;
  if (!firstAt) firstAt = performance.now();
  (m.finished_episodes || []).forEach(e => episodes.push(e));
  if (episodes.length > 500) episodes.splice(0, episodes.length - 500);
  const loop = m.loop || {};
  rows("run", [
    ["time", fmt(m.time_s, 1) + " s"], ["episode", m.episode + " (" + m.episode_ticks + " ticks)"],
    ["return so far", fmt(m.episode_return, 1)], ["policy version", m.policy_version + (m.teleop ? " (teleop)" : "")],
    ["loop rate", fmt(loop.loop_hz, 1) + " Hz"], ["missed deadlines", loop.missed_deadlines],
    ["tick jitter p99", fmt(loop.jitter_p99_us, 0) + " µs"], ["safety stops", loop.safety_stops],
    ["trainer updates", loop.trainer_updates]]);
  const obs = m.observation || [], act = m.action || [];
  rows("channels", info.observation.map((c, i) => [c.name + " (" + c.unit + ")", fmt(obs[i])])
    .concat(info.action.map((c, i) => ["action " + c.name, fmt(act[i]) +
      ` <div class=bar><span style="left:${50 + 50 * Math.min(0, Math.max(-1, act[i]))}%;width:${50 * Math.min(1, Math.abs(act[i]))}%"></span></div>`])));
  drawDials(obs);
  rows("joints", angleJoints().map(j => [j.name, fmt(Math.atan2(obs[j.sin], obs[j.cos]), 3) + " rad"]));
  drawReturns();
  if (m.estop_pressed) showStopped();
  if (selftest && messages >= selftest && !pressedAt) { pressedAt = performance.now(); document.getElementById("estop").click(); }
}

// The server confirmed an e-stop (its ack, or a snapshot saying so).
function showStopped() {
  document.getElementById("banner").style.display = "block";
  document.getElementById("estop").classList.add("pressed");
  if (selftest && pressedAt) {
    const seconds = (performance.now() - firstAt) / 1000;
    document.getElementById("selftest").textContent =
      "messages=" + messages + " rate=" + (messages / Math.max(seconds, 1e-3)).toFixed(1) + " estop=confirmed";
  }
}

function connect() {
  const conn = document.getElementById("conn");
  ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
  ws.onopen = () => { conn.textContent = "live"; conn.className = "up"; };
  ws.onclose = () => { conn.textContent = "disconnected"; conn.className = "down"; setTimeout(connect, 1000); };
  ws.onmessage = ev => {
    const m = JSON.parse(ev.data);
    if (m.type === "hello") {
      info = m; episodes = (m.episodes || []).slice();
      document.getElementById("title").textContent = m.title;
      document.title = "robotctl live — " + m.title;
      if (m.latest && m.latest.type === "state") onState(Object.assign({}, m.latest, {finished_episodes: []}));
    } else if (m.type === "state" && info) onState(m);
    else if (m.type === "estop_ack") showStopped();
  };
}
document.getElementById("estop").addEventListener("click", () => {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({type: "estop"}));
  document.getElementById("estop").classList.add("pressed");
});
connect();
</script>
</body>
</html>
"""#
}
