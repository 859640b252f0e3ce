/**
 * The dashboard as the CLI serves it (the browser suite, dashboard-browser.test.ts, drives the
 * page itself): where its URL is shown, `--no-dashboard` then `devloop dashboard`, a taken
 * `dashboard.port` (a warning; the services run on), `dashboard: false`, and no session.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { findFreePort } from '../plugins/shared/ports.js';
import { copyFixture, runCli, startCli, until, type RunningCli } from './helpers.js';

const running: { cli: RunningCli; dir: string }[] = [];

function project(dashboard?: string): string {
  const dir = copyFixture('dashboard-cli');
  const file = path.join(dir, 'Devfile.ts');
  if (dashboard !== undefined) writeFileSync(file, readFileSync(file, 'utf8').replace('/* DASHBOARD */', `dashboard: ${dashboard},`));
  return dir;
}

function up(dir: string, ...args: string[]): RunningCli {
  const cli = startCli(['up', ...args, '--output', 'json'], { cwd: dir });
  running.push({ cli, dir });
  return cli;
}

async function stop(cli: RunningCli, dir: string): Promise<number | null> {
  if (cli.child.exitCode !== null) return cli.child.exitCode;
  cli.child.kill('SIGINT');
  const code = await Promise.race([cli.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 20_000))]);
  if (code === 'hung') {
    cli.child.kill('SIGKILL');
    await runCli(['down'], { cwd: dir, timeoutMs: 60_000 }).catch(() => undefined);
    return null;
  }
  return code;
}

const healthy = (e: Record<string, any>) => e.type === 'service/health' && e.service === 'ticker' && e.health === 'healthy';
const logged = (pattern: RegExp) => (e: Record<string, any>) => e.type === 'log' && pattern.test(e.line?.message ?? '');

async function status(dir: string): Promise<Record<string, any>> {
  const st = await runCli(['status', '-o', 'json'], { cwd: dir });
  assert.equal(st.code, 0, st.stderr);
  return JSON.parse(st.stdout);
}

async function portAnswers(url: string): Promise<boolean> {
  try { return (await fetch(url, { signal: AbortSignal.timeout(2000) })).ok; } catch { return false; }
}

describe('devloop dashboard (CLI)', { concurrency: false }, () => {
  after(async () => { for (const r of running) await stop(r.cli, r.dir); });

  it('up serves it and says where: the log, status, status -o json; Ctrl-C frees its port', { timeout: 60_000 }, async () => {
    const port = await findFreePort();
    const dir = project(`{ port: ${port} }`);
    const cli = up(dir);
    const line = await cli.waitFor(logged(/^dashboard at /), 30_000, 'the dashboard line');
    const url = `http://127.0.0.1:${port}/`;
    assert.equal(line.line.message, `dashboard at ${url}`);
    await cli.waitFor(healthy, 30_000, 'ticker healthy');
    assert.equal((await status(dir)).dashboard, url);
    const plain = await runCli(['status'], { cwd: dir });
    assert.match(plain.stdout, new RegExp(`^Dashboard: ${url.replace(/[.]/g, '\\.')}$`, 'm'));
    const html = await (await fetch(url)).text();
    assert.match(html, /<title>devloop · dashboard-cli<\/title>/);
    const boot = JSON.parse(/<script id="devloop-boot" type="application\/json">(.*?)<\/script>/.exec(html)![1]);
    assert.equal(boot.project, 'dashboard-cli');
    assert.match(boot.token, /^[A-Za-z0-9_-]{32}$/);
    // The page's bundle is served from the build (npm ci / npm test build it).
    const js = await fetch(`${url}assets/app.js`);
    assert.equal(js.status, 200, 'dist/web/app.js is built');
    assert.ok((await js.text()).length > 10_000);
    assert.equal(await stop(cli, dir), 0);
    assert.equal(await portAnswers(url), false, 'the port is free after Ctrl-C');
  });

  it('--no-dashboard serves none until "devloop dashboard" starts it in the running session', { timeout: 60_000 }, async () => {
    const dir = project();
    const cli = up(dir, '--no-dashboard');
    await cli.waitFor(healthy, 30_000, 'ticker healthy');
    assert.equal((await status(dir)).dashboard, null);
    const asked = await runCli(['dashboard'], { cwd: dir });
    assert.equal(asked.code, 0, asked.stderr);
    const url = asked.stdout.trim();
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.ok(await portAnswers(url), `${url} answers`);
    assert.equal((await status(dir)).dashboard, url);
    // Asked again: the same one, not a second server.
    assert.equal((await runCli(['dashboard', '-o', 'json'], { cwd: dir })).stdout.trim(), JSON.stringify({ dashboard: url, pid: cli.child.pid }));
    assert.equal(await stop(cli, dir), 0);
  });

  it('a taken dashboard.port is a warning: the services still run', { timeout: 60_000 }, async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const dir = project(`{ port: ${port} }`);
      const cli = up(dir);
      const warn = await cli.waitFor(logged(/dashboard not started/), 30_000, 'the warning');
      assert.equal(warn.line.level, 'warn');
      assert.match(warn.line.message, new RegExp(`dashboard\\.port: port ${port} is in use; set dashboard\\.port to a free port`));
      await cli.waitFor(healthy, 30_000, 'ticker healthy all the same');
      assert.equal((await status(dir)).dashboard, null);
      assert.equal(await stop(cli, dir), 0);
    } finally {
      blocker.close();
    }
  });

  it('dashboard: false serves none; "devloop dashboard" without a session says how to start one', { timeout: 60_000 }, async () => {
    const dir = project('false');
    const none = await runCli(['dashboard'], { cwd: dir });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no devloop session runs for this project/);
    assert.match(none.stderr, /devloop up/);
    const cli = up(dir);
    await cli.waitFor(healthy, 30_000, 'ticker healthy');
    await until(async () => (await status(dir)).running, 10_000, 'the session');
    assert.equal((await status(dir)).dashboard, null);
    assert.equal(cli.events.some(logged(/^dashboard at /)), false);
    assert.equal(await stop(cli, dir), 0);
  });
});
