// hls.js, dash.js and Shaka Player on pages of a browser: the checks play.mjs
// runs in Chromium (chromium.mjs: Playwright over CDP) and Firefox (bidi.mjs:
// WebDriver BiDi). WebKit is driven differently (webkit.mjs).
//
// Each player gets a fresh page of the test page (page.html, served from
// another origin than kino) and must:
// - find Media Source support and load from the page origin;
// - play past limits.playPast, starting at the beginning, with a picture;
// - hold the whole clip in one buffered range (no hole: a player jumps holes,
//   and the viewer loses what was in them);
// - see one level, Representation or variant per rendition (hls.js: and the
//   codecs it parsed; dash.js: an audio track and an audio SourceBuffer;
//   Shaka: H.264 and AAC in each variant);
// - report kino's duration, seek to the last second and end there;
// - dash.js and Shaka (DASH and HLS) give for every time the seek preview that
//   kino's storyboard.vtt gives;
// - raise no fatal player error, and get every cross-origin request to kino
//   answered with CORS;
// - leave a screenshot.
//
// Every check's name starts with the engine and the player
// ("Firefox dash.js: ..."), so one failing engine is told apart at once.

import fs from "node:fs";
import path from "node:path";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const secs = (ms) => (ms / 1000).toFixed(2) + "s";

// A page with its console, its requests to kino and a checkPage(name, ok,
// detail) that is check() with the page's story added when the check fails
// (in full at the page's first failure). fields: the kinoTest properties
// worth showing for this player; extra: more text for the story (dash.js: the
// MPD).
async function openPage(browser, base, check, fields, extra = "") {
  const page = await browser.newPage();
  const consoleLines = [];
  const kinoRequests = []; // every request the page made to kino
  page.onConsole((line) => consoleLines.push(line));
  page.onRequest((q) => { if (q.url.startsWith(base)) kinoRequests.push(q); });
  let diagnosed = false;
  const diagnostics = async () => {
    if (diagnosed) return "(page state, requests and console: see the first failure above)";
    diagnosed = true;
    let s = {};
    try {
      s = await page.evaluate((names) => {
        const o = { state: kinoTest.state(), errors: kinoTest.errors, events: kinoTest.events,
                    playError: kinoTest.playError };
        for (const n of names) o[n] = kinoTest[n];
        return o;
      }, fields);
    } catch (e) {
      s = { evaluateError: String(e) };
    }
    return [`page state: ${JSON.stringify(s)}`,
            `requests to kino:\n${kinoRequests.map((q) => "  " + JSON.stringify(q)).join("\n")}`,
            `console:\n${consoleLines.map((l) => "  " + l).join("\n")}`].concat(extra ? [extra] : []).join("\n");
  };
  const checkPage = async (name, ok, detail = "") =>
    check(name, ok, ok ? "" : [detail, await diagnostics()].filter(Boolean).join("\n"));
  return { page, kinoRequests, checkPage };
}

// Requests that failed or came without CORS. One the player cancelled itself
// (a seek made the segment in flight useless) got no answer and says nothing
// about CORS, which a refused answer shows as another failure; it is listed,
// not counted. engine.cancelled names that failure in the engine's words.
function failedRequests(engine, reqs, info) {
  for (const q of reqs.filter((x) => x.failure === engine.cancelled)) {
    info(`${engine.name}: cancelled by the player: ${q.method} ${q.url}`);
  }
  return reqs.filter((q) => q.failure !== engine.cancelled &&
                            (q.failure || !(q.status >= 200 && q.status < 400) || !q.acao));
}

// Where playback began, against where the media begins: a player that found
// nothing to play where it stood jumps ahead, and what it jumps over is never
// seen. The clips' first picture is at x264's B-frame delay, two frames
// (docs/internals/media.md, "Timeline"), where Chromium and Firefox begin
// the buffered range (WebKit buffers from 0). One more frame is allowed for a
// player that moves to the first picture itself, and `nudge` more for one
// known to jump that hole further (hls.js: 0.1 s, PLAYERS.hls.startNudge).
// events: the page's video events.
const FRAME_S = 1 / 30;
const FIRST_PICTURE_S = 2 * FRAME_S;
export function startOf(events, nudge = 0) {
  const playing = events.find((e) => e.ev === "playing");
  const limit = FIRST_PICTURE_S + FRAME_S + nudge;
  return {
    ok: !!playing && playing.ct <= limit,
    text: `playback starts at the beginning (first 'playing' at ` +
          `${playing ? playing.ct.toFixed(3) : "never"} s; first picture at ${FIRST_PICTURE_S.toFixed(3)} s, ` +
          `at most ${limit.toFixed(3)} s)`,
  };
}

