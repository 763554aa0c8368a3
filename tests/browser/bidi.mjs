// Firefox for kino's browser test, driven over WebDriver BiDi, the protocol
// stock Firefox speaks on --remote-debugging-port. No npm package: a minimal
// WebSocket client (RFC 6455, node 18 has none built in) carries the BiDi
// messages.
//
// Why not Playwright's "moz-firefox" channel: Playwright 1.61 sends commands
// Firefox added in 143 (network.addDataCollector), and a fresh Debian
// bookworm installs firefox-esr 140 (153 comes only from bookworm-security).
// The commands used here exist in both.
//
// launchFirefox() gives pages with the interface players.mjs plays on:
// goto, evaluate, waitFor, screenshot, close, onConsole, onRequest.

import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------
// WebSocket: text messages only, which is all BiDi uses.

const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

class WebSocketClient {
  // Resolves once the server accepted the upgrade of ws://host:port/path.
  static connect(url, onMessage, onClose) {
    const u = new URL(url);
    return new Promise((resolve, reject) => {
      const key = crypto.randomBytes(16).toString("base64");
      const sock = net.connect(Number(u.port), u.hostname);
      let head = Buffer.alloc(0);
      const onData = (d) => {
        head = Buffer.concat([head, d]);
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) return;
        sock.off("data", onData);
        const lines = head.subarray(0, end).toString("latin1").split("\r\n");
        const accept = crypto.createHash("sha1").update(key + WS_GUID).digest("base64");
        const got = lines.find((l) => /^sec-websocket-accept:/i.test(l));
        if (!/^HTTP\/1\.1 101/.test(lines[0]) || !got || got.split(":")[1].trim() !== accept) {
          sock.destroy();
          reject(new Error(`WebSocket upgrade refused by ${url}: ${lines[0]}`));
          return;
        }
        const ws = new WebSocketClient(sock, onMessage, onClose);
        ws.receive(head.subarray(end + 4));
        sock.on("data", (x) => ws.receive(x));
        resolve(ws);
      };
      sock.on("data", onData);
      sock.on("error", reject);
      sock.on("connect", () => sock.write(
        `GET ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`));
    });
  }

  constructor(sock, onMessage, onClose) {
    this.sock = sock;
    this.onMessage = onMessage;
    this.buf = Buffer.alloc(0);
    this.parts = [];  // the fragments of a message not yet whole
    sock.on("close", () => onClose());
    sock.on("error", () => { /* 'close' follows */ });
  }

  // A client masks every frame it sends (RFC 6455, 5.3).
  sendFrame(opcode, payload) {
    const mask = crypto.randomBytes(4);
    const n = payload.length;
    const head = n < 126 ? Buffer.from([0x80 | opcode, 0x80 | n])
      : n < 65536 ? Buffer.from([0x80 | opcode, 0x80 | 126, n >> 8, n & 0xff])
        : Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | 127]), (() => {
          const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return b;
        })()]);
    const body = Buffer.from(payload);
    for (let i = 0; i < body.length; i++) body[i] ^= mask[i & 3];
    this.sock.write(Buffer.concat([head, mask, body]));
  }

  send(text) {
    this.sendFrame(0x1, Buffer.from(text, "utf8"));
  }

  receive(data) {
    this.buf = Buffer.concat([this.buf, data]);
    for (;;) {
      if (this.buf.length < 2) return;
      const fin = (this.buf[0] & 0x80) !== 0;
      const opcode = this.buf[0] & 0x0f;
      const masked = (this.buf[1] & 0x80) !== 0;
      let n = this.buf[1] & 0x7f;
      let at = 2;
      if (n === 126) {
        if (this.buf.length < 4) return;
        n = this.buf.readUInt16BE(2);
        at = 4;
      } else if (n === 127) {
        if (this.buf.length < 10) return;
        n = Number(this.buf.readBigUInt64BE(2));
        at = 10;
      }
      const maskKey = masked ? this.buf.subarray(at, at + 4) : null;
      if (masked) at += 4;
      if (this.buf.length < at + n) return;
      const payload = Buffer.from(this.buf.subarray(at, at + n));
      this.buf = this.buf.subarray(at + n);
      if (maskKey) for (let i = 0; i < payload.length; i++) payload[i] ^= maskKey[i & 3];
      if (opcode === 0x9) {
        this.sendFrame(0xa, payload);           // ping: pong
      } else if (opcode === 0x8) {
        this.sock.end();                        // close
      } else if (opcode === 0x1 || opcode === 0x0) {
        this.parts.push(payload);
        if (fin) {
          const text = Buffer.concat(this.parts).toString("utf8");
          this.parts = [];
          this.onMessage(text);
        }
      }
    }
  }

  close() {
    this.sock.destroy();
  }
}

