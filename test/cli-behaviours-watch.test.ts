/**
 * `up` flags, `logs`, live update and `down` after a crash, through the real CLI and the real file
 * watcher (files are edited on disk; nothing calls the engine directly).
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { isAlive } from '../core/session/client.js';
import { findFreePort, isPortFree } from '../plugins/shared/ports.js';
import { readStat } from '../plugins/shared/procfs.js';
import { copyFixture, runCli, startCli, until, type RunningCli } from './helpers.js';

const temps: string[] = [];
const running: { cli: RunningCli; dir?: string }[] = [];
/** Service processes a failed test may leave without a session to stop them. */
const orphans: number[] = [];

after(async () => {
  for (const { cli, dir } of running) await stop(cli, dir);
  for (const pid of orphans) if (alive(pid)) process.kill(pid, 'SIGKILL');
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

function project(devfile: string): string {
  const dir = copyFixture('cli-behaviours');
  temps.push(dir);
  writeFileSync(path.join(dir, 'Devfile.ts'), devfile);
  return dir;
}

function start(args: string[], dir: string, session = true): RunningCli {
  const cli = startCli([...args, '--output', 'json'], { cwd: dir });
  running.push({ cli, dir: session ? dir : undefined });
  return cli;
}

/** Ctrl-C; if it does not stop within 20 s, SIGKILL and (for a session) `devloop down`. */
async function stop(cli: RunningCli, dir?: string): Promise<void> {
  if (cli.child.exitCode !== null || cli.child.signalCode !== null) return;
  cli.child.kill('SIGINT');
  const stopped = await Promise.race([cli.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 20_000))]);
  if (!stopped) {
    cli.child.kill('SIGKILL');
    if (dir) await runCli(['down'], { cwd: dir, timeoutMs: 60_000 }).catch(() => undefined);
  }
}

function plain(port: number, extra = ''): string {
  return `{ src: ['public', 'server.mjs'], runtime: 'process', command: ['node', 'server.mjs'], port: ${port}, health: { http: '/' }${extra} }`;
}

function built(port: number, out: string, extra = ''): string {
  return `{ src: ['public'], build: { type: 'command', command: 'node build.mjs ${out}', outputs: ['${out}'] }, runtime: 'process', cwd: '${out}', command: ['node', 'server.mjs'], port: ${port}, health: { http: '/' }${extra} }`;
}

const healthy = (service: string) => (e: Record<string, any>) => e.type === 'service/health' && e.service === service && e.health === 'healthy';
const count = (cli: RunningCli, type: string, service: string) => cli.events.filter((e) => e.type === type && e.service === service).length;
/** Alive, and not a zombie waiting for a slow PID 1 to reap it. */
const alive = (pid: number) => isAlive(pid) && readStat(pid)?.state !== 'Z';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function text(url: string): Promise<string> {
  return (await fetch(url)).text();
}

/** How long an edit is given to reach a build when none must come: the watcher's debounce is well under 1 s (see the --manual test, where the same edit is seen). */
const QUIET_MS = 3_000;

