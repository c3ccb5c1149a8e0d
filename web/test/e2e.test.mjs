// END-TO-END TESTS: the real runbox server, the built page, Debian's Chromium.
//
// Needs RUNBOX_BIN, the path of the runbox binary. Each run starts
//   $RUNBOX_BIN serve --listen 127.0.0.1:0 --static <web/dist> --data-dir <fresh tmp dir> [$RUNBOX_SERVE_ARGS]
// and waits (up to RUNBOX_START_TIMEOUT_MS, default 30 s) for a stdout line containing
//   listening on http://127.0.0.1:PORT
// The server must offer Python and C++ (ids python/python3 and cpp, or set RUNBOX_E2E_PYTHON /
// RUNBOX_E2E_CPP to their ids). Without RUNBOX_BIN every test here FAILS, on purpose: these are the
// tests that prove the page works with the server, and a skip would hide that they never ran.
import { after, before, describe, test as nodeTest } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import {
  cursorPosition, DIST, freshApp, openApp, openBrowser, pickLanguage, requireDist, runAndWait, screenshot, setCode, terminalText,
  waitForCode,
} from "./helpers.mjs";

const BIN = process.env.RUNBOX_BIN;
const PYTHON = process.env.RUNBOX_E2E_PYTHON ? [process.env.RUNBOX_E2E_PYTHON] : ["python", "python3", "py"];
const CPP = process.env.RUNBOX_E2E_CPP ? [process.env.RUNBOX_E2E_CPP] : ["cpp", "c++", "gpp"];
const START_TIMEOUT = Number(process.env.RUNBOX_START_TIMEOUT_MS ?? 30000);