// ---------------------------------------------------------------------------
// A BiDi connection: commands by id, events to listeners.

class Bidi {
  static async connect(url) {
    const b = new Bidi();
    b.ws = await WebSocketClient.connect(url, (m) => b.message(m), () => b.closed());
    return b;
  }

  constructor() {
    this.nextId = 1;
    this.pending = new Map();
    this.listeners = [];
    this.gone = false;
  }

  send(method, params = {}, timeoutMs = 30000) {
    if (this.gone) return Promise.reject(new Error(`BiDi ${method}: Firefox is gone`));
    const id = this.nextId++;
    const answer = new Promise((resolve, reject) => this.pending.set(id, { resolve, reject, method }));
    this.ws.send(JSON.stringify({ id, method, params }));
    return withTimeout(answer, timeoutMs, `BiDi ${method}`).finally(() => this.pending.delete(id));
  }

  on(listener) {
    this.listeners.push(listener);
  }

  message(text) {
    let m;
    try { m = JSON.parse(text); } catch { return; }
    if (m.type === "event") {
      for (const l of this.listeners) l(m.method, m.params);
      return;
    }
    const p = this.pending.get(m.id);
    if (!p) return;
    if (m.type === "success") p.resolve(m.result);
    else p.reject(new Error(`BiDi ${p.method}: ${m.error}: ${m.message}`));
  }

  closed() {
    this.gone = true;
    for (const p of this.pending.values()) p.reject(new Error(`BiDi ${p.method}: the connection closed`));
    this.pending.clear();
  }

  close() {
    this.ws.close();
  }
}

// ---------------------------------------------------------------------------
// A page: one top-level browsing context (a tab).

class Page {
  constructor(bidi, context) {
    this.bidi = bidi;
    this.context = context;
    this.consoleListeners = [];
    this.requestListeners = [];
    bidi.on((method, p) => {
      if (method === "log.entryAdded" && p.source && p.source.context === this.context) {
        const line = `${p.type === "javascript" ? "pageerror" : p.level}: ${p.text}`;
        for (const l of this.consoleListeners) l(line);
      } else if ((method === "network.responseCompleted" || method === "network.fetchError") &&
                 p.context === this.context) {
        const q = { url: p.request.url, method: p.request.method };
        if (method === "network.fetchError") {
          q.failure = p.errorText;
        } else {
          q.status = p.response.status;
          const h = (p.response.headers || []).find((x) => x.name.toLowerCase() === "access-control-allow-origin");
          q.acao = h ? h.value.value : null;
        }
        for (const l of this.requestListeners) l(q);
      }
    });
  }

  onConsole(listener) {
    this.consoleListeners.push(listener);
  }

  // listener({url, method, status, acao} | {url, method, failure}) for every request the page makes.
  onRequest(listener) {
    this.requestListeners.push(listener);
  }

  goto(url, timeoutMs = 30000) {
    return this.bidi.send("browsingContext.navigate", { context: this.context, url, wait: "complete" }, timeoutMs);
  }

