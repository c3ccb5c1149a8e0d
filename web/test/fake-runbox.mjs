#!/usr/bin/env node
// FAKE RUNBOX SERVER — A TEST DOUBLE, NOT A SANDBOX. It runs submitted code directly on this
// machine with only a wall-clock limit. It exists so that test/e2e.test.mjs can be exercised
// before the real C++ server is ready:
//
//   RUNBOX_BIN=test/fake-runbox.mjs npm run test:e2e
//
// It speaks the same command line as the real one (`serve --listen 127.0.0.1:0 --static DIR
// --data-dir DIR`, then prints `listening on http://127.0.0.1:PORT`), and the parts of
// docs/api.md the page uses: languages, runs (stdin or tests), snippets and the interactive
// WebSocket, for Python (python3) and C++ (g++) only. It listens on loopback only and must never
// be deployed. Passing the e2e tests against it proves the page and the tests, not the server.
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { WebSocketServer } from "ws";

const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : def;
};
if (argv[0] !== "serve") {
  console.error("usage: fake-runbox.mjs serve --listen 127.0.0.1:0 --static DIR --data-dir DIR");
  process.exit(2);
}
const [host, port] = opt("--listen", "127.0.0.1:0").split(":");
if (host !== "127.0.0.1" && host !== "localhost") {
  console.error("fake-runbox: refusing to listen anywhere but loopback");
  process.exit(2);
}
const STATIC = path.resolve(opt("--static", "dist"));
const DATA = path.resolve(opt("--data-dir", fs.mkdtempSync(path.join(os.tmpdir(), "fake-runbox-"))));
fs.mkdirSync(path.join(DATA, "snippets"), { recursive: true });
const WALL_MS = 2000;
const PYTHON = fs.existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

const LANGUAGES = [
  { id: "python", name: "Python", version: "3 (fake)", aliases: ["python3", "py"], extensions: ["py"], main_file: "main.py",
    template: 'print("Hello, world!")\n', compiled: false },
  { id: "cpp", name: "C++", version: "g++ (fake)", aliases: ["c++"], extensions: ["cpp", "cc", "h", "hpp"], main_file: "main.cpp",
    template: '#include <iostream>\nint main() { std::cout << "Hello, world!\\n"; }\n', compiled: true },
];

function result(over) {
  return { status: "OK", exit_code: 0, signal: 0, cpu_time_ms: 0, wall_time_ms: 0, memory_kib: 0, stdout: "", stderr: "",
    stdout_truncated: false, stderr_truncated: false, message: "exited with code 0", ...over };
}

function finish(code, signal, ms, stdout, stderr, timedOut) {
  const sig = signal ? os.constants.signals[signal] ?? 0 : 0;
  if (timedOut) return result({ status: "TLE", exit_code: null, signal: 9, wall_time_ms: ms, cpu_time_ms: ms, stdout, stderr, message: `wall time limit (${WALL_MS / 1000} s) reached` });
  if (signal) return result({ status: "SG", exit_code: null, signal: sig, wall_time_ms: ms, stdout, stderr, message: `killed by signal ${signal}` });
  return result({ status: code === 0 ? "OK" : "RE", exit_code: code, wall_time_ms: ms, cpu_time_ms: ms, stdout, stderr, message: `exited with code ${code}` });
}

/** Runs a command to completion with stdin, a wall limit and captured output. */
function execute(cmd, args, cwd, stdin) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const p = spawn(cmd, args, { cwd, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let timedOut = false;
    p.stdout.on("data", (d) => (out.length < 4e6 ? (out += d) : null));
    p.stderr.on("data", (d) => (err.length < 4e6 ? (err += d) : null));
    p.stdin.on("error", () => {});
    p.stdin.end(stdin ?? "");
    const timer = setTimeout(() => {
      timedOut = true;
      p.kill("SIGKILL");
    }, WALL_MS);
    p.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve(finish(code, signal, Date.now() - t0, out, err, timedOut));
    });
  });
}