/** Starts the real server; resolves to { url, stop() }. */
async function startServer() {
  if (!BIN) {
    throw new Error(
      "RUNBOX_BIN is not set. The end-to-end tests need the real server: build it, then run e.g.\n" +
      "  RUNBOX_BIN=$PWD/../build/runbox npm test\n" +
      "(The UI tests that need no server: npm run test:ui)",
    );
  }
  if (!fs.existsSync(BIN)) throw new Error(`RUNBOX_BIN=${BIN} does not exist`);
  requireDist();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "runbox-e2e-data-"));
  const extra = (process.env.RUNBOX_SERVE_ARGS ?? "").split(/\s+/).filter(Boolean);
  const args = ["serve", "--listen", "127.0.0.1:0", "--static", DIST, "--data-dir", dataDir, ...extra];
  const child = spawn(BIN, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
    if (stderr.length > 20000) stderr = stderr.slice(-20000);
  });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`\`${BIN} ${args.join(" ")}\` printed no "listening on http://..." line within ${START_TIMEOUT} ms.\nstderr:\n${stderr}`));
    }, START_TIMEOUT);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${BIN}: ${e.message}`));
    });
    child.on("exit", (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`\`${BIN} ${args.join(" ")}\` exited (${code ?? sig}) before listening.\nstderr:\n${stderr}`));
    });
    readline.createInterface({ input: child.stdout }).on("line", (line) => {
      const m = line.match(/listening on (https?:\/\/[^\s]+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1].endsWith("/") ? m[1] : `${m[1]}/`);
      }
    });
  });
  child.removeAllListeners("exit");
  return {
    url,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await Promise.race([new Promise((r) => child.once("exit", r)), new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill("SIGKILL");
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function pickPython(page) {
  const id = await pickLanguage(page, "Python", PYTHON);
  assert.ok(PYTHON.includes(id), `the server lists no Python (ids tried: ${PYTHON.join(", ")}; picked ${id})`);
}

async function pickCpp(page) {
  const id = await pickLanguage(page, "C++", CPP);
  assert.ok(CPP.includes(id), `the server lists no C++ (ids tried: ${CPP.join(", ")}; picked ${id})`);
}

describe("end-to-end: the page with the real runbox server", () => {
  let server;
  let browser;
  // A set-up failure (no RUNBOX_BIN, server did not start) fails every test with its message,
  // rather than cancelling them, so the count of failed tests is honest.
  let setupError = null;
  before(async () => {
    try {
      server = await startServer();
      browser = await openBrowser();
    } catch (e) {
      setupError = e;
    }
  });
  const test = (name, fn) => nodeTest(name, async (t) => {
    if (setupError) throw setupError;
    await fn(t);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test("pick Python, type code, run: stdout and an OK badge with time and memory", async () => {
    const page = await freshApp(browser.context, server.url);
    await pickPython(page);
    await page.locator(".cm-content").click();
    await page.keyboard.press("ControlOrMeta+a");
    await page.keyboard.press("Delete");
    await page.keyboard.type('print("hello from runbox")');
    await waitForCode(page, 'print("hello from runbox")');
    assert.equal(await runAndWait(page, { timeout: 60000 }), "OK");
    assert.equal(await page.locator("#out-stdout").textContent(), "hello from runbox\n");
    assert.equal(await page.locator('[data-stat="exit"] .stat-value').textContent(), "0");
    for (const k of ["cpu", "wall"]) assert.match(await page.locator(`[data-stat="${k}"] .stat-value`).textContent(), /^\d+(\.\d+)? (ms|s)$/);
    assert.match(await page.locator('[data-stat="memory"] .stat-value').textContent(), /^\d+(\.\d+)? (KiB|MiB|GiB)$/);
    await screenshot(page, "e2e-python-ok");
    await page.close();
  });

  test("stdin and arguments reach the program", async () => {
    const page = await freshApp(browser.context, server.url);
    await pickPython(page);
    await setCode(page, 'import sys\nname = input()\nprint(f"Hi, {name}!")\nprint(sys.argv[1:])\n');
    await page.locator("#stdin").fill("Ada\n");
    await page.locator("#args").fill('one "two words"');
    assert.equal(await runAndWait(page, { timeout: 60000 }), "OK");
    assert.equal(await page.locator("#out-stdout").textContent(), "Hi, Ada!\n['one', 'two words']\n");
    await page.close();
  });

  test("stderr and a non-zero exit show RE, separately from stdout", async () => {
    const page = await freshApp(browser.context, server.url);
    await pickPython(page);
    await setCode(page, 'import sys\nprint("out")\nprint("err", file=sys.stderr)\nsys.exit(3)\n');
    assert.equal(await runAndWait(page, { timeout: 60000 }), "RE");
    assert.equal(await page.locator("#out-stdout").textContent(), "out\n");
    assert.equal(await page.locator("#out-stderr").textContent(), "err\n");
    assert.equal(await page.locator('[data-stat="exit"] .stat-value').textContent(), "3");
    await page.close();
  });

  test("C++ compile error: CE, the compiler's message, and clicking file:line moves the cursor", async () => {
    const page = await freshApp(browser.context, server.url);
    await pickCpp(page);
    const main = await page.locator(".file-tab").first().getAttribute("data-file");
    await setCode(page, "#include <cstdio>\nint main() {\n    undeclared_function();\n    return 0;\n}\n");
    assert.equal(await runAndWait(page, { timeout: 120000 }), "CE");
    assert.match(await page.locator("#out-compile").textContent(), /undeclared_function/);
    const link = page.locator('#out-compile button.loc[data-line="3"]').first();
    assert.match(await link.textContent(), new RegExp(`${main.replace(/[.+]/g, "\\$&")}:3:5`));
    await screenshot(page, "e2e-cpp-compile-error");
    await link.click();
    assert.equal(await cursorPosition(page), "Ln 3, Col 5");
    await page.close();
  });

  test("an infinite loop ends as TLE", async () => {
    const page = await freshApp(browser.context, server.url);
    await pickPython(page);
    await setCode(page, "while True:\n    pass\n");
    assert.equal(await runAndWait(page, { timeout: 120000 }), "TLE");
    assert.match(await page.locator("#status-message").textContent(), /time|limit/i);
    await screenshot(page, "e2e-python-tle");
    await page.close();
  });

  test("test cases: AC and WA per case with the first difference", async () => {
    const page = await freshApp(browser.context, server.url);
    await pickPython(page);
    await setCode(page, "a, b = map(int, input().split())\nprint(a + b if a < 5 else a - b)\n");
    await page.locator("#tab-tests").click();
    await page.locator("#case-1-in").fill("1 2\n");
    await page.locator("#case-1-exp").fill("3\n");
    await page.locator("#test-add").click();
    await page.locator("#case-2-in").fill("7 1\n");
    await page.locator("#case-2-exp").fill("8\n");
    assert.equal(await runAndWait(page, { timeout: 120000 }), "WA");
    assert.equal(await page.locator('.case[data-case="1"]').getAttribute("data-verdict"), "AC");
    assert.equal(await page.locator('.case[data-case="2"]').getAttribute("data-verdict"), "WA");
    assert.ok((await page.locator('.case[data-case="2"] [data-diff]').textContent()).length > "First difference: ".length);
    await screenshot(page, "e2e-tests");
    await page.locator("#tab-output").click();
    await page.close();
  });

  test("a share link round-trips code, files, language and input", async () => {
    const page = await freshApp(browser.context, server.url);
    await pickPython(page);
    const main = await page.locator(".file-tab").first().getAttribute("data-file");
    await setCode(page, "from helper import greet\nprint(greet(input()))\n");
    await page.locator("#add-file").click();
    await page.locator("#file-name-input").fill("helper.py");
    await page.keyboard.press("Enter");
    await page.keyboard.insertText('def greet(n):\n    return "shared " + n\n');
    await page.locator("#stdin").fill("World\n");
    assert.equal(await runAndWait(page, { timeout: 60000 }), "OK");
    assert.equal(await page.locator("#out-stdout").textContent(), "shared World\n");
    await page.locator("#share-btn").click();
    await page.locator("#share-dialog[open]").waitFor();
    const link = await page.locator("#share-url").inputValue();
    assert.match(link, /\?s=[\w-]+$/);
    await screenshot(page, "e2e-share");

    const other = await openBrowser();
    try {
      const p2 = await openApp(other.context, link);
      await p2.locator('.file-tab[data-file="helper.py"]').waitFor();
      assert.deepEqual(await p2.locator(".file-tab").evaluateAll((t) => t.map((x) => x.dataset.file)), [main, "helper.py"]);
      await waitForCode(p2, "from helper import greet\nprint(greet(input()))\n");
      assert.equal(await p2.locator("#stdin").inputValue(), "World\n");
      assert.equal(await runAndWait(p2, { timeout: 60000 }), "OK");
      assert.equal(await p2.locator("#out-stdout").textContent(), "shared World\n");
      await screenshot(p2, "e2e-share-opened");
    } finally {
      await other.close();
    }
    await page.close();
  });

  test("interactive mode: typed lines reach the program and its answers appear; Stop ends it", async () => {
    const page = await freshApp(browser.context, server.url);
    await pickPython(page);
    await setCode(page, 'print("ready", flush=True)\nwhile True:\n    line = input()\n    print("echo:", line, flush=True)\n');
    await page.locator("#tab-terminal").click();
    await page.locator("#run-btn").click();
    await page.waitForFunction(() => document.querySelector("#term-host").textContent.includes("ready"), null, { timeout: 60000 });
    await page.locator("#term-host .xterm-helper-textarea").focus();
    await page.keyboard.type("ping");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.querySelector("#term-host").textContent.includes("echo: ping"), null, { timeout: 30000 });
    await page.keyboard.type("second line");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.querySelector("#term-host").textContent.includes("echo: second line"));
    assert.match(await terminalText(page), /ping/);
    await screenshot(page, "e2e-interactive");
    await page.locator("#term-stop").click();
    await page.locator('#status-bar[data-state="done"], #status-bar[data-state="error"]').waitFor({ timeout: 30000 });
    await page.locator("#term-stop[disabled]").waitFor();
    assert.match(await page.locator("#run-btn").textContent(), /Run/);
    await page.locator("#tab-output").click();
    await page.close();
  });

  test("the dark theme renders", async () => {
    const page = await freshApp(browser.context, server.url);
    await pickPython(page);
    await page.locator("#theme-btn").click();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "dark");
    await setCode(page, 'for i in range(3):\n    print("line", i)\n');
    assert.equal(await runAndWait(page, { timeout: 60000 }), "OK");
    const [r, g, b] = (await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).match(/\d+/g).map(Number);
    assert.ok(r + g + b < 120);
    await screenshot(page, "e2e-dark");
    await page.locator("#theme-btn").click();
    await page.close();
  });
});
