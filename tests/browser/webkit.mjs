// The WebKit part of kino's browser test: hls.js plays kino's HLS and Shaka
// Player its DASH in WebKitGTK's MiniBrowser (Debian's webkit2gtk-driver),
// driven through WebKitWebDriver over the W3C WebDriver protocol, under Xvfb.
//
// Why WebKit: it is Safari's engine, and on Linux its Media Source Extensions
// run on GStreamer, as WPE WebKit does on many TVs and set-top boxes. GStreamer
// reads an MP4 in its own ways (docs/internals/media.md, "Timeline" and
// "Repeated pictures"): samples longer than a frame, as `repeats = once` wrote
// a still before it wrote skipped pictures, left holes in the buffer that
// hls.js jumped.
//
// Checks: playback starts near 0 and passes PLAY_PAST_S, the buffer is one
// range over the whole clip (no hole), a seek to the last second plays to
// 'ended', and the player raises no fatal error.
//
// Not played here by default (WEBKIT_PLAYERS can ask for them, to try a newer
// WebKit or player):
// - dash.js 5.0.3: in this WebKit it jumps to the last second of the DASH that
//   FFmpeg's own dash muxer makes of the same clip, and on kino's MPD its seek
//   at the start hung WebKit's pipeline in about half the runs (readyState 1,
//   no 'seeked').
// - Shaka Player's HLS: 'ended' at 0 with nothing buffered, on FFmpeg's own
//   fMP4 HLS of a clip just as on kino's (GStreamer's own HLS player,
//   `gst-launch-1.0 playbin`, plays both to the end).

import { spawn } from "node:child_process";
import fs from "node:fs";
import { PLAYERS, startOf } from "./players.mjs";

const DRIVER = process.env.WEBKIT_DRIVER || "/usr/bin/WebKitWebDriver";
const XVFB_RUN = "/usr/bin/xvfb-run";

