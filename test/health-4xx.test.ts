/**
 * A health path the service does not serve: its 404 says so at once. `devloop ci` fails within
 * seconds naming the path and the status, instead of waiting out the 60 s health timeout and
 * then blaming the port.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { findFreePort } from '../plugins/shared/ports.js';
import { copyFixture, runCli } from './helpers.js';

describe('a health path that answers 4xx', { timeout: 120_000 }, () => {
  it('devloop ci exits 1 within seconds naming the 404 and the path', { timeout: 90_000 }, async () => {
    const dir = copyFixture('proc-esbuild');
    // Serves / only; everything else is 404, as most routers do.
    writeFileSync(path.join(dir, 'src', 'index.ts'), `import http from 'node:http';
http.createServer((req, res) => { res.statusCode = req.url === '/' ? 200 : 404; res.end(); })
  .listen(Number(process.env.PORT), process.env.HOST);
`);
    writeFileSync(path.join(dir, 'Devfile.ts'), `export default {
  services: {
    api: { build: { type: 'esbuild', entry: 'src/index.ts' }, runtime: 'process', port: ${await findFreePort()}, health: { http: '/nope' } },
  },
};
`);
    const started = Date.now();
    // Under the 60 s default health timeout by far: the bound fails the old behaviour.
    const r = await runCli(['ci', '--readiness-timeout', '5m'], { cwd: dir, timeoutMs: 40_000 });
    const took = Date.now() - started;
    const out = r.stdout + r.stderr;
    assert.equal(r.code, 1, out);
    assert.match(out, /GET \/nope answered 404: set health\.http to a path your service serves/);
    assert.doesNotMatch(out, /listens on the port devloop gives it/, 'the port is not blamed');
    assert.ok(took < 30_000, `took ${took} ms`);
  });
});
