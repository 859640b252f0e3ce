/**
 * The process runtime end to end: real processes, a real engine, the esbuild and command
 * builders, on fixture projects copied to a temp folder. Nothing sleeps blindly: every wait
 * polls for an outcome with a deadline.
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { DevfileConfig, ServiceConfig } from '../core/devfile/types.js';
import { Engine } from '../core/engine/engine.js';
import { commandPlugin } from '../plugins/command/index.js';
import { esbuildPlugin } from '../plugins/esbuild/index.js';
import { processPlugin } from '../plugins/local-process/index.js';
import { findFreePort, isPortFree } from '../plugins/shared/ports.js';
import { readStat } from '../plugins/shared/procfs.js';
import { readRecords, registryFile } from '../plugins/shared/process-registry.js';

const fixtures = path.join(import.meta.dirname, 'fixtures');
const temps: string[] = [];
const engines: Engine[] = [];

after(async () => {
  await Promise.all(engines.map((e) => e.stop()));
  await Promise.all(temps.map((d) => rm(d, { recursive: true, force: true })));
});

async function project(fixture: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `devloop-${fixture}-`));
  temps.push(dir);
  await cp(path.join(fixtures, fixture), dir, { recursive: true });
  return dir;
}

function engineFor(root: string, services: Record<string, ServiceConfig>): Engine {
  const devfile: DevfileConfig = { services };
  const engine = new Engine({ root, devfile, plugins: [commandPlugin(), esbuildPlugin(), processPlugin()] });
  engines.push(engine);
  return engine;
}

/** Polls `fn` until it returns a value other than undefined, or fails after `ms`. */
async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** GET without keep-alive, so a restarted server is never asked on a dead pooled socket. */
function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

async function bodyOf(url: string): Promise<string | undefined> {
  try { return (await get(url)).body; } catch { return undefined; }
}

/** A pid is gone once signal 0 fails, or it is a zombie a slow PID 1 has not reaped yet. */
function alive(pid: number): boolean {
  try { process.kill(pid, 0); } catch { return false; }
  return readStat(pid)?.state !== 'Z';
}

function url(engine: Engine, service: string): string {
  const ep = engine.getState().services[service].endpoints[0];
  assert.ok(ep, `${service} has an endpoint`);
  return ep.url;
}

function pidOf(engine: Engine, service: string): number {
  const pid = engine.deployment(service)?.details?.pid;
  assert.equal(typeof pid, 'number');
  return pid as number;
}

function logs(engine: Engine, service: string, level?: string): string[] {
  return engine.getState().services[service].logTail.filter((l) => !level || l.level === level).map((l) => l.message);
}

