/**
 * The simulator's own failure (here: its front end cannot listen on the configured host) must not
 * fail the service: it runs on its plain runtime with one warning. A mistake in the user's Cloud
 * Run settings is not such a failure and still fails the deploy with its message.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { findFreePort } from '../plugins/shared/ports.js';
import { copyFixture, startCli } from './helpers.js';

function project(settings: string, cloudRun: string, port: number): string {
  const dir = copyFixture('proc-esbuild');
  writeFileSync(path.join(dir, 'Devfile.ts'), `
export default {
  simulation: { cloudRun: { ${settings} } },
  services: {
    api: { build: { type: 'esbuild', entry: 'src/index.ts' }, port: ${port}, cloudRun: { ${cloudRun} } },
  },
};
`);
  return dir;
}

describe('Cloud Run simulation fallback', { timeout: 120_000 }, () => {
  it('a front end that cannot listen falls back to the process runtime with one warning', { timeout: 60_000 }, async () => {
    const port = await findFreePort();
    // 2001:db8::1 (the IPv6 documentation prefix) is on no interface here: listening there fails
    // with EADDRNOTAVAIL. Nothing is sent anywhere.
    const dir = project("host: '2001:db8::1', instances: 'process'", 'containerConcurrency: 2', port);
    const up = startCli(['up', '--output', 'json'], { cwd: dir });
    try {
      const healthy = await up.waitFor((e) => e.type === 'service/health' && e.service === 'api' && e.health === 'healthy', 40_000, 'api healthy');
      assert.equal(healthy.state.target, 'process');
      const warnings = up.events.filter((e) => e.type === 'log' && e.line.level === 'warn' && /running without Cloud Run simulation/.test(e.line.message));
      assert.equal(warnings.length, 1, JSON.stringify(warnings));
      assert.match(warnings[0].line.message, new RegExp(`^running without Cloud Run simulation: its front end cannot listen on \\[2001:db8::1\\]:${port} \\(EADDRNOTAVAIL\\); api runs on the process runtime instead`));
      const reply = await (await fetch(`http://127.0.0.1:${port}/`)).json() as { message: string };
      assert.equal(reply.message, 'hello v1', 'served by the plain process');
    } finally {
      up.child.kill('SIGINT');
      await up.exited;
    }
  });

  it('a mistake in the Cloud Run settings still fails the deploy (no fallback)', { timeout: 60_000 }, async () => {
    const port = await findFreePort();
    const dir = project("instances: 'process'", "cpu: '0.5', containerConcurrency: 80", port);
    const up = startCli(['up', '--output', 'json'], { cwd: dir });
    try {
      // The Devfile's own check may catch it at load (an `error` event), else the deploy does (`service/failed`): either way, no fallback.
      const failed = await up.waitFor((e) => (e.type === 'service/failed' && e.service === 'api') || (e.type === 'error' && /containerConcurrency/.test(e.error?.message ?? '')), 40_000, 'api failed');
      assert.match(failed.error.message, /containerConcurrency/);
      assert.ok(!up.events.some((e) => e.type === 'log' && /running without Cloud Run simulation/.test(e.line?.message ?? '')), 'no fallback');
    } finally {
      up.child.kill('SIGINT');
      await up.exited;
    }
  });
});
