/**
 * `devloop profile` through the real CLI against a real `devloop up`: a Node service that burns
 * CPU in one function is profiled over the inspector, and that function comes out on top, at its
 * TypeScript line (through the esbuild bundle's source map).
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findFreePort } from '../plugins/shared/ports.js';
import { copyFixture, ensureDockerInfra, removeImages, runCli, startCli, type RunningCli } from './helpers.js';

const temps: string[] = [];
/** Every `up` started, stopped in `after` even when its start or a test failed. */
const running: { cli: RunningCli; dir: string }[] = [];

/** Ctrl-C; if it does not stop within 20 s, SIGKILL and `devloop down` (which removes the service's processes). */
async function stop(cli: RunningCli, cwd: string): Promise<void> {
  if (cli.child.exitCode !== null || cli.child.signalCode !== null) return;
  cli.child.kill('SIGINT');
  const stopped = await Promise.race([cli.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 20_000))]);
  if (!stopped) {
    cli.child.kill('SIGKILL');
    await runCli(['down'], { cwd, timeoutMs: 60_000 }).catch(() => undefined);
  }
}

/** `devloop up` of a fresh copy of the fixture, once its services are healthy. */
async function upHot(env: Record<string, string> = {}): Promise<string> {
  const dir = copyFixture('profile-hot');
  temps.push(dir);
  const port = await findFreePort();
  const up = startCli(['up', '--output', 'json'], { cwd: dir, env: { PROFILE_HOT_PORT: String(port), ...env } });
  running.push({ cli: up, dir });
  for (const service of ['hot', 'plain']) await up.waitFor((e) => e.type === 'service/health' && e.service === service && e.health === 'healthy', 90_000, `${service} healthy`);
  return dir;
}

/** The line of `function burnCpu` in a fixture file, 1-based. */
function burnCpuLine(file: string): number {
  return readFileSync(file, 'utf8').split('\n').findIndex((l) => /^(async )?function burnCpu\(/.test(l)) + 1;
}

async function stopAll(): Promise<void> {
  for (const { cli, dir } of running.splice(0)) await stop(cli, dir);
}

after(async () => {
  await stopAll();
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

/** The first row under the table's header, split into its columns. */
function topRow(stdout: string): string[] {
  const lines = stdout.split('\n');
  const header = lines.findIndex((l) => /self ms\s+self %\s+function\s+location/.test(l));
  assert.ok(header >= 0, `a table of functions is printed:\n${stdout}`);
  return lines[header + 1].trim().split(/\s+/);
}

describe('devloop profile: process runtime', { concurrency: false }, () => {
  let dir = '';
  before(async () => { dir = await upHot(); });
  after(stopAll);

  it('restarts the service with the inspector, writes a .cpuprofile, and prints burnCpu on top at its TypeScript line', { timeout: 120_000 }, async () => {
    const r = await runCli(['profile', 'hot', '--seconds', '2'], { cwd: dir, timeoutMs: 90_000 });
    assert.equal(r.code, 0, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    assert.match(r.stderr, /hot: restarting with the Node inspector/);

    const written = /written to (\S+\.cpuprofile)/.exec(r.stdout);
    assert.ok(written, r.stdout);
    const file = path.resolve(dir, written[1]);
    assert.equal(path.dirname(file), path.join(dir, '.devloop', 'profiles'));
    const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: unknown[]; samples: number[]; timeDeltas: number[] };
    assert.ok(Array.isArray(profile.nodes) && profile.nodes.length > 0, 'the profile has nodes');
    assert.ok(profile.samples.length > 100, `the profile has samples (${profile.samples.length})`);

    const line = burnCpuLine(path.join(dir, 'src', 'server.ts'));
    const [selfMs, selfPct, fn, where] = topRow(r.stdout);
    assert.equal(fn, 'burnCpu', r.stdout);
    assert.equal(where, `src/server.ts:${line}`, r.stdout);
    // The fixture burns 10 ms in every 25: about 40% of the profile, never most of it idle.
    assert.ok(Number(selfMs) > 300 && parseFloat(selfPct) > 15, r.stdout);
  });

  it('a second run reuses the running inspector (no restart); --heap --out writes a heap snapshot', { timeout: 120_000 }, async () => {
    const r = await runCli(['profile', 'hot', '--heap', '--out', 'snap/hot.heapsnapshot'], { cwd: dir, timeoutMs: 90_000 });
    assert.equal(r.code, 0, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /restarting/, 'the inspector from the first profile is used');
    const file = path.join(dir, 'snap', 'hot.heapsnapshot');
    assert.match(r.stdout, /hot: heap snapshot \([\d.]+ MB\) written to snap\/hot\.heapsnapshot/);
    const snapshot = JSON.parse(readFileSync(file, 'utf8')) as { snapshot: { meta: unknown; node_count: number }; nodes: number[] };
    assert.ok(snapshot.snapshot.meta && snapshot.snapshot.node_count > 1000, 'a whole V8 heap snapshot');
    assert.equal(statSync(file).mode & 0o077, 0, 'private: a heap snapshot holds every string of the process');
  });

  it('an unknown service: exit 2, and the services it has', { timeout: 60_000 }, async () => {
    const r = await runCli(['profile', 'nope', '--seconds', '1'], { cwd: dir });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /no service named "nope" in the running session/);
    assert.match(r.stderr, /services are: hot, plain/);
  });

  it('a service that is not Node: exit 1 soon after its restart, saying so', { timeout: 90_000 }, async () => {
    const r = await runCli(['profile', 'plain', '--seconds', '1'], { cwd: dir, timeoutMs: 60_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /plain restarted with --inspect in NODE_OPTIONS but no inspector answers on 127\.0\.0\.1:\d+: it does not look like a Node program/);
    assert.match(r.stderr, /try: "devloop profile" profiles Node services/);
  });

  it('no session running: exit 1, and how to start one', { timeout: 60_000 }, async () => {
    const idle = copyFixture('profile-hot');
    temps.push(idle);
    const r = await runCli(['profile', 'hot'], { cwd: idle });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /no devloop session is running for this project/);
    assert.match(r.stderr, /devloop up/);
  });
});

describe('devloop profile: docker runtime', { concurrency: false }, () => {
  let dir = '';
  before(async () => {
    ensureDockerInfra();
    dir = await upHot({ PROFILE_HOT_RUNTIME: 'docker' });
  });
  after(async () => {
    await stopAll();
    removeImages('profile-hot');
  });

  it('profiles the process in the container through the relayed inspector: burnCpu on top, at its path in the image', { timeout: 120_000 }, async () => {
    const r = await runCli(['profile', 'hot', '--seconds', '2'], { cwd: dir, timeoutMs: 90_000 });
    assert.equal(r.code, 0, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    assert.match(r.stdout, /written to \.devloop\/profiles\/hot-\S+\.cpuprofile/);
    const [, , fn, where] = topRow(r.stdout);
    assert.equal(fn, 'burnCpu', r.stdout);
    assert.equal(where, `/app/server.mjs:${burnCpuLine(path.join(dir, 'server.mjs'))}`, r.stdout);
  });
});
