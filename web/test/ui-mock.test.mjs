// UI TEST AGAINST A MOCKED API. The real server is not needed: web/dist is served by a tiny node
// server whose API answers are canned per test, shaped exactly as docs/api.md describes, and the
// interactive WebSocket is mocked with Playwright's routeWebSocket. This checks what the page
// sends and how it shows every kind of answer (OK, CE, TLE, AC/WA, 429/413/5xx, network down,
// huge output, share links, interactive echo). It does not prove the real server agrees: that is
// test/e2e.test.mjs.
import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  cursorPosition, editorText, freshApp, json, noHorizontalOverflow, openApp, openBrowser, pickLanguage, runAndWait, screenshot,
  serveStatic, setCode, terminalText, waitForCode,
} from "./helpers.mjs";
import { LANGUAGES } from "./stub-languages.mjs";

function result(over = {}) {
  return {
    status: "OK", exit_code: 0, signal: 0, cpu_time_ms: 12, wall_time_ms: 20, memory_kib: 3456,
    stdout: "", stderr: "", stdout_truncated: false, stderr_truncated: false, message: "exited with code 0", ...over,
  };
}

function jobResult(job, over = {}) {
  return {
    id: "j_test", state: "done", language: job.language, version: "x", compile: null, compile_cached: false,
    status: "OK", cases: [], created_at: "2026-11-28T10:00:00Z", finished_at: "2026-11-28T10:00:01Z", ...over,
  };
}

