/**
 * `devloop status` while the Devfile is broken. With a session running, status shows the session
 * (it serves the last good version) and the Devfile error as a located warning on stderr, exit 0;
 * with none, the error is all there is to say, exit 2.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { copyFixture, runCli, startCli, within } from './helpers.js';

describe('status with a broken Devfile', { timeout: 150_000 }, () => {
  it('a session running: its table on stdout, the located error as a warning, exit 0; none: the error, exit 2', { timeout: 120_000 }, async () => {
    const dir = copyFixture('cli-inline');
    const devfile = path.join(dir, 'Devfile.ts');
    const good = readFileSync(devfile, 'utf8');
    const up = startCli(['up', '--output', 'json'], { cwd: dir });
    try {
      await up.waitFor((e) => e.type === 'service/health' && e.service === 'web' && e.health === 'healthy', 30_000, 'web healthy');
      await up.waitFor((e) => e.type === 'service/health' && e.service === 'api' && e.health === 'healthy', 30_000, 'api healthy');
      // A syntax error: one line missing its closing brace. up says nothing when its watcher is
      // ready, and these services are healthy within milliseconds: saved again until it is seen.
      const broken = good.replace("GREETING: 'hello' } },", "GREETING: 'hello' },");
      for (let i = 0; ; i++) {
        writeFileSync(devfile, broken);
        const seen = await up.waitFor((e) => e.type === 'config/error', 3_000, 'the session sees the broken save').catch((err) => { if (i === 5) throw err; });
        if (seen) break;
      }

      const st = await runCli(['status'], { cwd: dir });
      assert.equal(st.code, 0, st.stdout + st.stderr);
      assert.match(st.stdout, /^Session: running, pid \d+/m);
      assert.match(st.stdout, /^web\s+healthy/m);
      assert.match(st.stdout, /^api\s+healthy/m);
      assert.match(st.stderr, /^warning: the Devfile is broken; the session still runs its last good version:$/m);
      assert.match(st.stderr, /^Devfile\.ts:\d+:\d+ /m, 'located');
      assert.match(st.stderr, /^> +\d+ \|/m, 'with the code frame');
      assert.doesNotMatch(st.stdout, /Devfile\.ts:\d+:\d+/, 'stdout is the report of the session only');

      const json = await runCli(['status', '-o', 'json'], { cwd: dir });
      assert.equal(json.code, 0, json.stderr);
      const j = JSON.parse(json.stdout);
      assert.equal(j.running, true);
      assert.equal(j.services.web.phase, 'healthy');
      assert.equal(j.configError.code, 'DEVFILE_SYNTAX');

      const down = await runCli(['down'], { cwd: dir });
      assert.equal(down.code, 0, down.stderr);
      assert.equal(await within(up.exited, 30_000, 'up exiting'), 0);

      const none = await runCli(['status'], { cwd: dir });
      assert.equal(none.code, 2, none.stdout + none.stderr);
      assert.match(none.stderr, /^Devfile\.ts:\d+:\d+ /m);
      assert.doesNotMatch(none.stdout, /Session:/);
    } finally {
      up.child.kill('SIGKILL');
    }
  });
});
