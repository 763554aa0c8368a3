// kino's real-browser test: the HLS kino produces plays in hls.js, the DASH
// manifest in dash.js, both in Shaka Player, in Chromium and Firefox, and the
// HLS in WebKit, from a page on another origin (so every request to kino is
// cross-origin).
//
// 1. ffmpeg makes an 8 s 854x480 H.264/AAC clip (two rungs: 480p, 360p) whose
//    picture moves for 3.5 s and then stays still, which the players must play
//    through: kino serve runs with `repeats = once`, so from 4 s on each GOP is
//    an IDR and skipped pictures of a few bytes with a picture parameter set of
//    their own (docs/internals/media.md, "Repeated pictures");
//    `kino user add` makes an admin, `kino serve` starts on a free loopback
//    port, the admin logs in and gets an API key; the clip is uploaded as a
//    private media and transcoded, so the players can only fetch it through
//    the signed /play/<token>/ URLs of the playback answer.
// 2. A tiny static server on another loopback port serves page.html, hls.js,
//    dash.js and Shaka Player.
// 3. Debian's Chromium (chromium.mjs: playwright-core over CDP) and Firefox
//    ESR (bidi.mjs: WebDriver BiDi), with no browser download and the cache
//    off, open it: hls.js plays kino's master.m3u8, dash.js the playback answer's
//    manifest.mpd, then Shaka Player each of them, every player on a fresh
//    page. Checks (players.mjs): Media Source takes every rendition's codecs;
//    playback starts at the beginning and passes 5.5 s (into the still part)
//    with a picture; one level, Representation or variant per rendition (and
//    hls.js's codecs; dash.js's audio track and SourceBuffer; Shaka's codecs);
//    the whole clip in one buffered range; kino's duration;
//    a seek to the end ends; no fatal player error; every request to kino
//    answered with CORS; a screenshot.
//    Then a 90 s clip is uploaded and, once a quarter of it is transcoded,
//    hls.js and Shaka Player (HLS, told to start at 0) play its growing
//    playlists at once (playGrowing()): from the beginning, through the end
//    of the job, to the end of the clip; in Chromium, then again (a new
//    upload) in Firefox.
// 4. WebKit (webkit.mjs: WebKitGTK's MiniBrowser under WebKitWebDriver and
//    Xvfb, Media Source on GStreamer) plays the HLS with hls.js and the DASH
//    with Shaka Player: each starts at the beginning, plays past 5.5 s with
//    the whole clip in one buffered range, seeks to the end and ends. Then
//    kino exits 0 on SIGTERM.
//
// Run by run.sh (which installs node_modules). Env: KINO_BIN (default
// ./build/kino), CHROMIUM (default /usr/bin/chromium), FIREFOX (default
// /usr/bin/firefox-esr), WEBKIT_PLAYERS (webkit.mjs), KINO_BROWSER_ARTIFACTS
// (optional folder to keep the screenshots, the MPD and the server log in).
// Prints one line per check and ends with "N passed, N failed".

import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { launchFirefox } from "./bidi.mjs";
import { launchChromium } from "./chromium.mjs";
import { GROWING_PLAYERS, PLAYERS, playGrowing, playIn } from "./players.mjs";
import { playInWebKit } from "./webkit.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const KINO_BIN = path.resolve(process.env.KINO_BIN || "build/kino");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const FIREFOX = process.env.FIREFOX || "/usr/bin/firefox-esr";
const ARTIFACTS = process.env.KINO_BROWSER_ARTIFACTS || "";
const HLS_JS = path.join(HERE, "node_modules", "hls.js", "dist", "hls.min.js");
const DASH_JS = path.join(HERE, "node_modules", "dashjs", "dist", "modern", "umd", "dash.all.min.js");
const SHAKA_JS = path.join(HERE, "node_modules", "shaka-player", "dist", "shaka-player.compiled.js");
const PAGE = path.join(HERE, "page.html");