  // fn(arg) in the page (fn's source, arg as JSON); its result back through JSON.
  async evaluate(fn, arg) {
    const expression = `(async () => JSON.stringify({ v: await (${fn})(${JSON.stringify(arg)}) }))()`;
    const r = await this.bidi.send("script.evaluate", {
      expression, target: { context: this.context }, awaitPromise: true, resultOwnership: "none",
    });
    if (r.type === "exception") {
      throw new Error(`in the page: ${r.exceptionDetails.text}`);
    }
    return JSON.parse(r.result.value).v;
  }

  // Polls `expression` every pollMs until it is truthy (true) or timeoutMs passes (false).
  async waitFor(expression, timeoutMs, pollMs) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await this.evaluate(`() => Boolean(${expression})`)) return true;
      if (Date.now() >= deadline) return false;
      await sleep(pollMs);
    }
  }

  async screenshot(file) {
    const r = await this.bidi.send("browsingContext.captureScreenshot", { context: this.context });
    fs.writeFileSync(file, Buffer.from(r.data, "base64"));
  }

  close() {
    return this.bidi.send("browsingContext.close", { context: this.context }, 10000);
  }
}

// ---------------------------------------------------------------------------
// Firefox

// Starts `executable` headless with a fresh profile in profileDir (prefs:
// user_pref name -> value) and opens a BiDi session. Returns
// { version, newPage(), close() }; throws with Firefox's last output when it
// does not come up within timeoutMs.
export async function launchFirefox({ executable, profileDir, prefs = {}, timeoutMs = 60000 }) {
  fs.mkdirSync(profileDir, { recursive: true });
  fs.writeFileSync(path.join(profileDir, "user.js"), Object.entries(prefs)
    .map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});\n`).join(""));
  // Its own process group, so every Firefox process goes at the end.
  const proc = spawn(executable, ["--headless", "--no-remote", "--profile", profileDir, "--remote-debugging-port=0"],
                     { stdio: ["ignore", "pipe", "pipe"], detached: true,
                       env: { ...process.env, MOZ_CRASHREPORTER_DISABLE: "1" } });
  let output = "";
  const kill = () => {
    try { process.kill(-proc.pid, "SIGKILL"); } catch { /* gone */ }
  };
  process.on("exit", kill);
  const wsUrl = await withTimeout(new Promise((resolve, reject) => {
    const onOutput = (d) => {
      output = (output + d).slice(-4000);
      const m = /WebDriver BiDi listening on (ws:\/\/\S+)/.exec(output);
      if (m) resolve(m[1]);
    };
    proc.stdout.on("data", onOutput);
    proc.stderr.on("data", onOutput);
    proc.on("exit", (code, signal) => reject(new Error(`Firefox exited (${code ?? signal})`)));
    proc.on("error", reject);
  }), timeoutMs, "Firefox's remote agent").catch((e) => {
    kill();
    process.off("exit", kill);
    throw new Error(`${e.message}\nFirefox's output:\n${output}`);
  });

  let bidi;
  let version;
  try {
    bidi = await Bidi.connect(`${wsUrl.replace(/\/$/, "")}/session`);
    const s = await bidi.send("session.new", { capabilities: {} });
    version = s.capabilities.browserVersion;
    await bidi.send("session.subscribe", {
      events: ["log.entryAdded", "network.responseCompleted", "network.fetchError"],
    });
  } catch (e) {
    if (bidi) bidi.close();
    kill();
    process.off("exit", kill);
    throw new Error(`${e.message}\nFirefox's output:\n${output}`);
  }

  return {
    version,
    async newPage({ width = 640, height = 360 } = {}) {
      const { context } = await bidi.send("browsingContext.create", { type: "tab" });
      await bidi.send("browsingContext.setViewport", { context, viewport: { width, height } });
      return new Page(bidi, context);
    },
    async close() {
      await bidi.send("session.end", {}, 5000).catch(() => {});
      bidi.close();
      const exited = new Promise((r) => (proc.exitCode !== null || proc.signalCode !== null ? r() : proc.once("exit", r)));
      try { process.kill(-proc.pid, "SIGTERM"); } catch { /* gone */ }
      await Promise.race([exited, sleep(5000)]);
      kill();
      process.off("exit", kill);
    },
  };
}
