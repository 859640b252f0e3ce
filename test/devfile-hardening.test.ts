/**
 * A Devfile is user code. An endless loop saved into it must not freeze the running session, and
 * `status`, `logs` and `down` must find the session without running the Devfile at all.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { copyFixture, runCli, startCli } from './helpers.js';

const text = async (url: string) => (await fetch(url)).text();
const ENDLESS = 'while (true) {}\n';

describe('an endless Devfile', { timeout: 120_000 }, () => {
  it('keeps the running session on its last good config; status, logs and down still work', { timeout: 90_000 }, async () => {
    const dir = copyFixture('cli-inline');
    const env = { DEVLOOP_DEVFILE_TIMEOUT: '1s' };
    const up = startCli(['up', '--output', 'json'], { cwd: dir, env });
    try {
      const healthy = await up.waitFor((e) => e.type === 'service/health' && e.service === 'web' && e.health === 'healthy', 30_000, 'web healthy');
      const url = healthy.state.endpoints[0].url as string;
      assert.equal(await text(url), 'hello:v1\n');

      const devfile = path.join(dir, 'Devfile.ts');
      writeFileSync(devfile, ENDLESS + readFileSync(devfile, 'utf8'));
      const cfgErr = await up.waitFor((e) => e.type === 'config/error', 20_000, 'config error');
      assert.match(cfgErr.error.message, /^Devfile\.ts did not finish evaluating within 1 s, so it was stopped/);
      assert.equal(cfgErr.error.code, 'DEVFILE_TIMEOUT');
      // The session's event loop is free: the service still answers and the session too.
      assert.equal(await text(url), 'hello:v1\n', 'still serving the last good config');

      // Without DEVLOOP_DEVFILE_TIMEOUT these would run the endless Devfile for 10 s each, if they
      // ran it at all: they must not.
      const st = await runCli(['status', '-o', 'json'], { cwd: dir, timeoutMs: 8_000 });
      assert.equal(st.code, 0, st.stderr);
      const sj = JSON.parse(st.stdout);
      assert.equal(sj.running, true);
      assert.equal(sj.services.web.phase, 'healthy');
      assert.match(sj.configError.message, /did not finish evaluating/);

      const logs = await runCli(['logs', 'web'], { cwd: dir, timeoutMs: 8_000 });
      assert.equal(logs.code, 0, logs.stderr);
      assert.match(logs.stdout, /serving v1/);

      const down = await runCli(['down'], { cwd: dir, env, timeoutMs: 30_000 });
      assert.equal(down.code, 0, down.stderr);
      assert.match(down.stdout, /stopping the devloop session/);
      assert.match(down.stderr, /did not finish evaluating within 1 s.*cleaning up in .* with the built-in plugins only/);
      assert.equal(await up.exited, 0);
      await assert.rejects(fetch(url), 'the service is gone');
      assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.timestamp-')), [], 'no temp bundle left');
    } finally {
      up.child.kill('SIGKILL');
    }
  });

  it('down with no session and an endless Devfile cleans up and exits 0', { timeout: 60_000 }, async () => {
    const dir = copyFixture('cli-inline');
    const devfile = path.join(dir, 'Devfile.ts');
    writeFileSync(devfile, ENDLESS + readFileSync(devfile, 'utf8'));
    const down = await runCli(['down'], { cwd: dir, env: { DEVLOOP_DEVFILE_TIMEOUT: '1s' }, timeoutMs: 30_000 });
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, /no session was running; leftovers cleaned up/);
    // Logs of an earlier session must not stand in for the broken Devfile.
    mkdirSync(path.join(dir, '.devloop', 'logs'), { recursive: true });
    writeFileSync(path.join(dir, '.devloop', 'logs', 'web.jsonl'), '');
    const st = await runCli(['status'], { cwd: dir, env: { DEVLOOP_DEVFILE_TIMEOUT: '1s' }, timeoutMs: 30_000 });
    assert.equal(st.code, 2, 'with no session, status evaluates the Devfile and reports it');
    assert.match(st.stderr, /did not finish evaluating within 1 s/);
  });
});
