// The Cloud Run quickstart: `devloop up` on recipes/hello-cloud-run serves through the simulator,
// an edit becomes a new revision that takes the traffic, Ctrl-C frees the port; `devloop ci` on
// the same recipe exits 0.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, it } from 'node:test';
import { findFreePort } from '../plugins/shared/ports.js';
import { repoRoot, runCli, startCli, until, within } from './helpers.js';

const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

function copyRecipe(port: number, metricsPort = port + 1): string {
  const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-hello-cr-')));
  dirs.push(dir);
  cpSync(path.join(repoRoot, 'recipes', 'hello-cloud-run'), dir, { recursive: true, filter: (src) => !src.includes('.devloop') });
  const devfile = path.join(dir, 'Devfile.ts');
  // A port unlikely to clash with other suites, as the recipe gets it: from the container port
  // (implicit, so a taken one moves; a Devfile `port` would be explicit and fail instead). Metrics on a free one too.
  writeFileSync(devfile, readFileSync(devfile, 'utf8').replace('cloudRun: { enabled: true }', `cloudRun: { enabled: true, metricsPort: ${metricsPort} }`));
  const yaml = path.join(dir, 'service.yaml');
  writeFileSync(yaml, readFileSync(yaml, 'utf8').replace('          startupProbe:', `          ports:\n            - containerPort: ${port}\n          startupProbe:`));
  return dir;
}

it('recipes/hello-cloud-run: up serves through the simulator, an edit becomes a new revision, Ctrl-C frees the port', { timeout: 120_000 }, async () => {
  const dir = copyRecipe(18180);
  const up = startCli(['up', '--output', 'json'], { cwd: dir });
  try {
    const healthy = await up.waitFor((e) => e.type === 'service/health' && e.service === 'hello' && e.health === 'healthy', 30_000, 'hello healthy');
    const url = healthy.state.endpoints[0].url as string;
    assert.equal(url, 'http://127.0.0.1:18180');
    const first = await (await fetch(url)).json() as { message: string; revision: string };
    assert.equal(first.message, 'hello from hello');
    assert.match(first.revision, /^hello-00001-[a-z]{3}$/);
    writeFileSync(path.join(dir, 'src', 'server.ts'), readFileSync(path.join(dir, 'src', 'server.ts'), 'utf8').replace("?? 'hello'} from", "?? 'hello'} again from"));
    const second = await until(async () => {
      const body = await (await fetch(url)).json() as { message: string; revision: string };
      return body.message === 'hello again from hello' ? body : undefined;
    }, 15_000, 'the edited revision');
    assert.match(second.revision, /^hello-00002-[a-z]{3}$/);
    // service.yaml is watched too (it is not under src/): a save applies it as a new revision.
    writeFileSync(path.join(dir, 'service.yaml'), readFileSync(path.join(dir, 'service.yaml'), 'utf8').replace('timeoutSeconds: 30', 'timeoutSeconds: 31'));
    const third = await until(async () => {
      const body = await (await fetch(url)).json() as { revision: string };
      return /^hello-00003-/.test(body.revision) ? body : undefined;
    }, 15_000, 'the revision from the edited service.yaml');
    assert.ok(third);
    assert.equal(up.child.exitCode, null, 'devloop itself kept running');
  } finally {
    up.child.kill('SIGINT');
  }
  assert.equal(await up.exited, 0, up.stderr());
  await assert.rejects(fetch('http://127.0.0.1:18180'), 'the port is free again');
});

it('recipes/hello-cloud-run: devloop ci exits 0 with its test passing', { timeout: 120_000 }, async () => {
  const dir = copyRecipe(18190);
  const r = await runCli(['ci'], { cwd: dir, timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /ci: the service is healthy, 1 test passed/);
});

// Issue 11, major 1: the recipe's declared test fetched a hard-coded 127.0.0.1:8080. When that port
// was taken, devloop moved the service and the test asked the program on 8080 instead: here an
// impostor that answers what the old test accepts. The test must reach the moved service
// (DEVLOOP_URL_HELLO): the impostor gets no request and the output shows the real revision.
it('recipes/hello-cloud-run: with its port taken by another server, devloop ci tests the moved service, not the other program', { timeout: 120_000 }, async () => {
  const port = await findFreePort();
  let impostorHits = 0;
  const impostor = http.createServer((_req, res) => {
    impostorHits++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ message: 'not devloop', revision: 'hello-99999-imp' }));
  });
  await within(new Promise<void>((resolve, reject) => { impostor.once('error', reject); impostor.listen(port, '127.0.0.1', () => resolve()); }), 5_000, 'the impostor listening');
  try {
    const dir = copyRecipe(port, await findFreePort());
    const r = await runCli(['ci'], { cwd: dir, timeoutMs: 60_000 });
    const out = r.stdout + r.stderr;
    assert.equal(r.code, 0, out);
    const moved = /hello at http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
    assert.ok(moved, `the service URL is printed:\n${out}`);
    assert.notEqual(Number(moved[1]), (impostor.address() as AddressInfo).port, 'devloop moved the service off the taken port');
    assert.equal(impostorHits, 0, `the declared test asked the program on the taken port ${port} instead of the service:\n${out}`);
    assert.match(out, /revision: '(hello-00001-[a-z]{3})'/, 'the test printed the real revision');
    assert.doesNotMatch(out, /hello-99999-imp/);
    assert.match(r.stdout, /ci: the service is healthy, 1 test passed/);
  } finally {
    await within(new Promise<void>((resolve) => impostor.close(() => resolve())), 5_000, 'the impostor closing');
  }
});