describe('process runtime with esbuild', () => {
  it('serves a TypeScript service, rebuilds and restarts it on an edit, restarts it after a crash, and stops it cleanly', async (t) => {
    const root = await project('proc-esbuild');
    const port = await findFreePort();
    const engine = engineFor(root, { api: { build: { type: 'esbuild', entry: 'src/index.ts' }, runtime: 'process', port } });
    await engine.start();
    await engine.idle();
    const s = engine.getState().services.api;
    assert.equal(s.phase, 'healthy', s.error?.message);
    assert.equal(url(engine, 'api'), `http://127.0.0.1:${port}`);
    const first = JSON.parse((await get(`${url(engine, 'api')}/`)).body);
    assert.equal(first.message, 'hello v1');
    assert.equal(first.pid, pidOf(engine, 'api'));
    assert.ok(logs(engine, 'api', 'output').includes(`INFO listening on ${port}  port=${port}`), 'JSON log lines are pretty-printed');
    assert.match(await readFile(path.join(root, '.devloop/build/api/index.mjs'), 'utf8'), /sourceMappingURL=index\.mjs\.map/);

    // Edit -> incremental rebuild -> restart, timed from the save to the new code answering.
    const t0 = performance.now();
    await writeFile(path.join(root, 'src/message.ts'), "export const message: string = 'hello v2';\n");
    await engine.filesChanged('api', [path.join(root, 'src/message.ts')]);
    await waitFor('the new code to answer', async () => ((await bodyOf(`${url(engine, 'api')}/`))?.includes('hello v2') ? true : undefined));
    const editToServing = performance.now() - t0;
    t.diagnostic(`esbuild rebuild + restart, edit to serving: ${editToServing.toFixed(0)} ms`);
    await engine.idle();
    assert.equal(engine.getState().services.api.buildCount, 2);
    assert.equal(engine.getState().services.api.lastBuild?.cached, false);
    assert.notEqual(pidOf(engine, 'api'), first.pid, 'a new process serves the new code');
    assert.equal(alive(first.pid), false, 'the old process is gone');

    // A save that changes nothing in the bundle keeps the running process.
    const pidBefore = pidOf(engine, 'api');
    await writeFile(path.join(root, 'src/message.ts'), "// a comment only\nexport const message: string = 'hello v2';\n");
    await engine.filesChanged('api', [path.join(root, 'src/message.ts')]);
    await engine.idle();
    assert.equal(engine.getState().services.api.buildCount, 3);
    assert.equal(engine.getState().services.api.lastBuild?.cached, true);
    assert.equal(pidOf(engine, 'api'), pidBefore, 'unchanged output: not restarted');

    // A file the bundle does not contain (read at runtime, say) always restarts, cached or not.
    await writeFile(path.join(root, 'src/notes.txt'), 'x');
    await engine.filesChanged('api', [path.join(root, 'src/notes.txt')]);
    await engine.idle();
    assert.equal(engine.getState().services.api.lastBuild?.cached, true);
    assert.notEqual(pidOf(engine, 'api'), pidBefore, 'a non-bundle file changed: restarted');
    // Each restart says why, as a build does: the files, or the manual deploy.
    const said = (re: RegExp) => logs(engine, 'api', 'info').filter((m) => re.test(m));
    assert.equal(said(/^restarting node .* on port \d+ after src\/notes\.txt changed$/).length, 1, logs(engine, 'api', 'info').join('\n'));
    assert.equal(said(/^starting node .* on port \d+$/).length, 1, 'the first start has nothing to explain');
    engine.triggerManual('api');
    await engine.idle();
    assert.equal(said(/^restarting node .* on port \d+ after a manual deploy$/).length, 1, logs(engine, 'api', 'info').join('\n'));

    // A crash is restarted with backoff; the restart is counted and the service comes back.
    const crashedPid = pidOf(engine, 'api');
    await get(`${url(engine, 'api')}/crash`).catch(() => undefined);
    await waitFor('the crash to be seen', () => (engine.getState().services.api.health === 'unhealthy' ? true : undefined));
    assert.match(engine.getState().services.api.healthMessage ?? '', /exited with code 1; restarting in 1 s/);
    await waitFor('the restart', () => (engine.getState().services.api.restarts === 1 && engine.getState().services.api.health === 'healthy' ? true : undefined), 10_000);
    assert.equal(engine.getState().services.api.phase, 'healthy');
    assert.notEqual(pidOf(engine, 'api'), crashedPid);
    assert.match((await get(`${url(engine, 'api')}/`)).body, /hello v2/);

    const lastPid = pidOf(engine, 'api');
    await engine.stop();
    assert.equal(alive(lastPid), false, 'engine.stop() leaves no process alive');
    assert.equal(await isPortFree(port), true, 'and the port free');
    assert.deepEqual(await readRecords(root), [], 'processes.json is empty again');
  });

  it('reports an esbuild error as file:line:col and keeps the last good process serving', async () => {
    const root = await project('proc-esbuild');
    const port = await findFreePort();
    const engine = engineFor(root, { api: { build: { type: 'esbuild', entry: 'src/index.ts' }, runtime: 'process', port } });
    await engine.start();
    await engine.idle();
    await writeFile(path.join(root, 'src/message.ts'), 'export const message: string = ;\n');
    await engine.filesChanged('api', [path.join(root, 'src/message.ts')]);
    await engine.idle();
    const s = engine.getState().services.api;
    assert.equal(s.phase, 'failed');
    assert.equal(s.error?.code, 'BUILD_FAILED');
    assert.match(s.error!.message, /\nsrc\/message\.ts:1:32: Unexpected ";"/);
    assert.match((await get(`http://127.0.0.1:${port}/`)).body, /hello v1/, 'the previous process still serves');
    await engine.stop();
  });

  it('moves a busy port to the next free one, with a warning', async () => {
    const root = await project('proc-esbuild');
    const busy = await findFreePort();
    const blocker = net.createServer().listen(busy, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    try {
      const engine = engineFor(root, { api: { build: { type: 'esbuild', entry: 'src/index.ts' }, runtime: 'process', port: busy } });
      await engine.start();
      await engine.idle();
      const s = engine.getState().services.api;
      assert.equal(s.phase, 'healthy', s.error?.message);
      const actual = Number(new URL(url(engine, 'api')).port);
      assert.ok(actual > busy, `moved from ${busy} to ${actual}`);
      assert.ok(logs(engine, 'api', 'warn').some((m) => m.startsWith(`port ${busy} is in use`) && m.endsWith(`using ${actual} instead`)), logs(engine, 'api', 'warn').join('\n'));
      assert.match((await get(url(engine, 'api'))).body, /hello v1/);
      await engine.stop();
    } finally {
      blocker.close();
    }
  });
});

describe('process runtime with a command build and live update', () => {
  const liveUpdate: ServiceConfig['liveUpdate'] = [
    { fallBackOn: 'server.js' },
    { sync: { from: 'static', to: 'static' } },
    { run: 'exit 3', trigger: 'static/fail-*' },
    { run: 'test -f static/greeting.txt' },
    { restart: true },
  ];
  const service = (port: number): ServiceConfig => ({
    // dist/static is left out of the outputs on purpose: the sync's own copies must still not count as edits.
    build: { type: 'command', command: './build.sh', outputs: ['dist/server.cjs'] },
    runtime: 'process',
    command: ['node', 'server.cjs'],
    cwd: 'dist',
    port,
    health: { http: '/' },
    liveUpdate,
  });

  it('syncs and restarts without a build, falls back to a rebuild when a run step fails, and stops children too', async (t) => {
    const root = await project('proc-command');
    const port = await findFreePort();
    const engine = engineFor(root, { web: service(port) });
    await engine.start();
    await engine.idle();
    const s = engine.getState().services.web;
    assert.equal(s.phase, 'healthy', s.error?.message);
    assert.equal((await get(url(engine, 'web'))).body, 'hello from static v1');
    assert.ok(logs(engine, 'web', 'output').includes('building into dist/'), 'build output is in the service log');

    // Live update: sync + restart, no build.
    const t0 = performance.now();
    await writeFile(path.join(root, 'static/greeting.txt'), 'hello from static v2\n');
    await engine.filesChanged('web', [path.join(root, 'static/greeting.txt')]);
    await waitFor('the synced content', async () => ((await bodyOf(url(engine, 'web'))) === 'hello from static v2' ? true : undefined));
    t.diagnostic(`live update sync + restart, edit to serving: ${(performance.now() - t0).toFixed(0)} ms`);
    await engine.idle();
    assert.equal(engine.getState().services.web.buildCount, 1, 'no build for a live update');
    assert.ok(logs(engine, 'web', 'info').some((m) => /^live update applied in \d+ ms: 1 file synced, 1 command run, restarted$/.test(m)), logs(engine, 'web', 'info').join('\n'));
    // Tilt's per-update summary, for a live update too: each step timed, the total at least their sum.
    const summary = logs(engine, 'web', 'info').find((m) => m.includes('(live update: '));
    const parsed = /^update #(\d+) done in (\d+\.\d\d) s \(live update: sync (\d+\.\d\d) s, run (\d+\.\d\d) s, restart (\d+\.\d\d) s\) after static\/greeting\.txt changed$/.exec(summary ?? '');
    assert.ok(parsed, `live update summary: ${summary}\n${logs(engine, 'web', 'info').join('\n')}`);
    assert.ok(Number(parsed[2]) + 0.011 >= Number(parsed[3]) + Number(parsed[4]) + Number(parsed[5]), summary);
    assert.equal(engine.getState().services.web.updates.at(-1)?.live, true);

    // The watcher then sees the copy the sync wrote: that is not an edit.
    const pidAfterSync = pidOf(engine, 'web');
    await engine.filesChanged('web', [path.join(root, 'dist/static/greeting.txt')]);
    await engine.idle();
    assert.equal(engine.getState().services.web.buildCount, 1, 'a synced copy does not rebuild');
    assert.equal(pidOf(engine, 'web'), pidAfterSync, 'nor restart');

    // A failing run step: fall back to a full rebuild, which serves the change.
    await writeFile(path.join(root, 'static/fail-now.txt'), 'x');
    await writeFile(path.join(root, 'static/greeting.txt'), 'hello from static v3\n');
    await engine.filesChanged('web', [path.join(root, 'static/fail-now.txt'), path.join(root, 'static/greeting.txt')]);
    await engine.idle();
    assert.equal(engine.getState().services.web.buildCount, 2, 'fell back to a rebuild');
    assert.ok(logs(engine, 'web', 'warn').some((m) => m === 'live update step `exit 3` exited with code 3; falling back to a full rebuild'));
    assert.equal(engine.getState().services.web.phase, 'healthy');
    assert.equal((await get(url(engine, 'web'))).body, 'hello from static v3');

    // A change matching fallBackOn rebuilds too.
    await engine.filesChanged('web', [path.join(root, 'server.js')]);
    await engine.idle();
    assert.equal(engine.getState().services.web.buildCount, 3);

    const { pid, helper } = JSON.parse((await get(`${url(engine, 'web')}/pids`)).body);
    assert.ok(alive(pid) && alive(helper));
    const records = await readRecords(root);
    assert.ok(records.some((r) => r.pid === pid && r.service === 'web' && r.role === 'service'), 'the running group is recorded');
    await engine.stop();
    await waitFor('the helper child to be gone', () => (!alive(helper) ? true : undefined), 3000);
    assert.equal(alive(pid), false);
    assert.equal(await isPortFree(port), true);
  });

  it('a later devloop stops the processes a crashed one left behind', { timeout: 60_000 }, async () => {
    const root = await project('proc-command');
    const port = await findFreePort();
    const first = engineFor(root, { web: service(port) });
    await first.start();
    await first.idle();
    assert.equal((await get(url(first, 'web'))).body, 'hello from static v1');
    const { pid, helper } = JSON.parse((await get(`${url(first, 'web')}/pids`)).body) as { pid: number; helper: number };
    // The wait below proves something only if these are real, running processes.
    assert.ok(Number.isInteger(pid) && Number.isInteger(helper) && alive(pid) && alive(helper), `pids ${pid}, ${helper}`);
    // Pretend the first devloop died: its entries now name an owner that no longer exists.
    const file = registryFile(root);
    const recs = JSON.parse(await readFile(file, 'utf8'));
    for (const r of recs) r.owner = { pid: 999_999_999, startTime: '1' };
    await writeFile(file, JSON.stringify(recs));

    const second = engineFor(root, { other: { runtime: 'process', command: 'exec sleep 60' } });
    await second.start();
    await waitFor('the leftovers to be stopped', () => (!alive(pid) && !alive(helper) ? true : undefined), 8000);
    assert.ok(second.getState().logTail.some((l) => l.level === 'warn' && l.message.includes('left behind by an earlier devloop') && l.message.includes(`web (pid ${pid}`)));
    await second.stop();
    await first.stop();
  });
});

describe('process runtime failures', () => {
  it('a process that exits during startup fails the service with its output', async () => {
    const root = await project('proc-crash');
    const engine = engineFor(root, { db: { runtime: 'process', command: 'node server.js', port: await findFreePort() } });
    await engine.start();
    await engine.idle();
    const s = engine.getState().services.db;
    assert.equal(s.phase, 'failed');
    assert.equal(s.error?.code, 'PROCESS_EXITED');
    assert.match(s.error!.message, /^db exited with code 3 before it became healthy\nlast 2 lines of output:\n {2}connecting to the database\.\.\.\n {2}fatal: DATABASE_URL is not set$/m);
    assert.equal(s.restarts, 0, 'a failed first start is not crash-looped');
    await engine.stop();
  });

  it('the run-it-yourself hint pastes into sh and runs the same command, with PORT and the env devloop set, never a secret', async () => {
    const root = await project('proc-crash');
    const port = await findFreePort();
    // Quoting a pasted line must survive: `node -e "..."` unquoted starts a REPL.
    const script = "console.log(JSON.stringify({ port: process.env.PORT, host: process.env.HOST, greeting: process.env.GREETING, token: process.env.API_TOKEN ?? null, cwd: process.cwd() })); process.exit(3)";
    const engine = engineFor(root, { db: { runtime: 'process', command: ['node', '-e', script], port, env: { GREETING: "it's me", API_TOKEN: 'tok-123456789' } } });
    await engine.start();
    await engine.idle();
    const s = engine.getState().services.db;
    assert.equal(s.error?.code, 'PROCESS_EXITED');
    const printed = JSON.parse(s.error!.message.split('\n').find((l) => l.includes('"port"'))!.trim());
    const line = s.error!.hint!.replace(/^run the command yourself to debug it: /, '');
    assert.match(line, new RegExp(`^cd \\S+ && .*\\bPORT=${port}\\b`), line);
    assert.doesNotMatch(line, /tok-123456789/, 'a secret is never printed');
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync('/bin/sh', ['-c', line], { cwd: os.tmpdir(), env: { PATH: process.env.PATH, API_TOKEN: 'from-my-shell' }, encoding: 'utf8' });
    assert.equal(r.status, 3, `${line}\n${r.stderr}`);
    assert.deepEqual(JSON.parse(r.stdout), { ...printed, token: 'from-my-shell' }, 'the same port, host, env and folder; the secret from the reader\'s own shell');
    await engine.stop();
  });

  it('a service without a port is healthy once its process is up, and has no endpoint', async () => {
    const root = await project('proc-crash');
    const engine = engineFor(root, { worker: { runtime: 'process', command: ['sleep', '60'] } });
    await engine.start();
    await engine.idle();
    const s = engine.getState().services.worker;
    assert.equal(s.phase, 'healthy', s.error?.message);
    assert.deepEqual(s.endpoints, []);
    const pid = pidOf(engine, 'worker');
    await engine.stop();
    assert.equal(alive(pid), false);
  });

  it('says how to fix a service it cannot start', async () => {
    const root = await project('proc-crash');
    const engine = engineFor(root, { none: { runtime: 'process' }, missing: { runtime: 'process', command: ['devloop-no-such-program'] } });
    await engine.start();
    await engine.idle();
    const { none, missing } = engine.getState().services;
    assert.equal(none.error?.code, 'NO_COMMAND');
    assert.match(none.error?.hint ?? '', /set services\.none\.command/);
    assert.equal(missing.error?.code, 'SPAWN_FAILED');
    assert.match(missing.error?.message ?? '', /devloop-no-such-program not found/);
    await engine.stop();
  });
});
