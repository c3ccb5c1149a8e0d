// Shared helpers for the browser tests: Debian's Chromium driven by playwright-core, a tiny static
// server for web/dist, and page actions that a person would do (pick a language, type, run).
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const WEB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const DIST = path.join(WEB, "dist");
// Tests write only under the build tree (or where RUNBOX_SCREENSHOT_DIR says), never into tracked
// files: the README's picture is refreshed on purpose by web/scripts/refresh-screenshot.sh.
export const SHOTS = process.env.RUNBOX_SCREENSHOT_DIR
  ? path.resolve(process.env.RUNBOX_SCREENSHOT_DIR)
  : path.join(WEB, "..", "build", "screenshots");
export const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";

export function requireDist() {
  if (!fs.existsSync(path.join(DIST, "index.html"))) {
    throw new Error(`web/dist/index.html is missing: run \`npm run build\` in ${WEB} first`);
  }
}

export function requireChromium() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: run web/scripts/install-browser.sh (as root) first`);
  }
}

/**
 * A fresh browser with its own empty profile (--user-data-dir), so no test sees another's
 * localStorage. Returns the context and a close() that also removes the profile.
 */
export async function openBrowser(options = {}) {
  requireChromium();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runbox-chromium-"));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
    viewport: { width: 1366, height: 860 },
    colorScheme: "light",
    ...options,
  });
  context.setDefaultTimeout(15000);
  const errors = [];
  context.on("weberror", (e) => errors.push(String(e.error())));
  return {
    context,
    /** Uncaught page errors seen so far. */
    errors,
    async close() {
      await context.close().catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const MIME = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8", ".json": "application/json", ".svg": "image/svg+xml",
  ".png": "image/png", ".ico": "image/x-icon", ".woff2": "font/woff2", ".map": "application/json",
};

/**
 * Serves web/dist on 127.0.0.1:<random port>. `api(req, res, body)` may answer a request and
 * return true; otherwise API paths get a JSON 404 and everything else is a static file.
 */
export async function serveStatic(api = () => false) {
  requireDist();
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, "http://x");
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks).toString("utf8");
    try {
      if (await api(req, res, body, url)) return;
    } catch (e) {
      res.writeHead(500, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ error: { code: "internal", message: String(e) } }));
      return;
    }
    if (url.pathname.startsWith("/api/")) {
      res.writeHead(404, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ error: { code: "not_found", message: `no stub for ${url.pathname}` } }));
      return;
    }
    const rel = decodeURIComponent(url.pathname === "/" ? "/index.html" : url.pathname);
    const file = path.join(DIST, path.normalize(rel));
    if (!file.startsWith(DIST) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404, { "Content-Type": "text/plain" });
      res.end("not found");
      return;
    }
    res.writeHead(200, { "Content-Type": MIME[path.extname(file)] ?? "application/octet-stream" });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(resolve); }),
  };
}

export function json(res, status, data) {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify(data));
  return true;
}

/** Opens the IDE and waits until the language list has loaded (the Run button is enabled). */
export async function openApp(context, url) {
  const page = await context.newPage();
  await page.goto(url);
  await page.locator("#run-btn:not([disabled])").waitFor();
  return page;
}

/** The IDE with empty local storage: default language, templates, no saved tests. */
export async function freshApp(context, url) {
  // Clear storage from a same-origin page that is not the IDE (the IDE saves on unload).
  const page = await context.newPage();
  await page.goto(new URL("theme-init.js", url).toString());
  await page.evaluate(() => localStorage.clear());
  await page.goto(url);
  await page.locator("#run-btn:not([disabled])").waitFor();
  return page;
}

export async function screenshot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  // Let CSS transitions settle so the picture shows the final state.
  await page.waitForTimeout(150);
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

/** Picks a language from the searchable list: types `query`, then chooses the first option whose
 * data-id is one of `ids` (or the first option when none of them is listed). Returns its id. */
export async function pickLanguage(page, query, ids = []) {
  await page.locator("#lang-button").click();
  await page.locator("#lang-search").fill(query);
  const options = page.locator("#lang-list li[role=option]");
  await options.first().waitFor();
  const found = await options.evaluateAll((lis, want) => {
    const i = lis.findIndex((li) => want.includes(li.dataset.id));
    return i < 0 ? 0 : i;
  }, ids);
  const opt = options.nth(found);
  const id = await opt.getAttribute("data-id");
  await opt.click();
  await page.waitForFunction(() => document.querySelector("#lang-popover").hidden);
  return id;
}

/** Replaces the whole content of the editor's current file, as a paste would. */
export async function setCode(page, code) {
  await page.locator(".cm-content").click();
  await page.keyboard.press("ControlOrMeta+a");
  await page.keyboard.press("Delete");
  await page.keyboard.insertText(code);
  await waitForCode(page, code);
}

export async function editorText(page) {
  return page.evaluate(() => {
    const lines = [...document.querySelectorAll(".cm-content .cm-line")].map((l) => l.textContent);
    return lines.join("\n");
  });
}

export async function waitForCode(page, code) {
  await page.waitForFunction(
    (want) => [...document.querySelectorAll(".cm-content .cm-line")].map((l) => l.textContent).join("\n") === want,
    code,
  );
}

/** Clicks Run and waits for the status bar to show a finished run (or an error). */
export async function runAndWait(page, { timeout = 30000, via = "button" } = {}) {
  const before = Number((await page.locator("#status-bar").getAttribute("data-run")) ?? 0);
  if (via === "keyboard") {
    await page.locator(".cm-content").click();
    await page.keyboard.press("ControlOrMeta+Enter");
  } else {
    await page.locator("#run-btn").click();
  }
  await page.waitForFunction((n) => {
    const bar = document.querySelector("#status-bar");
    return Number(bar.dataset.run ?? 0) > n && (bar.dataset.state === "done" || bar.dataset.state === "error");
  }, before, { timeout });
  return page.locator("#status-bar").getAttribute("data-status");
}

export async function cursorPosition(page) {
  return (await page.locator("#cursor-pos").textContent()).trim();
}

export async function noHorizontalOverflow(page) {
  const { sw, cw, wide } = await page.evaluate(() => {
    const cw = document.documentElement.clientWidth;
    const wide = [...document.querySelectorAll("body *")]
      .filter((e) => e.getBoundingClientRect().right > cw + 0.5)
      .slice(0, 5)
      .map((e) => `${e.tagName.toLowerCase()}${e.id ? "#" + e.id : ""}.${String(e.className).split(" ")[0]}`);
    return { sw: document.documentElement.scrollWidth, cw, wide };
  });
  assert.ok(sw <= cw, `page is ${sw}px wide in a ${cw}px viewport (horizontal overflow): ${wide.join(", ")}`);
}

/** The text shown in the xterm terminal. */
export async function terminalText(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll("#term-host .xterm-rows > div")].map((r) => r.textContent.replace(/\u00a0/g, " ")).join("\n"));
}