const heights = (xs) => xs.map((x) => x.height).sort((a, b) => b - a).join(",");

// Seek previews from the MPD's thumbnail track: for the middle of every cue of
// kino's storyboard.vtt (o.storyboard: [{start, end, url, x, y, w, h}], the
// sheet's URL absolute), the player must name the same sheet and tile, and
// the sheet must load at the size the player takes it to have (Shaka's UI
// sizes the sprite by it; dash.js divides it by the grid).
async function checkThumbnails(o, label, page, checkPage) {
  const cues = o.storyboard || [];
  if (!await checkPage(`${label}: kino's storyboard.vtt has cues to compare with (${cues.length})`,
                       cues.length > 0)) return;
  const times = cues.map((c) => (c.start + c.end) / 2);
  const got = await page.evaluate(async (ts) => {
    const out = [];
    for (const x of ts) out.push(await kinoTest.thumbnail(x));
    return out;
  }, times);
  const tile = (x) => `${x.url}#xywh=${x.x},${x.y},${x.w ?? x.width},${x.h ?? x.height}`;
  const wrong = [];
  cues.forEach((c, i) => {
    const g = got[i] || { none: "nothing" };
    if (g.none || tile(g) !== tile(c)) {
      wrong.push(`${times[i].toFixed(3)} s: player ${g.none || tile(g)}, WebVTT ${tile(c)}`);
    }
  });
  await checkPage(`${label}: a seek preview for each of the ${cues.length} cues, the tile the WebVTT names`,
                  wrong.length === 0, wrong.slice(0, 4).join("\n"));
  const sizes = [...new Set(got.filter((g) => g && !g.none).map((g) =>
    `${g.url}: loads ${g.natural ? g.natural.join("x") : "not"}` +
    (g.imageWidth ? `, player takes ${g.imageWidth}x${g.imageHeight}` : "")))];
  const ok = got.every((g) => g && !g.none && g.natural &&
    (!g.imageWidth || (g.natural[0] === g.imageWidth && g.natural[1] === g.imageHeight)));
  await checkPage(`${label}: every sheet loads on the page at the size the player takes (${sizes.join("; ")})`, ok);
}

