/**
 * `devloop up | head -3`: when the reader of devloop's stdout goes away, every later write fails
 * with EPIPE. That is not a bug: devloop stops every service it started, removes its session
 * file and exits 0 with no error text, as after Ctrl-C.
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import { isAlive } from '../core/session/client.js';
import { findFreePort } from '../plugins/shared/ports.js';
import { copyFixture, startCli, until, within } from './helpers.js';

/** A service that logs a line every 100 ms, so devloop keeps writing to its stdout. */
function chattyProject(port: number): string {
  const dir = copyFixture('proc-esbuild');
  writeFileSync(path.join(dir, 'src', 'index.ts'), `import http from 'node:http';
const port = Number(process.env.PORT);
http.createServer((_req, res) => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify({ pid: process.pid })); })
  .listen(port, process.env.HOST, () => console.log('listening on ' + port));
let n = 0;
setInterval(() => console.log('tick ' + n++), 100);
`);
  writeFileSync(path.join(dir, 'Devfile.ts'), `export default {
  services: {
    api: { build: { type: 'esbuild', entry: 'src/index.ts' }, runtime: 'process', port: ${port}, health: { http: '/' } },
  },
};
`);
  return dir;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

describe('stdout closed under devloop (devloop up | head)', { timeout: 120_000 }, () => {
  it('stops every service, removes session.json and exits 0 with no error', { timeout: 90_000 }, async () => {
    const port = await findFreePort();
    const dir = chattyProject(port);
    const up = startCli(['up', '--output', 'json'], { cwd: dir });
    try {
      const healthy = await up.waitFor((e) => e.type === 'service/health' && e.service === 'api' && e.health === 'healthy', 45_000, 'api healthy');
      const url = healthy.state.endpoints[0].url as string;
      const { pid } = await (await fetch(url)).json() as { pid: number };
      assert.ok(isAlive(pid));
      const sessionFile = path.join(dir, '.devloop', 'session.json');
      assert.ok(existsSync(sessionFile), 'the session is recorded while up runs');

      // The reader goes away, as head does after three lines; the service's next log line
      // (within 100 ms) makes devloop write to the closed pipe.
      up.child.stdout!.destroy();
      const code = await within(up.exited, 30_000, 'devloop to exit after its stdout closed');

      assert.equal(code, 0, up.stderr());
      assert.doesNotMatch(up.stderr(), /internal error|EPIPE/i, up.stderr());
      await until(() => !isAlive(pid), 5_000, `the service's process ${pid} to be gone`);
      assert.ok(await portFree(port), `port ${port} is free`);
      assert.ok(!existsSync(sessionFile), '.devloop/session.json is removed');
    } finally {
      up.child.kill('SIGKILL');
    }
  });
});