describe('devloop up flags', { concurrency: false }, () => {
  it('--manual: an edit is only noted as pending; devloop deploy builds it', { timeout: 120_000 }, async () => {
    const port = await findFreePort();
    const dir = project(`export default { services: { web: ${built(port, 'dist-web')} } };`);
    const up = start(['up', '--manual'], dir);
    await up.waitFor(healthy('web'), 60_000, 'web healthy');
    const url = `http://127.0.0.1:${port}/public`;
    assert.equal(await text(url), 'v1');
    writeFileSync(path.join(dir, 'public', 'index.txt'), 'v2\n');
    const pending = await up.waitFor((e) => e.type === 'service/pendingFiles' && e.service === 'web' && e.files.length > 0, 15_000, 'the edit noted as pending');
    assert.deepEqual(pending.files, [path.join('public', 'index.txt')]);
    await sleep(QUIET_MS);
    assert.equal(count(up, 'build/started', 'web'), 1, 'no build until deploy');
    assert.equal(await text(url), 'v1');
    const r = await runCli(['deploy', 'web'], { cwd: dir, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(count(up, 'build/started', 'web'), 2);
    assert.equal(await text(url), 'v2');
    await stop(up, dir);
  });

  it('--no-watch: an edit rebuilds nothing', { timeout: 90_000 }, async () => {
    const port = await findFreePort();
    const dir = project(`export default { services: { web: ${built(port, 'dist-web')} } };`);
    const up = start(['up', '--no-watch'], dir);
    await up.waitFor(healthy('web'), 60_000, 'web healthy');
    // The first update's summary follows its health; only what comes after it counts.
    await up.waitFor((e) => e.type === 'update/finished' && e.service === 'web', 10_000, 'the first update summary');
    const seen = up.events.length;
    writeFileSync(path.join(dir, 'public', 'index.txt'), 'v2\n');
    await sleep(QUIET_MS);
    const after = up.events.slice(seen).filter((e) => e.type !== 'log');
    assert.deepEqual(after.map((e) => e.type), [], 'nothing happened after the edit');
    assert.equal(count(up, 'build/started', 'web'), 1);
    assert.equal(await text(`http://127.0.0.1:${port}/public`), 'v1');
    await stop(up, dir);
  });

  it('up SERVICE starts only that service and what it dependsOn', { timeout: 90_000 }, async () => {
    const [pd, pa, po] = [await findFreePort(), await findFreePort(), await findFreePort()];
    const dir = project(`export default { services: {
  db: ${plain(pd)},
  api: ${plain(pa, ", dependsOn: ['db']")},
  other: ${plain(po)},
} };`);
    const up = start(['up', 'api'], dir);
    await up.waitFor(healthy('api'), 60_000, 'api healthy');
    assert.ok(up.events.some(healthy('db')), 'db, which api depends on, is up');
    assert.deepEqual(up.events.filter((e) => e.service === 'other').map((e) => e.type), [], 'no event for other');
    assert.ok(await isPortFree(po), 'nothing listens on other\'s port');
    const st = await runCli(['status', '-o', 'json'], { cwd: dir });
    assert.equal(st.code, 0, st.stderr);
    assert.deepEqual(Object.keys(JSON.parse(st.stdout).services).sort(), ['api', 'db']);
    await stop(up, dir);
  });
});

describe('devloop logs', { concurrency: false }, () => {
  it('-F follows lines written after it started', { timeout: 90_000 }, async () => {
    const port = await findFreePort();
    const dir = project(`export default { services: { web: ${plain(port, ", env: { TICK: '200' }")} } };`);
    const up = start(['up'], dir);
    await up.waitFor(healthy('web'), 60_000, 'web healthy');
    await up.waitFor((e) => e.type === 'log' && e.line?.message === 'tick 1', 15_000, 'a first tick');
    const follow = start(['logs', 'web', '-F'], dir, false);
    // The stored lines come first, all at once: once one is here, the file has been read.
    await follow.waitFor((e) => typeof e.message === 'string', 15_000, 'the stored lines');
    const readAt = Date.now();
    const later = await follow.waitFor((e) => /^tick \d+$/.test(e.message) && e.time > readAt, 15_000, 'a tick logged after the stored lines were read');
    assert.equal(later.service, 'web');
    const n = Number(later.message.slice(5));
    await follow.waitFor((e) => e.message === `tick ${n + 1}`, 15_000, 'the next tick too');
    assert.equal(follow.child.exitCode, null, 'logs -F is still running');
    await stop(follow);
    await stop(up, dir);
  });

  it('--since leaves older lines out (a duration and a timestamp)', { timeout: 60_000 }, async () => {
    const dir = project(`export default { services: { web: ${plain(await findFreePort())} } };`);
    const logs = path.join(dir, '.devloop', 'logs');
    mkdirSync(logs, { recursive: true });
    const now = Date.now();
    const line = (ago: number, message: string) => JSON.stringify({ time: now - ago, service: 'web', level: 'output', stream: 'stdout', message });
    writeFileSync(path.join(logs, 'web.jsonl'), `${[line(3 * 3600_000, 'three hours ago'), line(20 * 60_000, 'twenty minutes ago'), line(60_000, 'a minute ago')].join('\n')}\n`);
    const all = await runCli(['logs', 'web'], { cwd: dir });
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(all.stdout.trim().split('\n').map((l) => l.split(' web ')[1]), ['three hours ago', 'twenty minutes ago', 'a minute ago']);
    const recent = await runCli(['logs', 'web', '--since', '10m'], { cwd: dir });
    assert.equal(recent.code, 0, recent.stderr);
    assert.deepEqual(recent.stdout.trim().split('\n').map((l) => l.split(' web ')[1]), ['a minute ago']);
    const since = await runCli(['logs', 'web', '--since', new Date(now - 3600_000).toISOString(), '-o', 'json'], { cwd: dir });
    assert.equal(since.code, 0, since.stderr);
    assert.deepEqual(since.stdout.trim().split('\n').map((l) => JSON.parse(l).message), ['twenty minutes ago', 'a minute ago']);
  });
});

describe('live update through the real watcher', { concurrency: false }, () => {
  it('an edit under a sync rule reaches the running service without a build', { timeout: 90_000 }, async () => {
    const port = await findFreePort();
    const dir = project(`export default { services: { web: ${built(port, 'dist-web', ", liveUpdate: [{ sync: { from: 'public', to: 'public' } }]")} } };`);
    const up = start(['up'], dir);
    await up.waitFor(healthy('web'), 60_000, 'web healthy');
    const url = `http://127.0.0.1:${port}/public`;
    assert.equal(await text(url), 'v1');
    const { pid } = await (await fetch(`http://127.0.0.1:${port}/`)).json() as { pid: number };
    writeFileSync(path.join(dir, 'public', 'index.txt'), 'v2\n');
    await until(async () => (await text(url)) === 'v2', 15_000, 'the synced file served');
    await up.waitFor((e) => e.type === 'log' && /^live update applied in \d+ ms: 1 file synced$/.test(e.line?.message), 15_000, 'the live update logged');
    assert.equal(count(up, 'build/started', 'web'), 1, 'no build');
    assert.equal(count(up, 'deploy/finished', 'web'), 1, 'no redeploy');
    const after = await (await fetch(`http://127.0.0.1:${port}/`)).json() as { pid: number };
    assert.equal(after.pid, pid, 'same process');
    await stop(up, dir);
  });
});

describe('devloop down after devloop itself crashed', { concurrency: false }, () => {
  it('kill -9 of up leaves the service running; down stops it and frees its port', { timeout: 90_000 }, async () => {
    const port = await findFreePort();
    const dir = project(`export default { services: { web: ${plain(port)} } };`);
    const up = start(['up'], dir);
    await up.waitFor(healthy('web'), 60_000, 'web healthy');
    const { pid } = await (await fetch(`http://127.0.0.1:${port}/`)).json() as { pid: number };
    orphans.push(pid);
    up.child.kill('SIGKILL');
    await up.exited;
    await sleep(500);
    assert.ok(alive(pid), 'the service outlived devloop');
    assert.equal(((await (await fetch(`http://127.0.0.1:${port}/`)).json()) as { pid: number }).pid, pid, 'and still answers');
    const down = await runCli(['down'], { cwd: dir, timeoutMs: 60_000 });
    assert.equal(down.code, 0, down.stdout + down.stderr);
    await until(() => !alive(pid), 10_000, `pid ${pid} gone`);
    assert.ok(await isPortFree(port), `port ${port} is free`);
  });
});