// The players, by the name play.mjs gives them. manifest: which URL of the
// playback answer it plays; supported, version: the kinoTest fields that say
// whether it loaded; start: the kinoTest function that plays; fields: what the
// page knows worth showing on a failure; failing(error): whether a recorded
// error event stops it; tracks(o, label, t, checkPage): the checks of what
// it found in the manifest (t: the page's kinoTest fields, read after playback
// started).
export const PLAYERS = {
  hls: {
    label: "hls.js", manifest: "hls", supported: "hlsSupported", version: "hlsVersion", start: "start",
    fields: ["levels", "bufferCodecs"],
    // hls.js goes on after a non-fatal error (it retries, or jumps a small gap).
    failing: (e) => e.fatal,
    // Started at 0, where Chromium finds nothing to play, hls.js jumps to 0.1 s past the first
    // picture (a non-fatal bufferSeekOverHole). Sending it to the first picture (EXT-X-START at
    // 0.067) hangs WebKit at that first seek: docs/internals/media.md, "Timeline".
    startNudge: 0.1,
    async tracks({ info, renditions }, label, t, checkPage) {
      const n = t.levels ? t.levels.length : 0;
      await checkPage(`${label}: levels (${n}) == renditions in the media JSON (${renditions.length})`,
                      n === renditions.length, `levels: ${JSON.stringify(t.levels)}`);
      const buf = t.bufferCodecs ? Object.entries(t.bufferCodecs).map(([k, v]) => `${k}=${v.codec}`) : [];
      const all = buf.join(" ");
      info(`${label} levels: ${(t.levels || []).map((l) => `${l.height}p ${l.videoCodec || "?"},` +
           `${l.audioCodec || "?"}`).join("; ")}; SourceBuffers: ${buf.join(", ") || "none"}`);
      await checkPage(`${label}: parsed H.264 and AAC for its SourceBuffers (${buf.join(", ") || "none"})`,
                      /avc1\./.test(all) && /mp4a\./.test(all));
    },
  },
  dash: {
    label: "dash.js", manifest: "dash", supported: "dashSupported", version: "dashVersion", start: "startDash",
    fields: ["dash", "sourceBuffers"], thumbnails: true,
    // the page records dash.js's ERROR and PLAYBACK_ERROR events only.
    failing: () => true,
    async tracks({ info, renditions }, label, t, checkPage) {
      const reps = (t.dash && t.dash.video) || [];
      info(`${label} video: ${reps.map((r) => `${r.id} ${r.width}x${r.height} ${r.bandwidth} ${r.codecs}`)
           .join("; ") || "none"}; SourceBuffers: ${t.sourceBuffers.join(", ") || "none"}`);
      await checkPage(`${label}: video Representations (${reps.length}) == renditions in the media JSON ` +
                      `(${renditions.length}), same heights (${heights(reps)} | ${heights(renditions)})`,
                      reps.length === renditions.length && heights(reps) === heights(renditions),
                      `getRepresentationsByType('video'): ${JSON.stringify(reps)}\n` +
                      `renditions: ${JSON.stringify(renditions)}`);
      const audioTracks = (t.dash && t.dash.audioTracks) || [];
      const audioReps = (t.dash && t.dash.audio) || [];
      const sb = t.sourceBuffers.filter((x) => /^audio\/mp4/.test(x) && /mp4a\./.test(x));
      await checkPage(`${label}: an AAC audio track (${audioTracks.length} track(s): ` +
                      `${audioTracks.map((x) => x.codec).join(", ") || "none"}) and an audio SourceBuffer ` +
                      `(${sb.join(", ") || "none"})`,
                      audioTracks.length >= 1 && audioReps.length >= 1 && sb.length >= 1,
                      `getTracksFor('audio'): ${JSON.stringify(audioTracks)}\ngetRepresentationsByType('audio'): ` +
                      `${JSON.stringify(audioReps)}`);
    },
  },
};

// Shaka Player plays both manifests, each parsed by its own code.
for (const manifest of ["hls", "dash"]) {
  PLAYERS[`shaka-${manifest}`] = {
    label: `Shaka Player (${manifest === "hls" ? "HLS" : "DASH"})`, manifest,
    supported: "shakaSupported", version: "shakaVersion", start: "startShaka",
    fields: ["variants"], thumbnails: true,
    // Shaka raises RECOVERABLE errors it handles itself (a retried request).
    failing: (e) => e.fatal,
    async tracks({ info, renditions }, label, t, checkPage) {
      const variants = t.variants || [];
      info(`${label} variants: ${variants.map((v) => `${v.width}x${v.height} ${v.bandwidth} ` +
           `${v.videoCodec},${v.audioCodec}`).join("; ") || "none"}`);
      await checkPage(`${label}: variants (${variants.length}) == renditions in the media JSON (${renditions.length}), ` +
                      `same heights (${heights(variants)} | ${heights(renditions)}), each with H.264 and AAC`,
                      variants.length === renditions.length && heights(variants) === heights(renditions) &&
                      variants.every((v) => /^avc1\./.test(v.videoCodec || "") && /^mp4a\./.test(v.audioCodec || "")),
                      `getVariantTracks(): ${JSON.stringify(variants)}\nrenditions: ${JSON.stringify(renditions)}`);
    },
  };
}

