/** `devloop ci --keep`, `--grace` and the global `--timeout`, through the real CLI and real processes. */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { isAlive } from '../core/session/client.js';
import { findFreePort, isPortFree } from '../plugins/shared/ports.js';
import { readStat } from '../plugins/shared/procfs.js';
import { copyFixture, runCli, until } from './helpers.js';

const temps: string[] = [];

after(async () => {
  // Whatever a failed --keep test left running goes with its project.
  for (const d of temps) {
    await runCli(['down'], { cwd: d, timeoutMs: 60_000 }).catch(() => undefined);
    rmSync(d, { recursive: true, force: true });
  }
});

function project(devfile: string): string {
  const dir = copyFixture('cli-behaviours');
  temps.push(dir);
  writeFileSync(path.join(dir, 'Devfile.ts'), devfile);
  return dir;
}

const alive = (pid: number) => isAlive(pid) && readStat(pid)?.state !== 'Z';

describe('devloop ci flags', { concurrency: false }, () => {
  it('--keep leaves the services answering after ci exits; devloop down removes them', { timeout: 90_000 }, async () => {
    const port = await findFreePort();
    const dir = project(`export default { services: { web: { runtime: 'process', command: ['node', 'server.mjs'], port: ${port}, health: { http: '/' } } } };`);
    const r = await runCli(['ci', '--keep'], { cwd: dir, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /ci: the service is healthy/);
    const { pid } = await (await fetch(`http://127.0.0.1:${port}/`)).json() as { pid: number };
    assert.ok(alive(pid), 'the service still runs');
    const down = await runCli(['down'], { cwd: dir, timeoutMs: 60_000 });
    assert.equal(down.code, 0, down.stdout + down.stderr);
    await until(() => !alive(pid), 10_000, `pid ${pid} gone`);
    assert.ok(await isPortFree(port), `port ${port} is free`);
  });

  // flaky crashes 300 ms after its first health check, then is restarted after the 1 s backoff;
  // slow becomes healthy 4 s in, so ci is still waiting when flaky crashes.
  const devfile = (pf: number, ps: number, restartDelayMs: number) => `export default { services: {
  flaky: { runtime: 'process', command: ['node', 'flaky.mjs'], port: ${pf}, health: { http: '/' }, env: { RESTART_DELAY_MS: '${restartDelayMs}' } },
  slow: { runtime: 'process', command: ['node', 'server.mjs'], port: ${ps}, health: { http: '/' }, env: { LISTEN_DELAY_MS: '4000' } },
} };`;

  it('--grace: a crash that is healthy again within the grace passes; without a grace it fails', { timeout: 120_000 }, async () => {
    const dir = project(devfile(await findFreePort(), await findFreePort(), 0));
    const ok = await runCli(['ci', '--grace', '8s'], { cwd: dir, timeoutMs: 60_000 });
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /flaky.*restarting in/, 'flaky did crash');
    assert.match(ok.stdout, /ci: all 2 services healthy/);

    rmSync(path.join(dir, '.flaky-ran'));
    const strict = await runCli(['ci'], { cwd: dir, timeoutMs: 60_000 });
    assert.equal(strict.code, 1, strict.stdout + strict.stderr);
    // Judged at the crash itself: unhealthy first, restarted a moment later.
    assert.match(strict.stdout, /ci: FAILED: flaky (became unhealthy: exited with code 1|crashed and was restarted 1 time)/);
  });

  it('--grace: a crash that outlasts the grace fails naming the service', { timeout: 90_000 }, async () => {
    // The restarted flaky waits 20 s before it serves: the 2 s grace runs out first.
    const dir = project(devfile(await findFreePort(), await findFreePort(), 20_000));
    const started = Date.now();
    const r = await runCli(['ci', '--grace', '2s'], { cwd: dir, timeoutMs: 60_000 });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /ci: FAILED: flaky crashed and was restarted 1 time/);
    assert.ok(Date.now() - started < 20_000, 'failed at the end of the grace, not when flaky came back');
  });

  it('--timeout fires: exit 1 naming the timeout and what still waits', { timeout: 60_000 }, async () => {
    const port = await findFreePort();
    const dir = project(`export default { services: { never: { runtime: 'process', command: ['node', '-e', 'setInterval(() => {}, 1000)'], port: ${port}, health: { tcp: ${port} } } } };`);
    const started = Date.now();
    // The readiness timeout (5m) would not end it: only the global one can.
    const r = await runCli(['ci', '--timeout', '3s'], { cwd: dir, timeoutMs: 30_000 });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /ci: FAILED: timed out after 3s; still waiting: never \(starting/);
    // Generous: the machine may be loaded; the point is that it fires, long before 5 minutes.
    assert.ok(Date.now() - started < 25_000, `ended after ${Date.now() - started} ms`);
  });
});
