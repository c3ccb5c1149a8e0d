// Real third-party clients against the real `runbox serve` (real engine and sandbox):
// piston-client (Piston v2) and paiza-io (paiza.IO runners API), unchanged.
// Run: RUNBOX_BIN=build/runbox RUNBOX_LANGUAGES_DIR=languages node --test clients.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import piston from 'piston-client';

const require = createRequire(import.meta.url);
const paizaIo = require('paiza-io');
// paiza-io 0.2.3 reads its server from its own config module and ignores option.base_url
// (src/api.js uses config.base_url), so the test points that module at runbox.
const paizaConfig = require('paiza-io/src/config.json');

const inCi = process.env.CI === 'true';
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const skip = !isRoot && !inCi ? 'runbox serve runs real boxes and needs root' : false;

let server;
let base;
let dir;

before(async () => {
  if (skip) return;
  const bin = process.env.RUNBOX_BIN;
  assert.ok(bin, 'RUNBOX_BIN must name the runbox binary');
  dir = mkdtempSync(join(tmpdir(), 'runbox-node-'));
  const args = ['serve', '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'data')];
  if (process.env.RUNBOX_LANGUAGES_DIR) args.push('--languages', process.env.RUNBOX_LANGUAGES_DIR);
  const log = openSync(join(dir, 'server.log'), 'a');
  server = spawn(bin, args, { stdio: ['ignore', 'pipe', log] });
  base = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('runbox serve did not start in 30 s')), 30000);
    server.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/^listening on (http:\/\/[^\s]+)\n/);
      if (m) {
        clearTimeout(timer);
        paizaConfig.base_url = m[1];
        resolve(m[1]);
      }
    });
    server.on('exit', (code) => reject(new Error(`runbox serve exited with ${code}; see ${dir}/server.log`)));
  });
});

after(async () => {
  if (!server) return;
  const exited = new Promise((resolve) => server.on('exit', resolve));
  server.kill('SIGTERM');
  const code = await exited;
  rmSync(dir, { recursive: true, force: true });
  assert.equal(code, 0, 'runbox serve exits 0 after SIGTERM');
});

test('piston-client lists runtimes', { skip }, async () => {
  const client = piston({ server: base });
  const runtimes = await client.runtimes();
  assert.ok(Array.isArray(runtimes), JSON.stringify(runtimes));
  const py = runtimes.find((r) => r.language === 'python3');
  assert.ok(py, 'python3 is installed');
  assert.match(py.version, /^\d+\.\d+\.\d+$/);
  assert.ok(Array.isArray(py.aliases));
});

test('piston-client executes python3 with stdin and args', { skip }, async () => {
  const client = piston({ server: base });
  const result = await client.execute('python3', 'import sys\nprint(input(), sys.argv[1:])', {
    stdin: 'hello',
  });
  assert.equal(result.language, 'python3', JSON.stringify(result));
  assert.equal(result.run.code, 0);
  // piston-client sends args ["1","2","3"] unless told otherwise.
  assert.equal(result.run.stdout, "hello ['1', '2', '3']\n");
  assert.equal(result.run.signal, null);
});

test('piston-client by alias (no version: the installed one)', { skip }, async () => {
  const client = piston({ server: base });
  const result = await client.execute('python', 'print(6*7)');
  assert.equal(result.run.stdout, '42\n', JSON.stringify(result));
});

test('piston-client reports a compile error and a runtime error', { skip }, async () => {
  const client = piston({ server: base });
  const ce = await client.execute('c', 'int main( {');
  assert.notEqual(ce.compile.code, 0, JSON.stringify(ce));
  const re = await client.execute('python3', 'raise SystemExit(3)');
  assert.equal(re.run.code, 3);
  assert.equal(re.run.status, 'RE');
});

function paiza(language, code, input) {
  return new Promise((resolve, reject) => {
    paizaIo(language, code, input, { base_url: base, retry_get_status_time: 200, max_get_status_loop: 150 },
      (error, result) => (error ? reject(error) : resolve(result)));
  });
}

test('paiza-io runs python3', { skip }, async () => {
  const result = await paiza('python3', 'print(input()[::-1])', 'paiza');
  assert.equal(result.status, 'completed');
  assert.equal(result.stdout, 'aziap\n');
  assert.equal(result.result, 'success');
  assert.equal(result.exit_code, 0);
  assert.equal(typeof result.time, 'string');
});

test('paiza-io runs c with a build step', { skip }, async () => {
  const result = await paiza('c', '#include <stdio.h>\nint main(void){puts("built");return 0;}\n', '');
  assert.equal(result.build_result, 'success', JSON.stringify({ ...result, http_response: undefined }));
  assert.equal(result.stdout, 'built\n');
});

test('paiza-io surfaces errors', { skip }, async () => {
  await assert.rejects(paiza('no-such-language', 'x', ''), /paiza.io error/);
});