const HEALTH_TIMEOUT_S = 30;
const READY_TIMEOUT_S = 300; // the server may run under AddressSanitizer
const PLAY_TIMEOUT_S = 60;   // until currentTime > PLAY_PAST_S
const PLAY_PAST_S = 5.5;     // the picture is still from 3.5 s on
const END_TIMEOUT_S = 60;    // after the seek, until 'ended'
const STOP_TIMEOUT_S = 30;
const LONG_CLIP_S = 90;      // the clip played while kino still transcodes it
const OVERALL_TIMEOUT_S = 560; // below Meson's 600 s, so cleanup still runs

// ---------------------------------------------------------------------------
// Results

let passed = 0;
let failed = 0;
let finished = false;

function indent(text) {
  return String(text).split("\n").map((l) => "    " + l).join("\n");
}

function check(name, ok, detail) {
  if (ok) {
    passed++;
    console.log(`ok   ${name}`);
  } else {
    failed++;
    console.log(`FAIL ${name}`);
    if (detail) console.log(indent(detail));
  }
  return ok;
}

function info(text) {
  console.log(`     ${text}`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const secs = (ms) => (ms / 1000).toFixed(2) + "s";

// ---------------------------------------------------------------------------
// Everything to clean up, on every path

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kino-browser-"));
const state = { server: null, serverLog: null, staticServer: null, browser: null };
let cleaned = false;

function killServerNow() {
  const s = state.server;
  if (s && s.exitCode === null && s.signalCode === null) {
    try { s.kill("SIGKILL"); } catch { /* gone */ }
  }
}

function keepArtifacts() {
  if (!ARTIFACTS) return;
  try {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const shots = fs.readdirSync(tmp).filter((f) => /^screenshot-.*\.png$/.test(f));
    for (const f of [...shots, "manifest.mpd", "server.log"]) {
      const p = path.join(tmp, f);
      if (fs.existsSync(p)) fs.copyFileSync(p, path.join(ARTIFACTS, f));
    }
  } catch (e) {
    info(`could not keep artifacts in ${ARTIFACTS}: ${e}`);
  }
}

async function cleanup() {
  if (cleaned) return;
  cleaned = true;
  if (state.browser) {
    const b = state.browser;
    state.browser = null;
    await Promise.race([b.close().catch(() => {}), sleep(10000)]);
  }
  const s = state.server;
  if (s && s.exitCode === null && s.signalCode === null) {
    s.kill("SIGKILL");
    await Promise.race([new Promise((r) => s.once("exit", r)), sleep(5000)]);
  }
  if (state.staticServer) {
    state.staticServer.closeAllConnections?.();
    state.staticServer.close();
  }
  keepArtifacts();
  fs.rmSync(tmp, { recursive: true, force: true });
}

// Last resort when node itself exits (playwright-core kills its browser on
// exit too).
process.on("exit", () => {
  killServerNow();
  if (!cleaned) {
    try { fs.rmSync(tmp, { recursive: true, force: true }); } catch { /* best effort */ }
  }
});

async function finish(extraFailure) {
  if (finished) return;
  finished = true;
  if (extraFailure) check(extraFailure.name, false, extraFailure.detail);
  await cleanup();
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"]) {
  process.on(sig, () => {
    finish({ name: `test interrupted by ${sig}`, detail: serverLogTail() });
  });
}
process.on("uncaughtException", (e) => finish({ name: "no unexpected exception", detail: e.stack || String(e) }));
process.on("unhandledRejection", (e) => finish({ name: "no unexpected rejection", detail: (e && e.stack) || String(e) }));
setTimeout(() => {
  finish({ name: `whole test within ${OVERALL_TIMEOUT_S}s`, detail: serverLogTail() });
}, OVERALL_TIMEOUT_S * 1000).unref();

// ---------------------------------------------------------------------------
// Helpers

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function run(cmd, args, timeoutMs) {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    p.stderr.on("data", (d) => { err = (err + d).slice(-4000); });
    const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    p.on("error", (e) => { clearTimeout(timer); resolve({ code: -1, err: String(e) }); });
    p.on("exit", (code, signal) => { clearTimeout(timer); resolve({ code: code ?? signal, err }); });
  });
}