function prepare(job) {
  const lang = LANGUAGES.find((l) => l.id === job.language);
  if (!lang) return { error: [404, "not_found", `unknown language ${job.language}`, "language"] };
  if (!Array.isArray(job.files) || !job.files.length) return { error: [400, "bad_request", "files is empty", "files"] };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fake-runbox-job-"));
  for (const [i, f] of job.files.entries()) {
    if (!/^[\w.+-]+$/.test(f.name)) return { error: [400, "bad_request", "bad file name", `files[${i}].name`] };
    fs.writeFileSync(path.join(dir, f.name), f.content ?? "");
  }
  const main = job.main_file ?? job.files[0].name;
  return { lang, dir, main };
}

async function compile(lang, dir, files) {
  if (!lang.compiled) return null;
  const sources = files.map((f) => f.name).filter((n) => /\.(cpp|cc)$/.test(n));
  return execute("g++", ["-O0", "-o", "main.bin", ...sources], dir, "");
}

function command(lang, main, args) {
  return lang.compiled ? ["./main.bin", args] : [PYTHON, [main, ...args]];
}

function judge(out, expected, mode) {
  const norm = (s) => (mode === "exact" ? s : mode === "tokens" ? s.split(/\s+/).filter(Boolean).join(" ") : s.split("\n").map((l) => l.trimEnd()).join("\n").trimEnd());
  if (norm(out) === norm(expected)) return { verdict: "AC", difference: null };
  const a = out.split("\n");
  const b = expected.split("\n");
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if ((a[i] ?? "").trimEnd() !== (b[i] ?? "").trimEnd()) return { verdict: "WA", difference: `line ${i + 1}: expected ${JSON.stringify(b[i] ?? "")}, got ${JSON.stringify(a[i] ?? "")}` };
  }
  return { verdict: "WA", difference: "whitespace differs" };
}

async function runJob(job) {
  const p = prepare(job);
  if (p.error) return p;
  const { lang, dir, main } = p;
  try {
    const comp = await compile(lang, dir, job.files);
    const base = { id: `j_${crypto.randomUUID()}`, state: "done", language: lang.id, version: lang.version, compile: comp, compile_cached: false,
      created_at: new Date().toISOString() };
    if (comp && comp.status !== "OK") return { body: { ...base, status: "CE", compile: { ...comp, message: `compilation failed: ${comp.message}` }, cases: [], finished_at: new Date().toISOString() } };
    const [cmd, args] = command(lang, main, job.args ?? []);
    const tests = Array.isArray(job.tests) ? job.tests : null;
    const cases = [];
    for (const t of tests ?? [{ stdin: job.stdin ?? "" }]) {
      const r = await execute(cmd, args, dir, t.stdin);
      if (tests && r.status === "OK") cases.push({ result: r, ...judge(r.stdout, t.expected_output ?? "", job.compare ?? "trailing_whitespace") });
      else cases.push({ result: r, verdict: null, difference: null });
    }
    const bad = cases.find((c) => c.result.status !== "OK");
    const status = bad ? bad.result.status : tests ? (cases.every((c) => c.verdict === "AC") ? "AC" : "WA") : "OK";
    return { body: { ...base, status, cases, finished_at: new Date().toISOString() } };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const MIME = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css", ".json": "application/json", ".svg": "image/svg+xml" };

function send(res, status, data) {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify(data));
}
const fail = (res, [status, code, message, field]) => send(res, status, { error: { code, message, ...(field ? { field } : {}) } });

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, "http://x");
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const raw = Buffer.concat(chunks).toString("utf8");
  const body = () => {
    try {
      return JSON.parse(raw);
    } catch {
      return null;
    }
  };
  if (url.pathname === "/healthz") return send(res, 200, { status: "ok" });
  if (url.pathname === "/api/v1/languages" && req.method === "GET") return send(res, 200, LANGUAGES);
  if (url.pathname === "/api/v1/runs" && req.method === "POST") {
    const job = body();
    if (!job) return fail(res, [400, "bad_request", "malformed JSON"]);
    const r = await runJob(job);
    return r.error ? fail(res, r.error) : send(res, 200, r.body);
  }
  if (url.pathname === "/api/v1/snippets" && req.method === "POST") {
    const s = body();
    if (!s) return fail(res, [400, "bad_request", "malformed JSON"]);
    const id = crypto.randomBytes(5).toString("base64url");
    fs.writeFileSync(path.join(DATA, "snippets", `${id}.json`), JSON.stringify(s));
    return send(res, 201, { id });
  }
  const m = url.pathname.match(/^\/api\/v1\/snippets\/([\w-]+)$/);
  if (m && req.method === "GET") {
    const f = path.join(DATA, "snippets", `${m[1]}.json`);
    return fs.existsSync(f) ? send(res, 200, JSON.parse(fs.readFileSync(f, "utf8"))) : fail(res, [404, "not_found", `no snippet ${m[1]}`]);
  }
  if (url.pathname.startsWith("/api/")) return fail(res, [404, "not_found", "no such endpoint"]);
  const file = path.join(STATIC, path.normalize(url.pathname === "/" ? "/index.html" : decodeURIComponent(url.pathname)));
  if (!file.startsWith(STATIC) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
    res.writeHead(404);
    return res.end("not found");
  }
  res.writeHead(200, { "Content-Type": MIME[path.extname(file)] ?? "application/octet-stream" });
  fs.createReadStream(file).pipe(res);
});

