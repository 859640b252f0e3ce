/**
 * What `devloop` loads before it answers. `--version`, `--help` and a usage error load commander
 * and nothing heavy; `status` in a folder without a Devfile says so without loading the Devfile
 * loader. Speed figures are in bench/startup.bench.ts; this pins the cause: each package listed
 * here costs tens of milliseconds (dockerode pulls in ssh2 and gRPC), so one imported at the top
 * of a command module again would bring back the 0.3 s start. `up` of a project whose services
 * all run as processes never loads dockerode: the Docker plugin asks the daemon whether it is there
 * and what to clean up over plain requests (plugins/docker/client.ts).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { cliPath, repoRoot } from './helpers.js';

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
// It also notes each Devfile sent to the Devfile worker (core/devfile/evaluate.ts): a Devfile that
// needs nothing but devloop is evaluated on the main thread, and the worker's start (a second
// Node, which loads devloop's engine again) is off the way to the first build.
writeFileSync(register, `import { register } from 'node:module';
import { appendFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
register(${JSON.stringify(pathToFileURL(hooks).href)});
const post = Worker.prototype.postMessage;
Worker.prototype.postMessage = function (m, ...rest) {
  if (m && m.url && m.ctx && process.env.DEVLOOP_TEST_PACKAGES) appendFileSync(process.env.DEVLOOP_TEST_PACKAGES, 'devfile-worker-job\\n');
  return post.call(this, m, ...rest);
};
`);

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

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().once('error', reject).listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

describe('up of a project with no service on Docker', { timeout: 120_000 }, () => {
  it('loads no dockerode and starts no Devfile worker: not before its first build starts, nor by the time it stopped after the service was healthy', async () => {
    // hello-node: an esbuild bundle run as a process. The Docker plugin is applied all the same
    // (it is a default plugin): its cleanup, the disk-pressure watcher's question for Docker's
    // data folder and its shutdown run, with or without a daemon here.
    const project = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-startup-up-')));
    try {
      cpSync(path.join(repoRoot, 'recipes', 'hello-node'), project, { recursive: true, filter: (s) => !s.includes('.devloop') });
      const port = await freePort();
      writeFileSync(path.join(project, 'Devfile.ts'), readFileSync(path.join(project, 'Devfile.ts'), 'utf8').replace('port: 8080', `port: ${port}`));
      const list = path.join(tmp, `packages-${++runs}.txt`);
      writeFileSync(list, '');
      const child = spawn(process.execPath, ['--import', pathToFileURL(register).href, cliPath, 'up', '--output', 'json'], {
        cwd: project, env: { ...process.env, CI: 'true', NO_COLOR: '1', DEVLOOP_TEST_PACKAGES: list }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d) => { stderr += d; });
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      const loaded = () => new Set(readFileSync(list, 'utf8').split('\n').filter(Boolean));
      let atFirstBuild: Set<string> | undefined;
      const healthy = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the service was not healthy within 60 s; stderr:\n${stderr}`)), 60_000);
        createInterface({ input: child.stdout }).on('line', (line) => {
          // The hook writes each package before it loads: what the file holds now is what loaded so far.
          if (!atFirstBuild && line.includes('"type":"build/started"')) atFirstBuild = loaded();
          if (line.includes('"type":"service/health"') && line.includes('"health":"healthy"')) { clearTimeout(timer); resolve(); }
        });
        void exited.then((code) => { clearTimeout(timer); reject(new Error(`up exited (${code}) before the service was healthy; stderr:\n${stderr}`)); });
      });
      try {
        await healthy;
      } finally {
        child.kill('SIGINT');
      }
      assert.equal(await exited, 0, stderr);
      assert.ok(atFirstBuild, 'no build/started event');
      assert.ok(atFirstBuild.has('esbuild') && atFirstBuild.has('tapable'), `the hook saw ${[...atFirstBuild].join(', ')} by the first build: it is not measuring`);
      assert.ok(!atFirstBuild.has('dockerode'), `dockerode was loaded before the first build started (${[...atFirstBuild].join(', ')})`);
      assert.ok(!atFirstBuild.has('devfile-worker-job'), 'the Devfile was evaluated in the worker thread, not on the main thread');
      const all = loaded();
      assert.ok(!all.has('dockerode'), `dockerode was loaded by up of a project with no service on Docker (${[...all].join(', ')})`);
      assert.ok(!all.has('devfile-worker-job'), 'the Devfile was evaluated in the worker thread');
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });
});