// MiniBrowser lives in the multiarch library folder of libwebkit2gtk-4.1-0.
export function findMiniBrowser() {
  if (process.env.WEBKIT_MINIBROWSER) return process.env.WEBKIT_MINIBROWSER;
  for (const dir of fs.existsSync("/usr/lib") ? fs.readdirSync("/usr/lib") : []) {
    const p = `/usr/lib/${dir}/webkit2gtk-4.1/MiniBrowser`;
    if (fs.existsSync(p)) return p;
  }
  return null;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A W3C WebDriver session: just the commands this test needs.
class Session {
  constructor(base, id, caps) {
    this.base = base;
    this.id = id;
    this.caps = caps || {};
  }

  static async call(base, method, path, body, timeoutMs = 60000) {
    const r = await fetch(base + path, {
      method, headers: { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const j = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(`WebDriver ${method} ${path}: HTTP ${r.status} ${JSON.stringify(j).slice(0, 500)}`);
    return j.value;
  }

  static async open(base, miniBrowser) {
    const v = await Session.call(base, "POST", "/session", {
      capabilities: { alwaysMatch: { "webkitgtk:browserOptions": {
        binary: miniBrowser, args: ["--automation", "--enable-mediasource=true"] } } },
    });
    return new Session(base, v.sessionId, v.capabilities);
  }

  go(url) {
    return Session.call(this.base, "POST", `/session/${this.id}/url`, { url });
  }

  // Runs `script` (a function body; arguments[i] is args[i]) in the page.
  run(script, ...args) {
    return Session.call(this.base, "POST", `/session/${this.id}/execute/sync`, { script, args });
  }

  close() {
    return Session.call(this.base, "DELETE", `/session/${this.id}`, undefined, 15000).catch(() => {});
  }
}

// What the page knows, as JSON text: WebKit's
// driver cannot return a NaN (the duration before the metadata), JSON.stringify makes it null.
const STATE = `
  return JSON.stringify({ s: kinoTest.state(), events: kinoTest.events,
                          errors: kinoTest.errors, playError: kinoTest.playError });`;

async function pageState(session) {
  const t = JSON.parse(await session.run(STATE));
  t.s.duration = t.s.duration || 0;
  return t;
}

async function poll(session, until, timeoutS) {
  const deadline = Date.now() + timeoutS * 1000;
  let t = await pageState(session);
  while (!until(t) && Date.now() < deadline) {
    await sleep(200);
    t = await pageState(session);
  }
  return t;
}

const fatal = (t) => t.errors.filter((e) => e.fatal);
const story = (t) => `page state: ${JSON.stringify(t).slice(0, 6000)}`;

async function playOne(o, session, player) {
  const { check, info, pageOrigin, media, limits } = o;
  const p = PLAYERS[player];
  const label = `WebKit ${p.label}`;
  await session.go(`${pageOrigin}/index.html?player=${player}`);
  let t = await pageState(session);
  if (!check(`${label} loads and finds Media Source support`,
             await session.run("return kinoTest[arguments[0]];", p.supported), story(t))) return;
  await session.run("kinoTest[arguments[0]](arguments[1]);", p.start, p.manifest === "hls" ? o.hlsUrl : o.dashUrl);
  t = await poll(session, (x) => x.s.currentTime > limits.playPast || fatal(x).length > 0 || x.s.mediaError,
                 limits.playTimeout);
  const played = t.s.currentTime > limits.playPast;
  check(`${label}: plays past ${limits.playPast}s within ${limits.playTimeout}s ` +
        `(currentTime ${t.s.currentTime.toFixed(2)})`, played, story(t));
  {
    const start = startOf(t.events, p.startNudge);
    check(`${label}: ${start.text}`, start.ok, story(t));
  }
  // By then the whole 8 s clip is in the buffer: one range, no hole.
  t = await poll(session, (x) => x.s.buffered.length > 1 ||
                 (x.s.buffered.length === 1 && x.s.buffered[0][1] >= x.s.duration - 0.1), 20);
  const ranges = t.s.buffered.map(([a, b]) => `[${a.toFixed(3)}, ${b.toFixed(3)}]`).join(" ");
  check(`${label}: the buffer is one range over the whole clip (${ranges || "empty"} of ` +
        `${t.s.duration.toFixed(3)} s)`,
        t.s.buffered.length === 1 && t.s.buffered[0][0] <= 0.1 && t.s.buffered[0][1] >= t.s.duration - 0.1,
        story(t));
  if (played) {
    const target = Math.max(0, t.s.duration - 1);
    await session.run("document.getElementById('v').currentTime = arguments[0];", target);
    t = await poll(session, (x) => x.s.ended || fatal(x).length > 0 || x.s.mediaError, limits.endTimeout);
    check(`${label}: seek to ${target.toFixed(2)}s plays to the end (currentTime ` +
          `${t.s.currentTime.toFixed(2)} of ${t.s.duration.toFixed(2)})`, t.s.ended, story(t));
    check(`${label}: video.duration (${t.s.duration.toFixed(2)}s) matches duration_s (${media.duration_s})`,
          Math.abs(t.s.duration - media.duration_s) < 0.5, story(t));
  }
  for (const e of t.errors.filter((x) => !x.fatal)) info(`${label} non-fatal error: ${JSON.stringify(e).slice(0, 300)}`);
  check(`${label}: no fatal player error (${t.errors.length} errors in all)`,
        fatal(t).length === 0 && !t.s.mediaError, story(t));
}

// Plays with each of o.players (keys of PLAYERS; default: the env WEBKIT_PLAYERS, a comma-separated
// list, or "hls,shaka-dash") o.hlsUrl or o.dashUrl from o.pageOrigin; o.check and o.info report,
// o.freePort() gives a free loopback port. Returns when done, with
// WebKitWebDriver, MiniBrowser and Xvfb gone.
export async function playInWebKit(o) {
  const { check, info } = o;
  const miniBrowser = findMiniBrowser();
  for (const [what, p] of [["WebKitWebDriver", DRIVER], ["xvfb-run", XVFB_RUN], ["MiniBrowser", miniBrowser]]) {
    if (!check(`${what} is installed (${p || "not found"})`, p && fs.existsSync(p),
               "run scripts/install-deps.sh --test as root (Debian: webkit2gtk-driver, xvfb, xauth, " +
               "gstreamer1.0-plugins-good, gstreamer1.0-plugins-bad, gstreamer1.0-libav)")) return;
  }
  const port = await o.freePort();
  const base = `http://127.0.0.1:${port}`;
  // Its own process group, so Xvfb, the driver and the browser all go at the end.
  const driver = spawn(XVFB_RUN, ["-a", DRIVER, `--port=${port}`],
                       { stdio: ["ignore", "ignore", "pipe"], detached: true });
  let driverErr = "";
  driver.stderr.on("data", (d) => { driverErr = (driverErr + d).slice(-4000); });
  const stop = () => {
    try { process.kill(-driver.pid, "SIGKILL"); } catch { /* gone */ }
  };
  process.on("exit", stop);
  try {
    const t0 = Date.now();
    let ready = false;
    while (!ready && Date.now() - t0 < 30000) {
      try {
        ready = (await Session.call(base, "GET", "/status", undefined, 2000)).ready === true;
      } catch { /* not listening yet */ }
      if (!ready) await sleep(200);
    }
    if (!check(`WebKitWebDriver answers on ${base} under Xvfb`, ready, driverErr)) return;
    const players = o.players || (process.env.WEBKIT_PLAYERS || "hls,shaka-dash").split(",");
    for (const [i, player] of players.entries()) {
      if (!check(`WebKit: '${player}' is a player of players.mjs`, player in PLAYERS,
                 `WEBKIT_PLAYERS takes ${Object.keys(PLAYERS).join(", ")}`)) continue;
      if (PLAYERS[player].manifest === "dash" && !o.dashUrl) continue;
      let session;
      try {
        session = await Session.open(base, miniBrowser);
      } catch (e) {
        check("MiniBrowser starts (WebDriver session)", false, `${e}\n${driverErr}`);
        return;
      }
      try {
        if (i === 0) {
          info(`WebKit: ${session.caps.browserName || "?"} ${session.caps.browserVersion || "?"} (${miniBrowser})`);
        }
        await playOne(o, session, player);
      } catch (e) {
        check(`WebKit ${player}: the WebDriver commands succeed`, false, String(e.stack || e));
      } finally {
        await session.close();
      }
    }
  } finally {
    stop();
    process.off("exit", stop);
  }
}
