// Chromium for kino's browser test: Debian's build driven by playwright-core
// over CDP (no browser download), with pages of the interface players.mjs
// plays on (the same as bidi.mjs gives for Firefox): goto, evaluate, waitFor,
// screenshot, close, onConsole, onRequest.

import { chromium } from "playwright-core";

class Page {
  constructor(page) {
    this.page = page;
  }

  onConsole(listener) {
    this.page.on("console", (m) => listener(`${m.type()}: ${m.text()}`));
    this.page.on("pageerror", (e) => listener(`pageerror: ${e}`));
  }

  // listener({url, method, status, acao} | {url, method, failure}) for every request the page makes.
  onRequest(listener) {
    this.page.on("requestfailed", (req) => {
      listener({ url: req.url(), method: req.method(), failure: req.failure()?.errorText });
    });
    this.page.on("response", (resp) => {
      listener({ url: resp.url(), method: resp.request().method(), status: resp.status(),
                 acao: resp.headers()["access-control-allow-origin"] || null });
    });
  }

  goto(url, timeoutMs = 30000) {
    return this.page.goto(url, { timeout: timeoutMs });
  }

  evaluate(fn, arg) {
    return this.page.evaluate(fn, arg);
  }

  // Polls `expression` every pollMs until it is truthy (true) or timeoutMs passes (false).
  async waitFor(expression, timeoutMs, pollMs) {
    try {
      await this.page.waitForFunction(expression, null, { timeout: timeoutMs, polling: pollMs });
      return true;
    } catch {
      return false;
    }
  }

  screenshot(file) {
    return this.page.screenshot({ path: file, timeout: 30000 });
  }

  close() {
    return this.page.close();
  }
}

// Starts `executable` headless with a fresh profile in profileDir. Returns
// { version, newPage(), close() }.
export async function launchChromium({ executable, profileDir, timeoutMs = 60000 }) {
  const ctx = await chromium.launchPersistentContext(profileDir, {
    executablePath: executable,
    headless: true,
    args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 640, height: 360 },
    handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false,
    timeout: timeoutMs,
  });
  return {
    version: ctx.browser()?.version() || "?",
    async newPage() {
      const page = await ctx.newPage();
      // Every player fetches the same segments (one copy serves HLS and DASH) and kino marks them
      // immutable: with the cache on, a player after the first would never ask kino for them.
      const cdp = await ctx.newCDPSession(page);
      await cdp.send("Network.enable");
      await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
      return new Page(page);
    },
    close: () => ctx.close(),
  };
}
