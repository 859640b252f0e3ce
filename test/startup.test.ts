/**
 * What `devloop` loads before it answers. `--version`, `--help` and a usage error load commander
 * and nothing heavy; `status` in a folder without a Devfile says so without loading the Devfile
 * loader. Speed figures are in bench/startup.bench.ts; this pins the cause: each package listed
 * here costs tens of milliseconds (dockerode pulls in ssh2 and gRPC), so one imported at the top
 * of a command module again would bring back the 0.3 s start.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { cliPath } from './helpers.js';

const HEAVY = ['ink', 'react', 'dockerode', '@kubernetes/client-node', 'esbuild', 'yaml', 'prom-client', 'zod', '@parcel/watcher', 'typescript', 'tapable'];

const tmp = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-startup-')));
after(() => rmSync(tmp, { recursive: true, force: true }));
// A module hook that records every package an import resolves to (CommonJS requires inside a
// package are that package's own business: the first import of it is what counts). It appends to
// a file synchronously, before the module loads: the hooks' thread has no time to flush stderr
// when devloop exits.
const hooks = path.join(tmp, 'hooks.mjs');
writeFileSync(hooks, `import { appendFileSync } from 'node:fs';
export async function resolve(spec, ctx, next) {
  const r = await next(spec, ctx);
  const m = /\\/node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(r.url);
  if (m) appendFileSync(process.env.DEVLOOP_TEST_PACKAGES, m[1] + '\\n');
  return r;
}\n`);
const register = path.join(tmp, 'register.mjs');
writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);

let runs = 0;
function packagesLoaded(args: string[], cwd: string): { code: number | null; packages: Set<string>; stderr: string } {
  const list = path.join(tmp, `packages-${++runs}.txt`);
  writeFileSync(list, '');
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(register).href, cliPath, ...args], { cwd, env: { ...process.env, CI: 'true', NO_COLOR: '1', DEVLOOP_TEST_PACKAGES: list }, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, packages: new Set(readFileSync(list, 'utf8').split('\n').filter(Boolean)), stderr: r.stderr };
}

describe('start-up loads only what the command needs', { timeout: 120_000 }, () => {
  const cases: [string, string[], number][] = [
    ['--version', ['--version'], 0],
    ['--help', ['--help'], 0],
    ['up --help', ['up', '--help'], 0],
    ['an unknown flag (usage error)', ['--nope'], 2],
    ['status with no Devfile (exit 2)', ['status'], 2],
  ];
  for (const [name, args, code] of cases) {
    it(`${name}: exit ${code}, none of ${HEAVY.join(', ')}`, () => {
      // tmp holds only the hook files: no Devfile here or above.
      const r = packagesLoaded(args, tmp);
      assert.equal(r.code, code, r.stderr);
      assert.ok(r.packages.has('commander'), `the hook saw no package at all (${[...r.packages].join(', ')}): it is not measuring`);
      const heavy = HEAVY.filter((p) => r.packages.has(p));
      assert.deepEqual(heavy, [], `devloop ${args.join(' ')} loaded ${heavy.join(', ')}`);
    });
  }
});
