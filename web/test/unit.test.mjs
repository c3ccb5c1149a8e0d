// Unit tests of the page's pure helpers (src/format.ts), loaded through Vite's SSR module loader
// so they run in node as TypeScript without a separate compile step.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "vite";
import { WEB } from "./helpers.mjs";

let vite;
let f;
before(async () => {
  vite = await createServer({ root: WEB, logLevel: "silent", server: { middlewareMode: true, hmr: false }, appType: "custom" });
  f = await vite.ssrLoadModule("/src/format.ts");
});
after(() => vite?.close());

describe("splitArgs / joinArgs", () => {
  test("splits like a shell, without expansion", () => {
    assert.deepEqual(f.splitArgs(""), []);
    assert.deepEqual(f.splitArgs("  a  b\tc "), ["a", "b", "c"]);
    assert.deepEqual(f.splitArgs(`-n 3 "two words" 'single $HOME' back\\ slash`), ["-n", "3", "two words", "single $HOME", "back slash"]);
    assert.deepEqual(f.splitArgs(`"" ''`), ["", ""]);
    assert.deepEqual(f.splitArgs(`"say \\"hi\\""`), ['say "hi"']);
    assert.deepEqual(f.splitArgs(`a"b"'c'`), ["abc"]);
    assert.deepEqual(f.splitArgs(`"unterminated`), ["unterminated"]);
  });
  test("joinArgs round-trips", () => {
    for (const args of [["a", "b c"], ["", "x"], ["it's", "$HOME", "--flag=1"], ["tab\there"]]) {
      assert.deepEqual(f.splitArgs(f.joinArgs(args)), args);
    }
    assert.equal(f.joinArgs(["-n", "3", "two words"]), "-n 3 'two words'");
  });
});

describe("linkifyLocations", () => {
  const locs = (text, files) => f.linkifyLocations(text, files).filter((s) => s.kind === "loc").map((s) => [s.file, s.line, s.column]);
  test("gcc, clang, rustc, go, javac and python formats", () => {
    assert.deepEqual(locs("main.cpp:3:5: error: 'foo' was not declared", ["main.cpp"]), [["main.cpp", 3, 5]]);
    assert.deepEqual(locs("/box/src/main.c:12:1: warning", ["main.c"]), [["main.c", 12, 1]]);
    assert.deepEqual(locs("  --> main.rs:2:9\n", ["main.rs"]), [["main.rs", 2, 9]]);
    assert.deepEqual(locs("./main.go:7:2: undefined: x", ["main.go"]), [["main.go", 7, 2]]);
    assert.deepEqual(locs("Main.java:4: error: ';' expected", ["Main.java"]), [["Main.java", 4, 1]]);
    assert.deepEqual(locs('  File "/box/main.py", line 3, in <module>', ["main.py"]), [["main.py", 3, 1]]);
  });
  test("only files of the workspace are links, and text is preserved", () => {
    const text = "In file included from /usr/include/stdio.h:27,\n  from util.h:1:\nmain.cpp:2:3: error";
    assert.deepEqual(locs(text, ["main.cpp", "util.h"]), [["util.h", 1, 1], ["main.cpp", 2, 3]]);
    assert.equal(f.linkifyLocations(text, ["main.cpp", "util.h"]).map((s) => s.text).join(""), text);
    assert.deepEqual(locs("version 3.11:2", ["main.py"]), []);
  });
});

describe("formatting", () => {
  test("times and sizes", () => {
    assert.equal(f.formatMs(0), "0 ms");
    assert.equal(f.formatMs(999), "999 ms");
    assert.equal(f.formatMs(1534), "1.53 s");
    assert.equal(f.formatMs(12000), "12.0 s");
    assert.equal(f.formatMs(null), "–");
    assert.equal(f.formatKiB(512), "512 KiB");
    assert.equal(f.formatKiB(3456), "3.38 MiB");
    assert.equal(f.formatKiB(262144), "256.0 MiB");
    assert.equal(f.formatBytes(1_000_000), "976.6 KiB");
  });
  test("every documented status has a label and a tone", () => {
    for (const s of ["OK", "RE", "SG", "TLE", "MLE", "OLE", "SE", "CE", "AC", "WA"]) {
      const i = f.statusInfo(s);
      assert.ok(i.label && i.label !== s, s);
      assert.notEqual(i.tone, "neutral", s);
    }
    assert.equal(f.statusInfo("XYZ").tone, "neutral");
  });
  test("capText never splits a surrogate pair", () => {
    assert.deepEqual(f.capText("abc", 5), { shown: "abc", cut: false });
    assert.deepEqual(f.capText("a😀b", 2), { shown: "a", cut: true });
  });
});

describe("file names and language search", () => {
  test("validateFileName", () => {
    assert.equal(f.validateFileName("util.py", ["main.py"]), null);
    assert.equal(f.validateFileName("c++.h", []), null);
    assert.match(f.validateFileName("", []), /needs a name/);
    assert.match(f.validateFileName("a/b.py", []), /slashes/);
    assert.match(f.validateFileName("..", []), /Use letters/);
    assert.match(f.validateFileName(".hidden", []), /Use letters/);
    assert.match(f.validateFileName("main.py", ["main.py"]), /already/);
  });
  test("suggestFileName", () => {
    assert.equal(f.suggestFileName("main.py", ["main.py"]), "file1.py");
    assert.equal(f.suggestFileName("Main.java", ["Main.java", "file1.java"]), "file2.java");
    assert.equal(f.suggestFileName("Makefile", []), "file1.txt");
  });
  test("languageMatches", () => {
    const cpp = { id: "cpp", name: "C++", version: "g++ 12.2.0", aliases: ["c++"], extensions: ["cpp", "cc"] };
    assert.ok(f.languageMatches(cpp, ""));
    assert.ok(f.languageMatches(cpp, "c++"));
    assert.ok(f.languageMatches(cpp, "G++ 12"));
    assert.ok(f.languageMatches(cpp, "cc"));
    assert.ok(!f.languageMatches(cpp, "python"));
  });
});

describe("the tests' own files", () => {
  // `make test` once rewrote 15 tracked screenshots on every run. Screenshots go to a directory
  // git ignores (build/) or outside the repository, never to tracked files.
  test("screenshots are written where git tracks nothing", async () => {
    const { SHOTS } = await import("./helpers.mjs");
    const { execFileSync } = await import("node:child_process");
    const fs = await import("node:fs");
    const path = await import("node:path");
    const repo = execFileSync("git", ["rev-parse", "--show-toplevel"], { cwd: WEB, encoding: "utf8" }).trim();
    const rel = path.relative(fs.realpathSync(repo), path.resolve(SHOTS));
    if (rel.startsWith("..") || path.isAbsolute(rel)) return; // outside the repository
    const probe = path.join(rel, "probe.png");
    // check-ignore exits 0 when the path is ignored, 1 when it is not.
    execFileSync("git", ["check-ignore", "-q", probe], { cwd: repo });
    assert.equal(execFileSync("git", ["ls-files", "--", rel], { cwd: repo, encoding: "utf8" }), "");
  });
});