const wss = new WebSocketServer({ server, path: "/api/v1/ws/run" });
wss.on("connection", (ws) => {
  let proc = null;
  let dir = null;
  const out = (m) => ws.readyState === ws.OPEN && ws.send(JSON.stringify(m));
  const cleanup = () => dir && fs.rmSync(dir, { recursive: true, force: true });
  ws.on("close", () => {
    proc?.kill("SIGKILL");
    cleanup();
  });
  ws.on("message", async (data) => {
    let msg;
    try {
      msg = JSON.parse(String(data));
    } catch {
      return;
    }
    if (msg.type === "start" && !proc) {
      const p = prepare(msg);
      if (p.error) {
        out({ type: "exit", result: result({ status: "SE", exit_code: null, message: p.error[2] }) });
        return ws.close();
      }
      dir = p.dir;
      const comp = await compile(p.lang, p.dir, msg.files);
      if (comp) out({ type: "compile", result: comp });
      if (comp && comp.status !== "OK") {
        out({ type: "exit", result: result({ status: "SE", exit_code: null, message: "compilation failed" }) });
        return ws.close();
      }
      const [cmd, args] = command(p.lang, p.main, msg.args ?? []);
      const t0 = Date.now();
      proc = spawn(cmd, args, { cwd: p.dir, stdio: ["pipe", "pipe", "pipe"] });
      proc.stdin.on("error", () => {});
      out({ type: "started" });
      proc.stdout.on("data", (d) => out({ type: "stdout", data: String(d) }));
      proc.stderr.on("data", (d) => out({ type: "stderr", data: String(d) }));
      proc.on("close", (code, signal) => {
        out({ type: "exit", result: finish(code, signal, Date.now() - t0, "", "", false) });
        ws.close();
      });
    } else if (msg.type === "stdin") proc?.stdin.write(msg.data ?? "");
    else if (msg.type === "stdin_close") proc?.stdin.end();
    else if (msg.type === "signal") proc?.kill(msg.signal ?? "SIGINT");
    else if (msg.type === "kill") proc?.kill("SIGKILL");
  });
});

server.listen(Number(port), host, () => {
  console.log(`listening on http://${host}:${server.address().port}`);
});
for (const s of ["SIGTERM", "SIGINT"]) process.on(s, () => process.exit(0));
