// UI SMOKE TEST. It serves web/dist with a tiny node server whose only API is a STUB of
// `GET /api/v1/languages`, and checks the page itself: it loads, lists and searches languages,
// loads templates, remembers code across reloads, switches themes, and fits a phone screen.
// Nothing here runs code: the real end-to-end tests are test/e2e.test.mjs (real server).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  editorText, json, noHorizontalOverflow, openApp, openBrowser, pickLanguage, screenshot, serveStatic, setCode, waitForCode,
} from "./helpers.mjs";
import { LANGUAGES } from "./stub-languages.mjs";

describe("UI smoke test (static files + stub language list)", () => {
  let server;
  let browser;
  before(async () => {
    server = await serveStatic((req, res, _body, url) => {
      if (req.method === "GET" && url.pathname === "/api/v1/languages") return json(res, 200, LANGUAGES);
      return false;
    });
    browser = await openBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test("the page loads, lists every language and opens the default one", async () => {
    const page = await openApp(browser.context, server.url);
    assert.equal(await page.title(), "Python — runbox");
    assert.match(await page.locator("#lang-button").textContent(), /Python\s*3\.11\.2/);
    assert.equal(await page.locator('.file-tab[data-file="main.py"]').count(), 1);
    await waitForCode(page, LANGUAGES[0].template);
    // Syntax highlighting is on (the Python mode loaded lazily from its own chunk).
    await page.locator(".cm-content span[class]").first().waitFor();

    await page.locator("#lang-button").click();
    assert.equal(await page.locator("#lang-list li[role=option]").count(), LANGUAGES.length);
    await screenshot(page, "ui-language-picker");
    await page.keyboard.press("Escape");
    assert.equal(await page.locator("#lang-popover").isHidden(), true);
    assert.deepEqual(browser.errors, []);
    await page.close();
  });

  test("the language list is searchable by name, alias and version, and keyboard driven", async () => {
    const page = await openApp(browser.context, server.url);
    await page.locator("#lang-button").focus();
    await page.keyboard.press("ArrowDown");
    await page.keyboard.type("golang");
    assert.deepEqual(await page.locator("#lang-list li[role=option]").evaluateAll((l) => l.map((x) => x.dataset.id)), ["go"]);
    await page.locator("#lang-search").fill("g++ 12");
    assert.deepEqual(await page.locator("#lang-list li[role=option]").evaluateAll((l) => l.map((x) => x.dataset.id)), ["cpp"]);
    await page.locator("#lang-search").fill("zzz");
    assert.match(await page.locator("#lang-list").textContent(), /No language matches/);
    await page.locator("#lang-search").fill("ruby");
    await page.keyboard.press("Enter");
    assert.match(await page.locator("#lang-button").textContent(), /Ruby/);
    await waitForCode(page, LANGUAGES.find((l) => l.id === "ruby").template);
    assert.equal(await page.locator('.file-tab[data-file="main.rb"]').count(), 1);
    // Focus went back to the picker button.
    assert.equal(await page.evaluate(() => document.activeElement?.id), "lang-button");
    await page.close();
  });

  test("code typed per language is remembered across reloads", async () => {
    const page = await openApp(browser.context, server.url);
    await pickLanguage(page, "C++", ["cpp"]);
    await setCode(page, "int main() { return 42; }");
    await page.locator("#stdin").fill("some input");
    await pickLanguage(page, "Python", ["python"]);
    await setCode(page, "print('remembered')");
    await page.waitForTimeout(400); // the save is debounced
    await page.reload();
    await page.locator("#run-btn:not([disabled])").waitFor();
    assert.match(await page.locator("#lang-button").textContent(), /Python/);
    await waitForCode(page, "print('remembered')");
    assert.equal(await page.locator("#stdin").inputValue(), "some input");
    await pickLanguage(page, "C++", ["cpp"]);
    await waitForCode(page, "int main() { return 42; }");
    assert.equal(await editorText(page), "int main() { return 42; }");
    await page.close();
  });

  test("theme toggle switches to dark and back, and is remembered", async () => {
    const page = await openApp(browser.context, server.url);
    await page.evaluate(() => localStorage.removeItem("runbox:v1:theme"));
    await page.reload();
    await page.locator("#run-btn:not([disabled])").waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "light");
    await screenshot(page, "ui-light");
    await page.locator("#theme-btn").click();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "dark");
    assert.equal(await page.locator("#theme-btn").getAttribute("aria-pressed"), "true");
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const [r, g, b] = bg.match(/\d+/g).map(Number);
    assert.ok(r + g + b < 120, `dark background expected, got ${bg}`);
    const edBg = await page.evaluate(() => getComputedStyle(document.querySelector(".cm-editor")).backgroundColor);
    assert.ok(edBg.match(/\d+/g).map(Number).slice(0, 3).reduce((a, c) => a + c) < 120, `dark editor expected, got ${edBg}`);
    await screenshot(page, "ui-dark");
    await page.reload();
    await page.locator("#run-btn:not([disabled])").waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "dark");
    await page.locator("#theme-btn").click();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "light");
    await page.close();
  });

  test("follows prefers-color-scheme when no theme was chosen", async () => {
    const dark = await openBrowser({ colorScheme: "dark" });
    try {
      const page = await openApp(dark.context, server.url);
      assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "dark");
    } finally {
      await dark.close();
    }
  });

  test("phone width (375px): no horizontal overflow, everything reachable", async () => {
    const page = await openApp(browser.context, server.url);
    await page.setViewportSize({ width: 375, height: 740 });
    await page.waitForTimeout(100);
    await noHorizontalOverflow(page);
    for (const sel of ["#lang-button", "#run-btn", "#share-btn", "#theme-btn", ".cm-content", "#stdin", "#args", "#tab-output"]) {
      const box = await page.locator(sel).boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= 375 + 0.5, `${sel} is outside the 375px viewport: ${JSON.stringify(box)}`);
    }
    await screenshot(page, "ui-phone");
    await page.locator("#lang-button").click();
    await noHorizontalOverflow(page);
    await screenshot(page, "ui-phone-picker");
    await page.keyboard.press("Escape");
    await page.locator("#tab-tests").click();
    await noHorizontalOverflow(page);
    await page.locator("#tab-terminal").click();
    await noHorizontalOverflow(page);
    await page.close();
  });

  test("keyboard: every control has a label and Tab reaches the main controls in order", async () => {
    const page = await openApp(browser.context, server.url);
    const unlabeled = await page.evaluate(() =>
      [...document.querySelectorAll("button, input, textarea, select, [role=tab], [role=combobox]")]
        .filter((e) => e.offsetParent !== null)
        .filter((e) => {
          const name = (e.getAttribute("aria-label") || e.textContent || "").trim();
          const labelled = e.id && document.querySelector(`label[for="${e.id}"]`);
          return !name && !labelled && !e.getAttribute("aria-labelledby") && !e.title;
        })
        .map((e) => e.outerHTML.slice(0, 80)));
    assert.deepEqual(unlabeled, []);
    const seen = [];
    await page.locator("body").click({ position: { x: 1, y: 1 } });
    for (let i = 0; i < 30; i++) {
      // The editor keeps Tab for indentation; Escape then Tab leaves it (CodeMirror's escape hatch).
      if (String(seen.at(-1)).includes("cm-content")) await page.keyboard.press("Escape");
      await page.keyboard.press("Tab");
      seen.push(await page.evaluate(() => document.activeElement?.id || document.activeElement?.className || ""));
    }
    const order = ["lang-button", "share-btn", "theme-btn", "run-btn", "stdin", "args", "tab-output"];
    let last = -1;
    for (const id of order) {
      const i = seen.indexOf(id, last + 1);
      assert.ok(i > last, `Tab order: ${id} not reached after position ${last} in ${JSON.stringify(seen)}`);
      last = i;
    }
    assert.ok(seen.some((s) => String(s).includes("cm-content")), "Tab reaches the code editor");
    // A visible focus ring.
    await page.locator("#run-btn").focus();
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.notEqual(outline, "none");
    await page.close();
  });
});
