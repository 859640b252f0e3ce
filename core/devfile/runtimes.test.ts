import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AsyncSeriesBailHook, HookMap } from 'tapable';
import { ConfigError } from '../errors.js';
import { checkRuntimes, providedRuntimes, runtimeIssues } from './runtimes.js';

/** A deploy HookMap as the engine has it, with the named runtimes tapped (and one only created). */
function deployHooks(...runtimes: string[]): HookMap<AsyncSeriesBailHook<[unknown], unknown>> {
  const map = new HookMap(() => new AsyncSeriesBailHook<[unknown], unknown>(['ctx']));
  for (const r of runtimes) map.for(r).tapPromise('p', async () => undefined);
  map.for('untapped'); // a lookup with `for` creates an empty hook: not a runtime
  return map;
}

test('the runtimes listed are the tapped ones, sorted', () => {
  assert.deepEqual(providedRuntimes(deployHooks('process', 'docker', 'cloud-run')), ['cloud-run', 'docker', 'process']);
});

test('unknown service and environment runtimes are issues, with a did-you-mean', () => {
  const hooks = deployHooks('process', 'docker', 'cloud-run', 'inproc');
  const issues = runtimeIssues({
    services: { a: { runtime: 'proces' }, b: { runtime: 'inprc' }, c: { runtime: 'docker' }, d: {}, e: { runtime: 'untapped' } },
    environments: { k8s: { runtime: 'kubernetes' } },
  }, hooks);
  const all = '; the runtimes here are "cloud-run", "docker", "inproc", "process"';
  assert.deepEqual(issues.map((i) => `${i.path}: ${i.message}`), [
    `services.a.runtime: no plugin provides runtime "proces" (did you mean "process"?)${all}`,
    `services.b.runtime: no plugin provides runtime "inprc" (did you mean "inproc"?)${all}`,
    `services.e.runtime: no plugin provides runtime "untapped"${all}`,
    `environments.k8s.runtime: no plugin provides runtime "kubernetes"${all}`,
  ]);
});

test('checkRuntimes throws a ConfigError (exit 2) located in the Devfile', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'devloop-runtimes-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'Devfile.ts');
  writeFileSync(file, "export default {\n  services: {\n    api: { runtime: 'dokcer' },\n  },\n};\n");
  await assert.doesNotReject(checkRuntimes({ services: { api: { runtime: 'docker' } } }, deployHooks('docker'), file, dir));
  const err = await checkRuntimes({ services: { api: { runtime: 'dokcer' } } }, deployHooks('docker'), file, dir).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof ConfigError);
  assert.equal(err.exitCode, 2);
  assert.equal(err.code, 'DEVFILE_RUNTIME');
  assert.match(err.message, /^Devfile\.ts:3:21 services\.api\.runtime: no plugin provides runtime "dokcer" \(did you mean "docker"\?\)/);
});