// Plays o.url with o.player (a key of PLAYERS) on a fresh page of o.browser
// (chromium.mjs, bidi.mjs).
// o: { engine: {name, cancelled}, browser, player, url, base, pageOrigin,
//      media, renditions, storyboard (checkThumbnails), extra (text for failure reports),
//      tmp (folder for the screenshot),
//      limits: {playPast, playTimeout, endTimeout}, check, info }.
// Returns the time to first frame in ms, or null.
export async function playIn(o) {
  const p = PLAYERS[o.player];
  const label = `${o.engine.name} ${p.label}`;
  const { page, kinoRequests, checkPage } = await openPage(o.browser, o.base, o.check, p.fields, o.extra);
  try {
    return await playOnPage(o, p, label, page, kinoRequests, checkPage);
  } finally {
    await Promise.race([page.close().catch(() => {}), sleep(10000)]);
  }
}

async function playOnPage(o, p, label, page, kinoRequests, checkPage) {
  const { engine, player, limits, check, info, media, renditions } = o;
  try {
    await page.goto(`${o.pageOrigin}/index.html?player=${player}`);
  } catch (e) {
    check(`${label}: the test page loads`, false, String(e));
    return null;
  }
  const caps = await page.evaluate(([a, b]) => [kinoTest[a], kinoTest[b]], [p.supported, p.version]);
  if (!await checkPage(`${label} ${caps[1]} loads from the page origin and finds Media Source support`,
                       caps[0])) return null;

  // What the media JSON says each rendition needs, as the master playlist's CODECS says it.
  const codecs = [...new Set(renditions.map((x) => x.codecs))];
  const mse = await page.evaluate(
    (cs) => cs.map((c) => [c, kinoTest.isTypeSupported(`video/mp4; codecs="${c}"`)]), codecs);
  if (!check(`${label}: MediaSource.isTypeSupported() for every rendition's codecs (${codecs.join(" | ")})`,
             codecs.length > 0 && mse.every((x) => x[1]),
             `${JSON.stringify(mse)}: this ${engine.name} cannot play H.264/AAC through Media Source. ` +
             "Debian's builds play them with FFmpeg's libraries; a build without them cannot run this test.")) {
    return null;
  }

  await page.evaluate(([start, src]) => kinoTest[start](src), [p.start, o.url]);
  const failing = `kinoTest.errors.some(${p.failing}) || kinoTest.state().mediaError !== null`;
  await page.waitFor(`kinoTest.state().currentTime > ${limits.playPast} || ${failing}`,
                     limits.playTimeout * 1000, 100);
  let t = await page.evaluate((fields) => {
    const x = { s: kinoTest.state(), ffm: kinoTest.firstFrameMs, pm: kinoTest.playingMs,
                mp: kinoTest.manifestParsedMs, events: kinoTest.events };
    for (const f of fields) x[f] = kinoTest[f];
    return x;
  }, p.fields);
  const played = t.s.currentTime > limits.playPast;
  const ttff = t.ffm ?? t.pm;
  await checkPage(`${label}: plays past ${limits.playPast}s within ${limits.playTimeout}s (manifest ` +
                  `${t.mp == null ? "never loaded" : "loaded " + secs(t.mp)}, first frame ` +
                  `${ttff == null ? "never" : secs(ttff)}, currentTime ${t.s.currentTime.toFixed(2)})`,
                  played);
  {
    const start = startOf(t.events, p.startNudge);
    await checkPage(`${label}: ${start.text}`, start.ok);
  }
  await checkPage(`${label}: the video has a picture (${t.s.videoWidth}x${t.s.videoHeight})`,
                  t.s.videoWidth > 0 && t.s.videoHeight > 0);

  await p.tracks(o, label, t, checkPage);
  if (p.thumbnails) await checkThumbnails(o, label, page, checkPage);

  // By now the player has fetched the whole 8 s clip (every player buffers
  // further ahead than that): one range, no hole.
  await page.waitFor(`(() => { const s = kinoTest.state(), b = s.buffered;
      return b.length > 1 || (b.length === 1 && b[0][1] >= s.duration - 0.1); })()`, 20000, 200);
  t = await page.evaluate(() => ({ s: kinoTest.state() }));
  {
    const b = t.s.buffered;
    const ranges = b.map(([x, y]) => `[${x.toFixed(3)}, ${y.toFixed(3)}]`).join(" ");
    await checkPage(`${label}: the buffer is one range over the whole clip (${ranges || "empty"} of ` +
                    `${(t.s.duration || 0).toFixed(3)} s)`,
                    b.length === 1 && b[0][0] <= 0.1 && b[0][1] >= t.s.duration - 0.1);
  }

  if (played) {
    const dur = t.s.duration;
    await checkPage(`${label}: video.duration (${dur.toFixed(2)}s) matches duration_s (${media.duration_s})`,
                    Math.abs(dur - media.duration_s) < 0.5);
    const target = Math.max(0, dur - 1);
    const ts = Date.now();
    await page.evaluate((to) => { document.getElementById("v").currentTime = to; }, target);
    await page.waitFor(`kinoTest.ended || ${failing}`, limits.endTimeout * 1000, 100);
    t = await page.evaluate(() => ({ s: kinoTest.state(), ended: kinoTest.ended }));
    const ended = t.ended || t.s.currentTime >= t.s.duration - 0.25;
    await checkPage(`${label}: a seek to ${target.toFixed(2)}s plays to the end ('ended' ` +
                    `${t.ended ? "fired" : "not fired"}, currentTime ${t.s.currentTime.toFixed(2)} of ` +
                    `${t.s.duration.toFixed(2)}, ${secs(Date.now() - ts)})`, ended);
  }
  {
    const errors = await page.evaluate(() => kinoTest.errors);
    const bad = errors.filter(p.failing);
    for (const e of errors.filter((x) => !p.failing(x))) info(`${label} non-fatal error: ${JSON.stringify(e)}`);
    await checkPage(`${label}: no fatal player error (${errors.length - bad.length} non-fatal)`, bad.length === 0,
                    bad.map((e) => JSON.stringify(e)).join("\n"));
  }
  {
    const bad = failedRequests(engine, kinoRequests, info);
    const n = kinoRequests.length;
    const segs = kinoRequests.filter((q) => /\.m4s$/.test(q.url) && q.status === 200).length;
    check(`${label}: every cross-origin request to kino succeeded with CORS (${n} requests, ${segs} segments)`,
          n > 0 && segs > 0 && bad.length === 0,
          bad.map((q) => JSON.stringify(q)).join("\n") || "no requests seen (or no segments)");
  }
  const shot = path.join(o.tmp, `screenshot-${engine.name.toLowerCase()}-${player}.png`);
  try {
    await page.screenshot(shot);
  } catch (e) {
    info(`${label} screenshot: ${e}`);
  }
  const size = fs.existsSync(shot) ? fs.statSync(shot).size : 0;
  check(`${label}: screenshot written (${size} bytes)`, size > 0);
  return ttff;
}

