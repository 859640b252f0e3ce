/**
 * Devfile mistakes that used to surface only when a service deployed (exit 1, no location) are
 * refused before anything starts: exit 2, `Devfile.ts:LINE:COL field: what is wrong`, through the
 * real CLI.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from './helpers.js';

const temps: string[] = [];
after(() => { for (const d of temps) rmSync(d, { recursive: true, force: true }); });

/** A project whose Devfile has one service `web` written as `service` (a TS object literal). */
function project(service: string): string {
  const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-devfile-checks-')));
  temps.push(dir);
  writeFileSync(path.join(dir, 'server.js'), "require('node:http').createServer((q, s) => s.end('ok')).listen(Number(process.env.PORT), process.env.HOST);\n");
  writeFileSync(path.join(dir, 'Devfile.ts'), `export default {
  services: {
    web: {
      command: ['node', 'server.js'],
      port: 18431,
${service}
    },
  },
};
`);
  return dir;
}

describe('Devfile mistakes refused at load time', { concurrency: false }, () => {
  it('an unknown runtime: exit 2, located, with a did-you-mean among the loaded runtimes', { timeout: 60_000 }, async () => {
    const dir = project("      runtime: 'proces',");
    const r = await runCli(['ci'], { cwd: dir });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /Devfile\.ts:6:16 services\.web\.runtime: no plugin provides runtime "proces" \(did you mean "process"\?\); the runtimes here are .*"cloud-run".*"docker".*"process"/);
    assert.doesNotMatch(r.stdout + r.stderr, /no plugin deploys/, 'refused before any deploy');
  });

  it('an inline cloudRun value out of Cloud Run\'s bounds: exit 2, located at the field', { timeout: 60_000 }, async () => {
    const dir = project("      cloudRun: {\n        containerConcurrency: 2000,\n        timeoutSeconds: 7200,\n      },");
    for (const command of ['ci', 'status']) {
      const r = await runCli([command], { cwd: dir });
      assert.equal(r.code, 2, `${command}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /Devfile\.ts:7:31 services\.web\.cloudRun\.containerConcurrency: must be from 1 to 1000, got 2000/, command);
      assert.match(r.stderr, /Devfile\.ts:8:25 services\.web\.cloudRun\.timeoutSeconds: must be from 1 to 3600 seconds, got 7200/, command);
    }
  });

  it('cpu and memory that Cloud Run does not combine: exit 2, with the fix', { timeout: 60_000 }, async () => {
    const dir = project("      cloudRun: { cpu: '1', memory: '8Gi' },");
    const r = await runCli(['ci'], { cwd: dir });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /Devfile\.ts:6:37 services\.web\.cloudRun\.memory: 8Gi needs at least 2 CPU/);
  });

  it('runtime "process" beside a cloudRun block, which it would ignore: exit 2, saying what to do', { timeout: 60_000 }, async () => {
    const dir = project("      runtime: 'process',\n      cloudRun: { maxScale: 3 },");
    const r = await runCli(['ci'], { cwd: dir });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /Devfile\.ts:6:16 services\.web\.runtime: runtime "process" ignores this service's cloudRun block/);
    assert.match(r.stderr, /Remove runtime to serve the service behind the simulator.*or remove cloudRun/);
  });
});
