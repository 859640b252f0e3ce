/**
 * A bug nothing caught (here: a plugin throwing from a timer, and one rejecting a promise nobody
 * awaits) must not kill devloop on the spot and leave its services running: devloop reports the
 * bug, stops every service it started, and exits 70.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { isAlive } from '../core/session/client.js';
import { findFreePort } from '../plugins/shared/ports.js';
import { copyFixture, startCli } from './helpers.js';

function devfile(dir: string, fault: string, port: number): void {
  writeFileSync(path.join(dir, 'Devfile.ts'), `import { existsSync } from 'node:fs';
export default {
  plugins: [{
    name: 'buggy',
    apply(engine: any) {
      // The fault fires once the test has seen the service healthy and writes ./boom.
      engine.hooks.afterDeploy.tap('buggy', () => {
        const t = setInterval(() => { if (existsSync(${JSON.stringify(path.join(dir, 'boom'))})) { clearInterval(t); ${fault} } }, 50);
      });
    },
  }],
  services: {
    api: { build: { type: 'esbuild', entry: 'src/index.ts' }, runtime: 'process', port: ${port}, health: { http: '/' } },
  },
};
`);
}

describe('the last-resort handler', { timeout: 120_000 }, () => {
  for (const [kind, fault] of [
    ['an uncaught exception', "throw new Error('boom from a timer');"],
    ['an unhandled rejection', "void Promise.reject(new Error('boom from a promise'));"],
  ] as const) {
    it(`${kind} stops every service and exits 70`, { timeout: 60_000 }, async () => {
      const dir = copyFixture('proc-esbuild');
      devfile(dir, fault, await findFreePort());
      const up = startCli(['up', '--output', 'json'], { cwd: dir });
      try {
        const healthy = await up.waitFor((e) => e.type === 'service/health' && e.service === 'api' && e.health === 'healthy', 30_000, 'api healthy');
        const url = healthy.state.endpoints[0].url as string;
        const { pid } = await (await fetch(url)).json() as { pid: number };
        assert.ok(isAlive(pid));
        writeFileSync(path.join(dir, 'boom'), '');
        assert.equal(await up.exited, 70, up.stderr());
        assert.match(up.stderr(), /devloop hit an internal error \(a bug; please report it with this output\):\nError: boom from a/);
        assert.match(up.stderr(), /stopping every service it started/);
        assert.ok(!isAlive(pid), `the service's process ${pid} is gone`);
        await assert.rejects(fetch(url), 'nothing answers on the service port');
      } finally {
        up.child.kill('SIGKILL');
      }
    });
  }
});
