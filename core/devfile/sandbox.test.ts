import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { evaluateInSandbox, evaluateInThisRealm, sandboxObstacle, type SandboxResult } from './sandbox.js';

const here = path.dirname(fileURLToPath(import.meta.url));

// Hand-written CommonJS in the shape esbuild gives a Devfile bundled as a script (bundle.ts).
const ctx = { mode: 'local', command: 'up', env: { A: '1' } };
const run = (code: string, timeoutMs = 500, modules = new Map<string, unknown>()): SandboxResult =>
  evaluateInSandbox({ code, filename: '/p/Devfile.ts.timestamp-1-00000000.mjs', url: 'file:///p/Devfile.ts.timestamp-1-00000000.mjs', ctx, timeoutMs, modules });

test('a plain config comes back made of this realm\'s objects, cycles and dates kept', () => {
  const r = run(`const c = { services: { api: { port: 1, tags: ['a'] } }, at: new Date(5), re: /x/g }; c.self = c; module.exports.default = c;`);
  assert.equal(r.kind, 'value');
  const v = (r as { value: { services: { api: { tags: string[] } }; at: Date; re: RegExp; self: unknown } }).value;
  assert.equal(Object.getPrototypeOf(v), Object.prototype, 'an object of this realm: the schema and the engine see a plain object');
  assert.ok(Array.isArray(v.services.api.tags) && v.services.api.tags instanceof Array);
  assert.ok(v.at instanceof Date && v.at.getTime() === 5);
  assert.ok(v.re instanceof RegExp && v.re.flags === 'g');
  assert.equal(v.self, v);
});

test('a function export gets the context, a copy of its env, and may be async', () => {
  const r = run(`module.exports.default = async ({ mode, command, env }) => { await null; return { mode, command, a: env.A, top: process.env.PATH !== undefined }; };`);
  assert.deepEqual(r, { kind: 'value', value: { mode: 'local', command: 'up', a: '1', top: true } });
});

test('a named devfile export is used, and without one the answer is no-export', () => {
  assert.deepEqual(run(`module.exports.devfile = { services: {} };`), { kind: 'value', value: { services: {} } });
  assert.deepEqual(run(`module.exports.other = 1;`), { kind: 'no-export' });
});

test('functions and class instances are not plain', () => {
  assert.deepEqual(run(`module.exports.default = { plugins: [{ name: 'p', apply() {} }] };`), { kind: 'not-plain' });
  assert.deepEqual(run(`class P {} module.exports.default = { plugins: [new P()] };`), { kind: 'not-plain' });
});

test('an endless loop is stopped at the limit: at the top level, in a function export, in a getter', () => {
  assert.deepEqual(run(`while (true) {}`, 200), { kind: 'timeout', ms: 200 });
  assert.deepEqual(run(`module.exports.default = () => { for (;;) {} };`, 200), { kind: 'timeout', ms: 200 });
  assert.deepEqual(run(`module.exports.default = { get services() { for (;;) {} } };`, 200), { kind: 'timeout', ms: 200 });
});

// In a process of its own: the test runner tracks promises for async hooks, and there Node aborts
// when a limit stops a microtask (which is why the loader checks promiseHooksActive first).
function inPlainProcess(body: string): unknown {
  const script = `import { evaluateInSandbox, promiseHooksActive } from ${JSON.stringify(path.join(here, 'sandbox.ts'))};
    const run = (code) => evaluateInSandbox({ code, filename: '/p/D.mjs', url: 'file:///p/D.mjs', ctx: { mode: 'local', command: 'up', env: {} }, timeoutMs: 200, modules: new Map() });
    ${body}`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: path.resolve(here, '../..'), encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('an endless chain of microtasks is stopped at the limit too, not left to run on this thread', () => {
  // Without the context's own microtask queue the evaluation returns, and the loop then spins on
  // this thread for good: the child never prints and is killed.
  const out = inPlainProcess(`
    const hooks = await promiseHooksActive();
    const a = run('module.exports.default = async () => { for (;;) await null; };');
    const b = run('Promise.resolve().then(function again() { return Promise.resolve().then(again); }); module.exports.default = {};');
    // Still alive: this thread's own promises and timers run.
    await new Promise((r) => setTimeout(r, 10));
    console.log(JSON.stringify({ hooks, a, b }));`);
  assert.deepEqual(out, { hooks: false, a: { kind: 'timeout', ms: 200 }, b: { kind: 'timeout', ms: 200 } });
});

test('promiseHooksActive tells when promises are tracked', () => {
  const out = inPlainProcess(`
    const { AsyncLocalStorage } = await import('node:async_hooks');
    const before = await promiseHooksActive();
    new AsyncLocalStorage().enterWith(1);
    console.log(JSON.stringify({ before, after: await promiseHooksActive() }));`);
  assert.deepEqual(out, { before: false, after: true });
});

test('what only the worker can tell is unsupported: a throw, a promise left pending, a timer', () => {
  assert.equal(run(`throw new Error('boom');`).kind, 'unsupported');
  assert.equal(run(`undeclared = 1; module.exports.default = {};`).kind, 'unsupported', 'strict, as the module the bundle was made from');
  assert.equal(run(`module.exports.default = () => new Promise(() => {});`).kind, 'unsupported');
  assert.equal(run(`setTimeout(() => {}, 1); module.exports.default = {};`).kind, 'unsupported', 'no timers in the context');
  assert.equal(run(`module.exports.default = Promise.reject(new Error('no'));`).kind, 'unsupported');
});

test('required modules are the ones given, and pure builtins', () => {
  const devloop = { defineDevfile: <T>(c: T) => c };
  const r = run(`const d = require('file:///x/core/index.js'); const p = require('node:path'); module.exports.default = d.defineDevfile({ name: p.basename('/a/b') });`, 500, new Map([['file:///x/core/index.js', devloop]]));
  assert.deepEqual(r, { kind: 'value', value: { name: 'b' } });
});

test('sandboxObstacle lets through devloop\'s own modules and pure builtins only', () => {
  const isDevloop = (s: string) => s.startsWith('file:///x/');
  assert.equal(sandboxObstacle(['file:///x/core/index.js', 'node:path', 'url', 'node:os'], isDevloop), undefined);
  assert.equal(sandboxObstacle(['yaml'], isDevloop), 'imports yaml');
  assert.equal(sandboxObstacle(['node:fs'], isDevloop), 'imports node:fs');
  assert.equal(sandboxObstacle(['node:child_process'], isDevloop), 'imports node:child_process');
});

test('evaluateInThisRealm gives the real functions and instances', async () => {
  const value = await evaluateInThisRealm({
    code: `class P { name = 'p'; apply() { return 1; } } module.exports.default = async (c) => ({ plugins: [new P()], mode: c.mode });`,
    filename: '/p/x.mjs', url: 'file:///p/x.mjs', ctx, modules: new Map(),
  }) as { plugins: { apply(): number }[]; mode: string };
  assert.equal(value.plugins[0].apply(), 1);
  assert.equal(value.mode, 'local');
});