function serverLogTail(n = 40) {
  if (!state.serverLog) return "";
  try {
    const lines = fs.readFileSync(state.serverLog, "utf8").split("\n");
    return `server log, last ${n} lines:\n` + lines.slice(-n - 1).join("\n");
  } catch {
    return "";
  }
}

// `kino user add` with the password on standard input, as a script would run it.
function addUser(data, email, password, role) {
  return new Promise((resolve) => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("KINO_")));
    const p = spawn(KINO_BIN, ["user", "add", "--email", email, "--role", role, "--data", data],
                    { stdio: ["pipe", "ignore", "pipe"], env });
    let err = "";
    p.stderr.on("data", (d) => { err = (err + d).slice(-4000); });
    p.on("error", (e) => resolve({ code: -1, err: String(e) }));
    p.on("exit", (code, signal) => resolve({ code: code ?? signal, err }));
    p.stdin.end(password + "\n");
  });
}

async function get(url, opts = {}) {
  const r = await fetch(url, { ...opts, signal: AbortSignal.timeout(opts.timeoutMs || 10000) });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, headers: r.headers, text, json };
}

// The cues of the playback answer's storyboard.vtt, [{start, end, url, x, y, w, h}] with
// each sheet's URL absolute, for checkThumbnails (players.mjs).
async function storyboardCues(url, check) {
  const r = typeof url === "string" ? await get(url) : { status: 0, text: String(url) };
  const time = (h, m, sec, ms) => +h * 3600 + +m * 60 + +sec + +ms / 1000;
  const re = /^(\d\d+):(\d\d):(\d\d)\.(\d\d\d) --> (\d\d+):(\d\d):(\d\d)\.(\d\d\d)\n(\S+)#xywh=(\d+),(\d+),(\d+),(\d+)$/gm;
  const cues = [...r.text.matchAll(re)].map((m) => ({
    start: time(m[1], m[2], m[3], m[4]), end: time(m[5], m[6], m[7], m[8]),
    url: new URL(m[9], url).href, x: +m[10], y: +m[11], w: +m[12], h: +m[13],
  }));
  check(`the playback answer's storyboard.vtt -> 200 with cues (${cues.length})`,
        r.status === 200 && cues.length > 0, describe(r));
  return cues;
}

function describe(r) {
  return `HTTP ${r.status}: ${r.text.slice(0, 500)}`;
}

// POST /api/v1/upload: `file` as a private media. Returns {status, text, json}.
async function upload(base, auth, file, title) {
  const form = new FormData();
  form.append("title", title);
  form.append("visibility", "private");
  form.append("file", new Blob([fs.readFileSync(file)], { type: "video/mp4" }), path.basename(file));
  try {
    const resp = await fetch(`${base}/api/v1/upload`, {
      method: "POST", body: form, headers: auth, signal: AbortSignal.timeout(120000),
    });
    const text = await resp.text();
    return { status: resp.status, text, json: (() => { try { return JSON.parse(text); } catch { return null; } })() };
  } catch (e) {
    return { status: 0, text: String(e), json: null };
  }
}

// GET /api/v1/media/{id} every pollMs until until(media) holds, the media
// failed, or timeoutS passed. Returns the last answer (or {error}/{http}).
async function pollMedia(base, auth, id, until, timeoutS, pollMs = 500) {
  const deadline = Date.now() + timeoutS * 1000;
  let last = null;
  while (Date.now() < deadline) {
    try {
      const r = await get(`${base}/api/v1/media/${id}`, { headers: auth });
      last = r.json || { http: describe(r) };
      if (r.json && (until(r.json) || r.json.status === "failed")) break;
    } catch (e) {
      last = { error: String(e) };
    }
    await sleep(pollMs);
  }
  return last;
}

