/**
 * Runs the real `promtool` (Prometheus' rule checker and rule unit-test runner) for the
 * monitoring tests. A missing promtool fails the test, naming the script that installs it: these
 * tests are the proof that the rules load in Prometheus, and a skip would hide that.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

export interface PromtoolResult { code: number | null; out: string }

export function promtool(args: string[], cwd?: string): PromtoolResult {
  const bin = process.env.DEVLOOP_PROMTOOL ?? 'promtool';
  const r = spawnSync(bin, args, { cwd, encoding: 'utf8', timeout: 60_000 });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    assert.fail(`${bin} is not installed (not on PATH): as root on Debian run \`bash test/infra/monitoring.sh\` (Debian's prometheus package), or put Prometheus' promtool on PATH (or set DEVLOOP_PROMTOOL)`);
  }
  if (r.error) throw r.error;
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}
