/**
 * A Devfile that is broken when `devloop up` starts, as Tilt handles a broken Tiltfile: a
 * watching `up` shows the located error and waits; a save that fixes it starts the services.
 * Without watching (`--no-watch`, `ci`) there is nothing to wait for, and it exits 2.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { copyFixture, runCli, startCli, until, within } from './helpers.js';

const SYNTAX = (good: string) => good.replace("GREETING: 'hello' }", "GREETING: 'hello' ");
const TYPE = (good: string) => good.replace("env: { GREETING: 'hello' }", "env: { GREETING: 'hello' }, port: '80a'");

describe('up with a Devfile broken at start-up', { timeout: 180_000 }, () => {
  it('shows the located error, waits, shows the next error on a bad save, and starts on a good one', { timeout: 120_000 }, async () => {
    const dir = copyFixture('cli-inline');
    const devfile = path.join(dir, 'Devfile.ts');
    const good = readFileSync(devfile, 'utf8');
    writeFileSync(devfile, SYNTAX(good));
    const up = startCli(['up', '--output', 'json'], { cwd: dir });
    try {
      await until(() => /waiting for Devfile\.ts to be fixed/.test(up.stderr()), 30_000, 'up waiting');
      assert.match(up.stderr(), /^Devfile\.ts:\d+:\d+ /m, 'the syntax error, located');
      assert.equal(up.child.exitCode, null, 'up is still running');
      assert.ok(!up.events.some((e) => e.type === 'config/loaded'), 'nothing started');

      // Another broken save: its own error is shown, and up keeps waiting.
      writeFileSync(devfile, TYPE(good));
      await until(() => /^Devfile\.ts:\d+:\d+ services\.web\.port: expected a number, got "80a"$/m.test(up.stderr()), 30_000, 'the type error');
      assert.equal(up.child.exitCode, null, 'up is still running');

      writeFileSync(devfile, good);
      const web = await up.waitFor((e) => e.type === 'service/health' && e.service === 'web' && e.health === 'healthy', 30_000, 'web healthy after the fix');
      assert.equal(await (await fetch(web.state.endpoints[0].url)).text(), 'hello:v1\n');
      await up.waitFor((e) => e.type === 'service/health' && e.service === 'api' && e.health === 'healthy', 30_000, 'api healthy');

      // From here it is an ordinary session: a later broken edit keeps it running as before.
      const st = await runCli(['status', '-o', 'json'], { cwd: dir });
      assert.equal(st.code, 0, st.stderr);
      assert.equal(JSON.parse(st.stdout).running, true);

      up.child.kill('SIGINT');
      assert.equal(await within(up.exited, 30_000, 'up exiting'), 0, up.stderr());
      assert.ok(!existsSync(path.join(dir, '.devloop', 'session.json')));
    } finally {
      up.child.kill('SIGKILL');
    }
  });

  it('Ctrl-C while waiting exits 0 and leaves no session', { timeout: 60_000 }, async () => {
    const dir = copyFixture('cli-inline');
    writeFileSync(path.join(dir, 'Devfile.ts'), TYPE(readFileSync(path.join(dir, 'Devfile.ts'), 'utf8')));
    const up = startCli(['up', '--output', 'json'], { cwd: dir });
    try {
      await until(() => /waiting for Devfile\.ts to be fixed/.test(up.stderr()), 30_000, 'up waiting');
      up.child.kill('SIGINT');
      assert.equal(await within(up.exited, 15_000, 'up exiting after Ctrl-C'), 0, up.stderr());
      assert.doesNotMatch(up.stderr(), /internal error/);
      assert.ok(!existsSync(path.join(dir, '.devloop', 'session.json')));
    } finally {
      up.child.kill('SIGKILL');
    }
  });

  it('up --no-watch and ci still exit 2 with the located error', { timeout: 60_000 }, async () => {
    const dir = copyFixture('cli-inline');
    writeFileSync(path.join(dir, 'Devfile.ts'), TYPE(readFileSync(path.join(dir, 'Devfile.ts'), 'utf8')));
    for (const args of [['up', '--no-watch'], ['ci']]) {
      const r = await runCli(args, { cwd: dir, timeoutMs: 30_000 });
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /^Devfile\.ts:\d+:\d+ services\.web\.port: expected a number, got "80a"$/m);
      assert.doesNotMatch(r.stderr, /waiting for/);
    }
  });
});