// ---------------------------------------------------------------------------
// The engines players.mjs plays in: Debian's builds, never a downloaded
// browser, each with a fresh profile and no cache (both players fetch the
// same segments, which kino marks immutable: with a cache, the second would
// never ask kino for them and its CORS would go unchecked). launch() reports
// its own check and returns the browser (chromium.mjs, bidi.mjs) or null.

const CHROMIUM_ENGINE = {
  name: "Chromium",
  cancelled: "net::ERR_ABORTED", // how a request the player aborted (a seek) fails
  async launch() {
    const t0 = Date.now();
    try {
      const b = await launchChromium({ executable: CHROMIUM, profileDir: path.join(tmp, "chromium-profile") });
      check(`Chromium starts (${b.version}, ${secs(Date.now() - t0)})`, true);
      return b;
    } catch (e) {
      check(`Chromium (${CHROMIUM}) starts`, false, String(e.stack || e));
      return null;
    }
  },
};

const FIREFOX_ENGINE = {
  name: "Firefox",
  cancelled: "NS_BINDING_ABORTED",
  async launch() {
    if (!check(`Firefox is installed (${FIREFOX})`, fs.existsSync(FIREFOX),
               "run scripts/install-deps.sh --test as root (Debian package firefox-esr), or set FIREFOX")) {
      return null;
    }
    const t0 = Date.now();
    try {
      const b = await launchFirefox({
        executable: FIREFOX, profileDir: path.join(tmp, "firefox-profile"),
        prefs: { "browser.cache.disk.enable": false, "browser.cache.memory.enable": false },
      });
      check(`Firefox starts (${b.version}, ${secs(Date.now() - t0)})`, true);
      return b;
    } catch (e) {
      check(`Firefox (${FIREFOX}) starts`, false, String(e.stack || e));
      return null;
    }
  },
};

// ---------------------------------------------------------------------------
// The test