describe("UI against a mocked API (contract of docs/api.md)", () => {
  let server;
  let browser;
  /** Per-test behaviour of the mock API. */
  const mock = { run: null, languages: null, snippets: new Map(), jobs: [] };

  before(async () => {
    server = await serveStatic(async (req, res, body, url) => {
      if (req.method === "GET" && url.pathname === "/api/v1/languages") {
        return mock.languages ? mock.languages(req, res) : json(res, 200, LANGUAGES);
      }
      if (req.method === "POST" && url.pathname === "/api/v1/runs") {
        const job = JSON.parse(body);
        mock.jobs.push(job);
        return mock.run(job, req, res);
      }
      if (req.method === "POST" && url.pathname === "/api/v1/snippets") {
        const id = `k3Jd9a${mock.snippets.size}`;
        mock.snippets.set(id, JSON.parse(body));
        return json(res, 201, { id });
      }
      const m = url.pathname.match(/^\/api\/v1\/snippets\/([\w-]+)$/);
      if (req.method === "GET" && m) {
        const s = mock.snippets.get(m[1]);
        return s ? json(res, 200, s) : json(res, 404, { error: { code: "not_found", message: `no snippet ${m[1]}` } });
      }
      return false;
    });
    browser = await openBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });
  beforeEach(() => {
    mock.run = (job, _req, res) => json(res, 200, jobResult(job, { cases: [{ result: result(), verdict: null }] }));
    mock.languages = null;
    mock.jobs = [];
  });

  test("Python: type code, input and arguments, run, see stdout, stderr, badge and numbers", async () => {
    mock.run = (job, _req, res) => json(res, 200, jobResult(job, {
      cases: [{ result: result({ stdout: "Hello, Ada!\n", stderr: "a warning\n", cpu_time_ms: 12, wall_time_ms: 1534, memory_kib: 3456 }), verdict: null }],
    }));
    const page = await freshApp(browser.context, server.url);
    await pickLanguage(page, "Python", ["python"]);
    await page.locator(".cm-content").click();
    await page.keyboard.press("ControlOrMeta+a");
    await page.keyboard.type('print("Hello, " + input() + "!")');
    await waitForCode(page, 'print("Hello, " + input() + "!")');
    await page.locator("#stdin").fill("Ada");
    await page.locator("#args").fill('-n 3 "two words"');
    assert.equal(await runAndWait(page), "OK");

    const job = mock.jobs.at(-1);
    assert.equal(job.language, "python");
    assert.deepEqual(job.files, [{ name: "main.py", content: 'print("Hello, " + input() + "!")' }]);
    assert.equal(job.main_file, "main.py");
    assert.equal(job.stdin, "Ada");
    assert.deepEqual(job.args, ["-n", "3", "two words"]);
    assert.equal(job.tests, undefined);

    assert.equal(await page.locator("#out-stdout").textContent(), "Hello, Ada!\n");
    assert.equal(await page.locator("#out-stderr").textContent(), "a warning\n");
    assert.equal(await page.locator('#status-bar .badge[data-status="OK"]').count(), 1);
    assert.match(await page.locator("#status-message").textContent(), /exited with code 0/);
    assert.equal(await page.locator('[data-stat="exit"] .stat-value').textContent(), "0");
    assert.equal(await page.locator('[data-stat="cpu"] .stat-value').textContent(), "12 ms");
    assert.equal(await page.locator('[data-stat="wall"] .stat-value').textContent(), "1.53 s");
    assert.equal(await page.locator('[data-stat="memory"] .stat-value').textContent(), "3.38 MiB");
    assert.equal(await page.locator("#run-btn").isEnabled(), true);
    await screenshot(page, "ui-mock-run-ok");
    await page.close();
  });

  test("Ctrl/Cmd+Enter runs from the editor and from the input box; no layout jump when output arrives", async () => {
    let release;
    mock.run = async (job, _req, res) => {
      await new Promise((r) => (release = r));
      return json(res, 200, jobResult(job, { cases: [{ result: result({ stdout: "x\n".repeat(500) }), verdict: null }] }));
    };
    const page = await freshApp(browser.context, server.url);
    const boxes = async () => page.evaluate(() =>
      ["#editor", ".input-card", ".output-card", "#status-bar", ".panel-tabs", "#run-btn", "#share-btn", "#lang-button"].map((s) => JSON.stringify(document.querySelector(s).getBoundingClientRect())));
    const before = await boxes();
    await page.locator(".cm-content").click();
    await page.keyboard.press("ControlOrMeta+Enter");
    await page.locator("#run-btn.is-busy[disabled]").waitFor();
    assert.match(await page.locator("#run-btn").textContent(), /Running/);
    assert.equal(await page.locator('#status-bar[data-state="running"]').count(), 1);
    assert.deepEqual(await boxes(), before, "panels or header moved when the run started");
    await screenshot(page, "ui-mock-running");
    release();
    await page.locator('#status-bar[data-state="done"]').waitFor();
    assert.deepEqual(await boxes(), before, "panels moved or resized when the output arrived");
    assert.equal(mock.jobs.length, 1, "Ctrl+Enter in the editor must not also insert a line or run twice");

    await page.locator("#stdin").click();
    const n = mock.jobs.length;
    mock.run = (job, _req, res) => json(res, 200, jobResult(job, { cases: [{ result: result(), verdict: null }] }));
    await page.keyboard.press("ControlOrMeta+Enter");
    await page.waitForFunction((k) => document.querySelector("#status-bar").dataset.run === String(k), n + 1);
    await page.locator('#status-bar[data-state="done"]').waitFor();
    assert.equal(mock.jobs.length, n + 1);
    await page.close();
  });

  test("C++ compile error: CE badge, compiler message, clicking main.cpp:3:5 moves the cursor", async () => {
    const stderr = "main.cpp: In function 'int main()':\nmain.cpp:3:5: error: 'foo' was not declared in this scope\n    3 |     foo();\n      |     ^~~\n";
    mock.run = (job, _req, res) => json(res, 200, jobResult(job, {
      status: "CE", cases: [],
      compile: result({ status: "RE", exit_code: 1, stderr, message: "compilation failed: exited with code 1", cpu_time_ms: 310, memory_kib: 61234 }),
    }));
    const page = await freshApp(browser.context, server.url);
    await pickLanguage(page, "C++", ["cpp"]);
    await setCode(page, "#include <cstdio>\nint main() {\n    foo();\n}\n");
    assert.equal(await runAndWait(page), "CE");
    assert.equal(mock.jobs.at(-1).main_file, "main.cpp");
    assert.equal(await page.locator('#status-bar .badge[data-status="CE"]').count(), 1);
    assert.match(await page.locator("#status-message").textContent(), /compilation failed/);
    assert.equal(await page.locator("#out-compile").textContent(), stderr);
    const link = page.locator('#out-compile button.loc[data-line="3"]');
    assert.equal(await link.textContent(), "main.cpp:3:5");
    assert.equal(await cursorPosition(page), "Ln 5, Col 1");
    await screenshot(page, "ui-mock-compile-error");
    await link.click();
    assert.equal(await cursorPosition(page), "Ln 3, Col 5");
    assert.equal(await page.evaluate(() => document.activeElement?.classList.contains("cm-content")), true);
    await page.close();
  });

  test("an infinite loop shows TLE with the server's message", async () => {
    mock.run = (job, _req, res) => json(res, 200, jobResult(job, {
      status: "TLE",
      cases: [{ result: result({ status: "TLE", exit_code: null, signal: 9, cpu_time_ms: 2003, wall_time_ms: 2101, message: "CPU time limit (2 s) reached" }), verdict: null }],
    }));
    const page = await freshApp(browser.context, server.url);
    await setCode(page, "while True:\n    pass\n");
    assert.equal(await runAndWait(page), "TLE");
    assert.match(await page.locator("#status-message").textContent(), /CPU time limit/);
    assert.equal(await page.locator('[data-stat="exit"] .stat-value').textContent(), "signal 9");
    assert.equal(await page.locator("#out-stdout").textContent(), "(no output)");
    await screenshot(page, "ui-mock-tle");
    await page.close();
  });

  for (const [status, pattern] of [[429, /busy/i], [413, /too large/i], [503, /queue is full/i], [500, /server failed/i]]) {
    test(`HTTP ${status} is shown as a message and the Run button comes back`, async () => {
      mock.run = (_job, _req, res) => json(res, status, { error: { code: "x", message: `detail ${status}` } });
      const page = await freshApp(browser.context, server.url);
      assert.equal(await runAndWait(page), null);
      const msg = await page.locator("#status-message").textContent();
      assert.match(msg, pattern);
      assert.match(msg, new RegExp(`detail ${status}`));
      assert.match(await page.locator("[data-error]").textContent(), pattern);
      assert.equal(await page.locator("#run-btn").isEnabled(), true);
      if (status === 429) await screenshot(page, "ui-mock-429");
      await page.close();
    });
  }

  test("network down: a message, not a frozen button", async () => {
    mock.run = (_job, req) => {
      req.socket.destroy();
      return true;
    };
    const page = await freshApp(browser.context, server.url);
    assert.equal(await runAndWait(page), null);
    assert.match(await page.locator("#status-message").textContent(), /Cannot reach the runbox server/);
    assert.equal(await page.locator("#run-btn").isEnabled(), true);
    await page.close();
  });

  test("large output is capped at 1 MB in the page with a note, and stays fast", async () => {
    const big = "0123456789abcdef\n".repeat(200_000); // 3.4 MB
    mock.run = (job, _req, res) => json(res, 200, jobResult(job, {
      cases: [{ result: result({ stdout: big, stdout_truncated: true }), verdict: null }],
    }));
    const page = await freshApp(browser.context, server.url);
    const t0 = Date.now();
    await runAndWait(page);
    const ms = Date.now() - t0;
    const shown = await page.locator("#out-stdout").evaluate((e) => e.textContent.length);
    assert.ok(shown <= 1_000_000, `rendered ${shown} characters`);
    assert.ok(shown > 900_000);
    assert.match(await page.locator('[data-note="display-cap"]').textContent(), /first 976\.6 KiB of 3\.2 MiB/);
    assert.equal(await page.locator('[data-note="display-cap"] a[download]').count(), 1);
    assert.equal(await page.locator('[data-note="server-cap"]').count(), 1);
    assert.ok(ms < 8000, `large output took ${ms} ms`);
    await page.close();
  });

  test("files: add, rename, make main, delete; the job carries them all", async () => {
    const page = await freshApp(browser.context, server.url);
    await pickLanguage(page, "Python", ["python"]);
    page.once("dialog", (d) => d.accept());
    await page.locator("#reset-btn").click();
    await waitForCode(page, LANGUAGES[0].template);
    await page.locator("#add-file").click();
    assert.equal(await page.locator("#file-name-input").inputValue(), "file1.py");
    await page.locator("#file-name-input").fill("main.py");
    await page.keyboard.press("Enter");
    assert.match(await page.locator("#file-name-error").textContent(), /already a file/);
    await page.locator("#file-name-input").fill("helper.py");
    await page.keyboard.press("Enter");
    assert.equal(await page.locator('.file-tab[aria-selected="true"]').getAttribute("data-file"), "helper.py");
    await page.keyboard.insertText("def greet():\n    return 'hi'\n");
    // Rename with F2 on the tab.
    await page.locator('.file-tab[data-file="helper.py"]').focus();
    await page.keyboard.press("F2");
    await page.locator("#file-name-input").fill("util.py");
    await page.locator("#file-name-ok").click();
    assert.deepEqual(await page.locator(".file-tab").evaluateAll((t) => t.map((x) => x.dataset.file)), ["main.py", "util.py"]);
    assert.equal(await editorText(page), "def greet():\n    return 'hi'\n");
    await screenshot(page, "ui-mock-files");
    await runAndWait(page);
    let job = mock.jobs.at(-1);
    assert.deepEqual(job.files.map((f) => f.name), ["main.py", "util.py"]);
    assert.equal(job.files[1].content, "def greet():\n    return 'hi'\n");
    assert.equal(job.main_file, "main.py");

    await page.locator("#file-main").click();
    assert.match(await page.locator('.file-tab[data-file="util.py"]').textContent(), /main/);
    await runAndWait(page);
    job = mock.jobs.at(-1);
    assert.equal(job.main_file, "util.py");
    assert.equal(job.files[0].name, "util.py");

    await page.locator('.file-tab[data-file="main.py"]').click();
    page.once("dialog", (d) => d.accept());
    await page.locator("#file-delete").click();
    assert.deepEqual(await page.locator(".file-tab").evaluateAll((t) => t.map((x) => x.dataset.file)), ["util.py"]);
    assert.equal(await page.locator("#file-delete").isDisabled(), true, "the main file cannot be deleted");
    await page.close();
  });

  test("share: the link restores language, files, input and arguments in a fresh browser", async () => {
    const page = await freshApp(browser.context, server.url);
    await pickLanguage(page, "Ruby", ["ruby"]);
    await setCode(page, 'puts "shared #{ARGV.join(",")}"\n');
    await page.locator("#add-file").click();
    await page.locator("#file-name-input").fill("lib.rb");
    await page.keyboard.press("Enter");
    await page.keyboard.insertText("X = 1\n");
    await page.locator("#stdin").fill("line one\nline two\n");
    await page.locator("#args").fill("a 'b c'");
    await page.locator("#share-btn").click();
    await page.locator("#share-dialog[open]").waitFor();
    const link = await page.locator("#share-url").inputValue();
    assert.match(link, /^http:\/\/127\.0\.0\.1:\d+\/\?s=k3Jd9a\d+$/);
    assert.equal(await page.evaluate(() => location.search), new URL(link).search);
    const saved = mock.snippets.get(new URL(link).searchParams.get("s"));
    assert.deepEqual(saved, {
      language: "ruby",
      files: [{ name: "main.rb", content: 'puts "shared #{ARGV.join(",")}"\n' }, { name: "lib.rb", content: "X = 1\n" }],
      stdin: "line one\nline two\n",
      args: ["a", "b c"],
    });
    await screenshot(page, "ui-mock-share");
    await page.keyboard.press("Escape");

    const other = await openBrowser();
    try {
      const p2 = await openApp(other.context, link);
      await p2.locator(".file-tab").nth(1).waitFor();
      assert.match(await p2.locator("#lang-button").textContent(), /Ruby/);
      assert.deepEqual(await p2.locator(".file-tab").evaluateAll((t) => t.map((x) => x.dataset.file)), ["main.rb", "lib.rb"]);
      await waitForCode(p2, 'puts "shared #{ARGV.join(",")}"\n');
      assert.equal(await p2.locator("#stdin").inputValue(), "line one\nline two\n");
      assert.equal(await p2.locator("#args").inputValue(), "a 'b c'");
      await p2.locator('.file-tab[data-file="lib.rb"]').click();
      await waitForCode(p2, "X = 1\n");
      // Editing makes the page stop claiming to be the shared snippet.
      await p2.locator(".cm-content").click();
      await p2.keyboard.insertText("# edited\n");
      await p2.waitForFunction(() => !location.search.includes("s="));
      await runAndWait(p2);
      assert.deepEqual(mock.jobs.at(-1).args, ["a", "b c"]);
    } finally {
      await other.close();
    }
    await page.close();
  });

  test("a share link that does not exist says so", async () => {
    const page = await browser.context.newPage();
    await page.goto(`${server.url}?s=nope404`);
    await page.locator("#banner:not([hidden])").waitFor();
    assert.match(await page.locator("#banner").textContent(), /does not exist/);
    await page.locator("#run-btn:not([disabled])").waitFor();
    await page.close();
  });

  test("the language list failing shows a message with Retry", async () => {
    let fail = true;
    mock.languages = (_req, res) => (fail ? json(res, 502, { error: { code: "bad_gateway", message: "upstream down" } }) : json(res, 200, LANGUAGES));
    const page = await browser.context.newPage();
    await page.goto(server.url);
    await page.locator("#banner:not([hidden])").waitFor();
    assert.match(await page.locator("#banner").textContent(), /Cannot load the language list.*upstream down/);
    assert.equal(await page.locator("#run-btn").isDisabled(), true);
    await screenshot(page, "ui-mock-languages-error");
    fail = false;
    await page.locator("#banner button").click();
    await page.locator("#run-btn:not([disabled])").waitFor();
    assert.equal(await page.locator("#banner").isHidden(), true);
    await page.close();
  });

  test("test cases: AC and WA per case with the first difference", async () => {
    mock.run = (job, _req, res) => json(res, 200, jobResult(job, {
      status: "WA",
      cases: [
        { result: result({ stdout: "3\n" }), verdict: "AC", difference: null },
        { result: result({ stdout: "5\n", cpu_time_ms: 14 }), verdict: "WA", difference: 'line 1: expected "4", got "5"' },
      ],
    }));
    const page = await freshApp(browser.context, server.url);
    await pickLanguage(page, "Python", ["python"]);
    await setCode(page, "a, b = map(int, input().split())\nprint(a + b)\n");
    await page.locator("#tab-tests").click();
    assert.match(await page.locator("#run-btn").textContent(), /Run tests/);
    await page.locator("#case-1-in").fill("1 2\n");
    await page.locator("#case-1-exp").fill("3\n");
    await page.locator("#test-add").click();
    await page.locator("#case-2-in").fill("2 2\n");
    await page.locator("#case-2-exp").fill("4\n");
    await page.locator("#test-compare").selectOption("tokens");
    assert.equal(await runAndWait(page), "WA");
    const job = mock.jobs.at(-1);
    assert.deepEqual(job.tests, [{ stdin: "1 2\n", expected_output: "3\n" }, { stdin: "2 2\n", expected_output: "4\n" }]);
    assert.equal(job.compare, "tokens");
    assert.equal(job.stdin, undefined);
    assert.equal(await page.locator('.case[data-case="1"]').getAttribute("data-verdict"), "AC");
    assert.equal(await page.locator('.case[data-case="2"]').getAttribute("data-verdict"), "WA");
    assert.match(await page.locator('.case[data-case="2"] [data-diff]').textContent(), /expected "4", got "5"/);
    assert.equal(await page.locator("#test-summary").textContent(), "1 / 2 passed");
    await screenshot(page, "ui-mock-tests");
    // The cases are remembered.
    await page.waitForTimeout(400);
    await page.reload();
    await page.locator("#run-btn:not([disabled])").waitFor();
    assert.equal(await page.locator("#tab-tests").getAttribute("aria-selected"), "true");
    assert.equal(await page.locator("#case-2-exp").inputValue(), "4\n");
    await page.locator("#tab-output").click();
    await page.close();
  });

  test("interactive: the terminal sends typed lines as stdin, shows output, Stop sends kill", async () => {
    const page = await freshApp(browser.context, server.url);
    const got = [];
    await page.routeWebSocket(/\/api\/v1\/ws\/run$/, (ws) => {
      ws.onMessage((raw) => {
        const msg = JSON.parse(String(raw));
        got.push(msg);
        if (msg.type === "start") {
          ws.send(JSON.stringify({ type: "started" }));
          ws.send(JSON.stringify({ type: "stdout", data: "ready> " }));
        } else if (msg.type === "stdin") {
          ws.send(JSON.stringify({ type: "stdout", data: `echo: ${msg.data}` }));
          ws.send(JSON.stringify({ type: "stderr", data: "(to stderr)\n" }));
        } else if (msg.type === "kill") {
          ws.send(JSON.stringify({ type: "exit", result: result({ status: "SG", exit_code: null, signal: 9, message: "killed on request" }) }));
          ws.close();
        }
      });
    });
    await pickLanguage(page, "Python", ["python"]);
    await setCode(page, "while True:\n    print('echo:', input())\n");
    await page.locator("#tab-terminal").click();
    await page.locator("#run-btn").click();
    await page.waitForFunction(() => document.querySelector("#term-host").textContent.includes("ready>"));
    assert.match(await page.locator("#run-btn").textContent(), /Stop/);
    const start = got.find((m) => m.type === "start");
    assert.equal(start.language, "python");
    assert.deepEqual(start.files, [{ name: "main.py", content: "while True:\n    print('echo:', input())\n" }]);
    assert.equal(start.main_file, "main.py");
    assert.equal(start.stdin, undefined);

    await page.locator("#term-host .xterm-helper-textarea").focus();
    await page.keyboard.type("pinf");
    await page.keyboard.press("Backspace");
    await page.keyboard.type("g");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.querySelector("#term-host").textContent.includes("echo: ping"));
    assert.deepEqual(got.filter((m) => m.type === "stdin"), [{ type: "stdin", data: "ping\n" }]);
    const text = await terminalText(page);
    assert.match(text, /ready> ping/);
    assert.match(text, /\(to stderr\)/);
    await screenshot(page, "ui-mock-interactive");

    await page.locator("#term-stop").click();
    await page.locator('#status-bar[data-state="done"]').waitFor();
    assert.ok(got.some((m) => m.type === "kill"));
    assert.equal(await page.locator("#status-bar").getAttribute("data-status"), "SG");
    assert.match(await page.locator("#run-btn").textContent(), /Run/);
    assert.equal(await page.locator("#term-stop").isDisabled(), true);
    await page.locator("#tab-output").click();
    await page.close();
  });

  test("interactive: a connection that cannot open is reported", async () => {
    const page = await freshApp(browser.context, server.url);
    await page.routeWebSocket(/\/api\/v1\/ws\/run$/, (ws) => ws.close({ code: 1011, reason: "server busy" }));
    await page.locator("#tab-terminal").click();
    await page.locator("#run-btn").click();
    await page.locator('#status-bar[data-state="error"]').waitFor();
    assert.match(await page.locator("#status-message").textContent(), /connection/i);
    assert.match(await page.locator("#run-btn").textContent(), /Run/);
    await page.locator("#tab-output").click();
    await page.close();
  });

  test("phone width with results: no horizontal overflow", async () => {
    mock.run = (job, _req, res) => json(res, 200, jobResult(job, {
      cases: [{ result: result({ stdout: "a very long line without breaks ".repeat(20) + "\n", stderr: "oops\n", exit_code: 1, status: "RE", message: "exited with code 1" }), verdict: null }],
      status: "RE",
    }));
    const page = await freshApp(browser.context, server.url);
    await page.setViewportSize({ width: 375, height: 800 });
    await runAndWait(page);
    await noHorizontalOverflow(page);
    await page.locator(".output-card").scrollIntoViewIfNeeded();
    await screenshot(page, "ui-mock-phone-result");
    await page.close();
  });
});