// The players played on a growing stream: how each is started on one, and
// how it is taken to the end once the job is done. Shaka Player is given a
// start time of 0, as docs/api.md tells its users: it ignores the playlists'
// EXT-X-START:TIME-OFFSET=0 and would start at the live edge. It cannot seek
// past what it has buffered of a stream that was growing when it loaded it
// (page.html, growing()), so it plays on, faster, to the end instead.
const GROWING = {
  hls: { start: "start", toEnd: "seek" },
  "shaka-hls": { start: "startShaka", startTime: 0, toEnd: "play" },
};
const PLAY_ON_RATE = 8;
export const GROWING_PLAYERS = Object.keys(GROWING);

// A viewer who opens a media while kino is still transcoding it ("playable in
// seconds"), a while after it became playable: the player (o.player, a key of
// GROWING) plays the growing (EVENT) playlists from the beginning of the
// upload, not three segments before their end as it does live TV (what
// hls.js did before kino's media playlists said to start at 0: EXT-X-START);
// when the job finishes and EXT-X-ENDLIST is appended it sees the stream
// end, takes the whole duration, and reaches the end (GROWING: toEnd).
// o: { engine, browser, player, url (the master while processing), base, pageOrigin,
//      processing (a string saying how far the job was when url was taken, or
//      null when it had already finished), waitReady() -> the media JSON once
//      ready, limits, check, info }.
export async function playGrowing(o) {
  const { engine, limits, check, info } = o;
  const p = PLAYERS[o.player], g = GROWING[o.player];
  const label = `${engine.name} ${p.label} while processing`;
  if (!check(`${label}: the media is still processing when the player starts (${o.processing || "ready"})`,
             o.processing !== null,
             "the job finished before the player started: make the clip in play.mjs longer")) return;
  const { page, kinoRequests, checkPage } = await openPage(o.browser, o.base, check,
                                                         p.fields.concat(["levelLoads"]));
  try {
    await page.goto(`${o.pageOrigin}/index.html?player=${o.player}-growing`);
    await page.evaluate(([fn, src, at]) => kinoTest[fn](src, at), [g.start, o.url, g.startTime ?? null]);
    const failing = `kinoTest.errors.some(${p.failing}) || kinoTest.state().mediaError !== null`;
    await page.waitFor(`kinoTest.state().currentTime > 1 || ${failing}`, limits.playTimeout * 1000, 100);
    let t = await page.evaluate(() => ({ s: kinoTest.state(), events: kinoTest.events, g: kinoTest.growing() }));
    await checkPage(`${label}: plays (currentTime ${t.s.currentTime.toFixed(2)})`, t.s.currentTime > 1);
    await checkPage(`${label}: it takes the stream as growing (${JSON.stringify(t.g)})`, t.g.growing === true);
    const start = startOf(t.events, p.startNudge || 0);
    await checkPage(`${label}: ${start.text}`, start.ok);

    const media = await o.waitReady();
    if (!check(`${label}: the media becomes ready while it plays`, media && media.status === "ready",
               JSON.stringify(media))) return;
    // Both reload a growing playlist about once a target duration (4 s).
    const finished = await page.waitFor(`kinoTest.growing().growing === false || ${failing}`, 30000, 200);
    t = await page.evaluate(() => ({ s: kinoTest.state(), g: kinoTest.growing() }));
    await checkPage(`${label}: after the job, it loads the playlist with its end and takes the stream as ` +
                    `finished (${JSON.stringify(t.g)})`, finished && t.g.growing === false);
    await checkPage(`${label}: the duration it takes (${t.g.duration}) is the media's (${media.duration_s})`,
                    Math.abs(t.g.duration - media.duration_s) < 0.5);
    info(`${label}: at ${t.s.currentTime.toFixed(2)} s when the job finished`);
    if (g.toEnd === "seek") {
      const target = Math.max(0, media.duration_s - 1);
      await page.evaluate((to) => { document.getElementById("v").currentTime = to; }, target);
      await page.waitFor(`kinoTest.ended || ${failing}`, limits.endTimeout * 1000, 100);
      t = await page.evaluate(() => ({ s: kinoTest.state(), ended: kinoTest.ended }));
      await checkPage(`${label}: a seek to ${target.toFixed(2)}s plays to the end (currentTime ` +
                      `${t.s.currentTime.toFixed(2)} of ${t.s.duration})`, t.ended);
    } else {
      const left = media.duration_s - t.s.currentTime;
      await page.evaluate((rate) => { document.getElementById("v").playbackRate = rate; }, PLAY_ON_RATE);
      await page.waitFor(`kinoTest.ended || ${failing}`, (left / PLAY_ON_RATE + limits.endTimeout) * 1000, 200);
      t = await page.evaluate(() => ({ s: kinoTest.state(), ended: kinoTest.ended }));
      await checkPage(`${label}: played on at ${PLAY_ON_RATE}x, it ends at the end (currentTime ` +
                      `${t.s.currentTime.toFixed(2)} of ${media.duration_s})`,
                      t.ended && Math.abs(t.s.currentTime - media.duration_s) < 0.5);
    }
    const errors = await page.evaluate(() => kinoTest.errors);
    const fatal = errors.filter((e) => e.fatal);
    for (const e of errors.filter((x) => !x.fatal)) info(`${label} non-fatal error: ${JSON.stringify(e)}`);
    await checkPage(`${label}: no fatal player error (${errors.length - fatal.length} non-fatal)`, fatal.length === 0,
                    fatal.map((e) => JSON.stringify(e)).join("\n"));
    const bad = failedRequests(engine, kinoRequests, info);
    check(`${label}: every cross-origin request to kino succeeded with CORS (${kinoRequests.length} requests)`,
          kinoRequests.length > 0 && bad.length === 0, bad.map((q) => JSON.stringify(q)).join("\n"));
  } finally {
    await Promise.race([page.close().catch(() => {}), sleep(10000)]);
  }
}