async function main() {
  info(`kino: ${KINO_BIN}; browsers: ${CHROMIUM}, ${FIREFOX}; node ${process.version}; temp: ${tmp}`);

  // An 8 s 854x480 H.264 + stereo AAC clip: 3.5 s of motion, then its last picture held.
  const clip = path.join(tmp, "clip.mp4");
  const ff = await run("ffmpeg", [
    "-hide_banner", "-loglevel", "error", "-y",
    "-f", "lavfi", "-i", "testsrc2=size=854x480:rate=30:duration=3.5,tpad=stop_mode=clone:stop_duration=4.5",
    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=8",
    "-ac", "2", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
    "-c:a", "aac", "-b:a", "128k", "-shortest", "-movflags", "+faststart", clip,
  ], 120000);
  if (!check("ffmpeg makes an 8 s 854x480 H.264/AAC test clip", ff.code === 0 && fs.existsSync(clip),
             `ffmpeg exited ${ff.code}\n${ff.err}`)) return;
  // A longer one, still being transcoded while a player starts on it (kino takes
  // about 20 s for it under AddressSanitizer on two cores, and is playable after 1-2 s).
  const longClip = path.join(tmp, "long.mp4");
  {
    const r = await run("ffmpeg", [
      "-hide_banner", "-loglevel", "error", "-y",
      "-f", "lavfi", "-i", `testsrc2=size=854x480:rate=30:duration=${LONG_CLIP_S}`,
      "-f", "lavfi", "-i", `sine=frequency=440:sample_rate=48000:duration=${LONG_CLIP_S}`,
      "-ac", "2", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "30", "-pix_fmt", "yuv420p",
      "-c:a", "aac", "-b:a", "96k", "-shortest", longClip,
    ], 120000);
    if (!check(`ffmpeg makes a ${LONG_CLIP_S} s 854x480 H.264/AAC test clip`, r.code === 0 && fs.existsSync(longClip),
               `ffmpeg exited ${r.code}\n${r.err}`)) return;
  }

  // An admin account, then kino serve on a free loopback port.
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const data = path.join(tmp, "data");
  const admin = { email: "admin@browser.example", password: "browser test password" };
  {
    const r = await addUser(data, admin.email, admin.password, "admin");
    if (!check("kino user add makes an admin", r.code === 0, r.err)) return;
  }
  state.serverLog = path.join(tmp, "server.log");
  const logFd = fs.openSync(state.serverLog, "a");
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("KINO_")));
  // repeats = once: the still part becomes skipped pictures after each GOP's IDR, the stream
  // shape that differs most from plain x264 output (docs/internals/media.md, "Repeated pictures").
  const args = ["serve", "--listen", `127.0.0.1:${port}`, "--data", data, "--workers", "2",
                "--repeats", "once"];
  state.server = spawn(KINO_BIN, args, { stdio: ["ignore", logFd, logFd], env });
  fs.closeSync(logFd);
  const serverExit = new Promise((resolve) => {
    state.server.on("exit", (code, signal) => resolve({ code, signal }));
    state.server.on("error", (e) => resolve({ code: -1, signal: null, error: String(e) }));
  });
  {
    const deadline = Date.now() + HEALTH_TIMEOUT_S * 1000;
    let last = "no answer";
    let up = false;
    while (Date.now() < deadline) {
      if (state.server.exitCode !== null || state.server.signalCode !== null) {
        last = `kino exited (${state.server.exitCode ?? state.server.signalCode})`;
        break;
      }
      try {
        const r = await get(`${base}/health`, { timeoutMs: 2000 });
        if (r.status === 200) { up = true; break; }
        last = describe(r);
      } catch (e) {
        last = String(e);
      }
      await sleep(100);
    }
    if (!check(`kino serve starts and GET /health -> 200 (port ${port})`, up,
               `${last}\n${serverLogTail()}`)) return;
  }

  // Log in, then work with an API key (access tokens live 15 minutes).
  let auth;
  {
    const json = { "Content-Type": "application/json" };
    const login = await get(`${base}/api/v1/auth/login`, {
      method: "POST", headers: json, body: JSON.stringify(admin),
    });
    if (!check("POST /api/v1/auth/login -> 200 with an access token",
               login.status === 200 && login.json && typeof login.json.access_token === "string",
               describe(login))) return;
    const key = await get(`${base}/api/v1/me/api-keys`, {
      method: "POST", headers: { ...json, Authorization: `Bearer ${login.json.access_token}` },
      body: JSON.stringify({ name: "browser test" }),
    });
    if (!check("POST /api/v1/me/api-keys -> 201 with a kk_ key",
               key.status === 201 && key.json && /^kk_/.test(key.json.key || ""), describe(key))) return;
    auth = { Authorization: `Bearer ${key.json.key}` };
  }

  // Upload, then poll until ready.
  let media;
  {
    const r = await upload(base, auth, clip, "browser test clip");
    if (!check("POST /api/v1/upload (multipart, field file, visibility private) -> 201 with an id",
               r.status === 201 && r.json && typeof r.json.id === "string" &&
               r.json.visibility === "private", describe(r))) return;
    media = r.json;
  }
  const id = media.id;
  {
    const t0 = Date.now();
    media = await pollMedia(base, auth, id, (m) => m.status === "ready", READY_TIMEOUT_S) || media;
    if (!check(`media ${id} becomes ready within ${READY_TIMEOUT_S}s (${secs(Date.now() - t0)})`,
               media.status === "ready", `last answer: ${JSON.stringify(media)}\n${serverLogTail()}`)) return;
  }
  const renditions = Array.isArray(media.renditions) ? media.renditions : [];
  info(`renditions: ${renditions.map((x) => `${x.name} ${x.width}x${x.height} ${x.codecs}`).join("; ")}; ` +
       `duration_s ${media.duration_s}`);
  if (!check("media JSON lists at least one rendition", renditions.length > 0, JSON.stringify(media))) return;

  let hlsUrl;
  let dashUrl;
  let storyboard = [];
  {
    const r = await get(`${base}/api/v1/media/${id}/playback`, { headers: auth });
    hlsUrl = r.json && r.json.hls;
    if (!check("GET /api/v1/media/{id}/playback -> 200 {hls: url under /play/<token>/}",
               r.status === 200 && typeof hlsUrl === "string" && hlsUrl.startsWith(base + "/play/") &&
               /\/master\.m3u8$/.test(hlsUrl),
               describe(r))) return;
    info(`hls: ${hlsUrl}`);
    dashUrl = r.json && r.json.dash;
    if (check("GET /api/v1/media/{id}/playback -> dash: url of manifest.mpd (media is ready)",
              typeof dashUrl === "string" && dashUrl.startsWith(base + "/") && /\/manifest\.mpd$/.test(dashUrl),
              describe(r))) {
      info(`dash: ${dashUrl}`);
    } else {
      dashUrl = null;
    }
    storyboard = await storyboardCues(r.json && r.json.storyboard, check);
  }

  // The media is private: its plain URL is refused, so the players below get everything through the token.
  {
    const r = await get(`${base}/media/${id}/master.m3u8`);
    check("private media: the plain /media/<id>/master.m3u8 -> 404", r.status === 404, describe(r));
  }

  // The page's origin: another loopback port.
  const pagePort = await freePort();
  const pageOrigin = `http://127.0.0.1:${pagePort}`;
  state.staticServer = http.createServer((req, res) => {
    const files = { "/": [PAGE, "text/html; charset=utf-8"], "/index.html": [PAGE, "text/html; charset=utf-8"],
                    "/hls.min.js": [HLS_JS, "text/javascript; charset=utf-8"],
                    "/dash.all.min.js": [DASH_JS, "text/javascript; charset=utf-8"],
                    "/shaka-player.compiled.js": [SHAKA_JS, "text/javascript; charset=utf-8"] };
    const f = files[req.url.split("?")[0]];
    if (!f || req.method !== "GET") {
      res.writeHead(404, { "Content-Type": "text/plain" });
      res.end("not found\n");
      return;
    }
    res.writeHead(200, { "Content-Type": f[1], "Cache-Control": "no-store" });
    res.end(fs.readFileSync(f[0]));
  });
  await new Promise((resolve, reject) => {
    state.staticServer.once("error", reject);
    state.staticServer.listen(pagePort, "127.0.0.1", resolve);
  });
  info(`page origin: ${pageOrigin}; kino origin: ${base}`);

  // What Chromium will see: a cross-origin GET of the master playlist.
  {
    const r = await get(hlsUrl, { headers: { Origin: pageOrigin } });
    const acao = r.headers.get("access-control-allow-origin");
    check(`GET master.m3u8 with Origin: ${pageOrigin} -> 200 with Access-Control-Allow-Origin (${acao})`,
          r.status === 200 && (acao === "*" || acao === pageOrigin),
          `HTTP ${r.status}, Access-Control-Allow-Origin: ${acao}\n${r.text.slice(0, 1000)}`);
  }
  let mpd = "";
  if (dashUrl) {
    const r = await get(dashUrl, { headers: { Origin: pageOrigin } });
    const acao = r.headers.get("access-control-allow-origin");
    const type = r.headers.get("content-type") || "";
    mpd = r.text;
    fs.writeFileSync(path.join(tmp, "manifest.mpd"), mpd);
    check(`GET manifest.mpd with Origin: ${pageOrigin} -> 200 application/dash+xml with ` +
          `Access-Control-Allow-Origin (${acao})`,
          r.status === 200 && (acao === "*" || acao === pageOrigin) && type.startsWith("application/dash+xml") &&
          mpd.includes("<MPD"),
          `HTTP ${r.status}, Content-Type: ${type}, Access-Control-Allow-Origin: ${acao}\n${mpd.slice(0, 4000)}`);
  }

  const limits = { playPast: PLAY_PAST_S, playTimeout: PLAY_TIMEOUT_S, endTimeout: END_TIMEOUT_S };
  // The long clip, uploaded and played once a quarter of it is transcoded (players.mjs, playGrowing()).
  const playWhileProcessing = async (engine, browser) => {
    const r = await upload(base, auth, longClip, "browser test: played while processing");
    if (!check(`POST /api/v1/upload of the ${LONG_CLIP_S} s clip -> 201`,
               r.status === 201 && r.json && typeof r.json.id === "string", describe(r))) return;
    const lid = r.json.id;
    const t0 = Date.now();
    const m = await pollMedia(base, auth, lid, (x) => x.playable === true, READY_TIMEOUT_S, 100);
    if (!check(`the ${LONG_CLIP_S} s clip becomes playable (${secs(Date.now() - t0)})`, m && m.playable === true,
               `last answer: ${JSON.stringify(m)}\n${serverLogTail()}`)) return;
    // A viewer who comes a little later: with a quarter transcoded, the growing playlists
    // hold several segments, and a player that treats them as live TV starts near their end.
    await pollMedia(base, auth, lid, (x) => x.progress >= 0.25 || x.status === "ready", READY_TIMEOUT_S, 100);
    const pb = await get(`${base}/api/v1/media/${lid}/playback`, { headers: auth });
    if (!check("its playback answer gives the hls URL while processing",
               pb.status === 200 && pb.json && typeof pb.json.hls === "string", describe(pb))) return;
    const now = await get(`${base}/api/v1/media/${lid}`, { headers: auth });
    const processing = now.json && now.json.status === "processing"
      ? `status processing, progress ${Number(now.json.progress).toFixed(2)}` : null;
    // Both players at once, each on its own page: both must open while it is processing.
    await Promise.all(GROWING_PLAYERS.map((player) => playGrowing({
      engine, browser, player, url: pb.json.hls, base, pageOrigin, processing, limits, check, info,
      waitReady: () => pollMedia(base, auth, lid, (x) => x.status === "ready", READY_TIMEOUT_S),
    })));
  };

  // Chromium, then Firefox, each with every player of players.mjs (hls.js, dash.js, Shaka Player).
  const ttff = {};
  for (const engine of [CHROMIUM_ENGINE, FIREFOX_ENGINE]) {
    const browser = await engine.launch();
    if (!browser) continue;
    state.browser = browser;
    for (const player of Object.keys(PLAYERS)) {
      const url = PLAYERS[player].manifest === "hls" ? hlsUrl : dashUrl;
      if (!url) continue;
      ttff[`${engine.name} ${player}`] = await playIn({
        engine, browser, player, url, base, pageOrigin, media, renditions, storyboard, tmp, check, info,
        limits,
        extra: PLAYERS[player].manifest === "dash" ? `the MPD (${dashUrl}):\n${mpd}` : "",
      });
    }
    // A new upload per engine: each must open it while it is processing.
    await playWhileProcessing(engine, browser);
    state.browser = null;
    await Promise.race([browser.close().catch(() => {}), sleep(10000)]);
  }
  info("time to first frame: " + Object.entries(ttff)
    .map(([k, v]) => `${k} ${v == null ? "never" : secs(v)}`).join(", "));

  // WebKit (webkit.mjs).
  await playInWebKit({ hlsUrl, dashUrl, pageOrigin, media, check, info, freePort, limits });

  // Then kino must stop cleanly on SIGTERM.
  {
    const ts = Date.now();
    state.server.kill("SIGTERM");
    const r = await Promise.race([serverExit, sleep(STOP_TIMEOUT_S * 1000).then(() => null)]);
    check(`kino exits 0 on SIGTERM within ${STOP_TIMEOUT_S}s` + (r ? ` (${secs(Date.now() - ts)})` : ""),
          r !== null && r.code === 0,
          (r ? `exit code ${r.code}, signal ${r.signal}` : "still running; killed") + "\n" + serverLogTail());
  }
  {
    const log = fs.readFileSync(state.serverLog, "utf8");
    const san = log.split("\n").filter((l) => /AddressSanitizer|LeakSanitizer|runtime error:/.test(l));
    check("no sanitizer reports in the server log", san.length === 0, san.slice(0, 10).join("\n"));
  }
}

main().then(() => finish(), (e) => finish({ name: "no unexpected exception", detail: e.stack || String(e) }));
