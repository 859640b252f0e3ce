/**
 * Changes that change nothing do not redeploy, through the real `devloop up` and the real
 * watcher: devloop's own output redirected into the project it watches (`devloop up > out.log
 * 2>&1` with `src: ['.']`), a `touch`, a save of the same bytes. A real edit still redeploys.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, realpathSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { findFreePort } from '../plugins/shared/ports.js';
import { cliPath, runCli, until } from './helpers.js';

/** How long an edit is given to reach a run when none must come (the debounce is 100 ms). */
const QUIET_MS = 3_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const SERVER = `const http = require('node:http');
http.createServer((req, res) => res.end('ok')).listen(Number(process.env.PORT), process.env.HOST, () => console.log('listening'));
`;

describe('devloop up > out.log inside the project it watches', { concurrency: false }, () => {
  let dir = '';
  let child: ChildProcess | undefined;
  let exited: Promise<unknown> = Promise.resolve();

  /** The JSON events devloop wrote to out.log so far. */
  const events = (): Record<string, any>[] => {
    const file = path.join(dir, 'out.log');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8').split('\n').flatMap((line) => {
      try { return [JSON.parse(line) as Record<string, any>]; } catch { return []; }
    });
  };
  const runs = () => events().filter((e) => e.type === 'run/started' && e.service === 'web').length;
  const updates = () => events().filter((e) => e.type === 'update/finished' && e.service === 'web');

  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      const stopped = await Promise.race([exited.then(() => true), sleep(20_000).then(() => false)]);
      if (!stopped) {
        child.kill('SIGKILL');
        await runCli(['down'], { cwd: dir, timeoutMs: 60_000 }).catch(() => undefined);
      }
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('deploys once and stays quiet, though every line it prints changes a watched file', { timeout: 90_000 }, async () => {
    dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-watch-noop-')));
    const port = await findFreePort();
    writeFileSync(path.join(dir, 'server.js'), SERVER);
    writeFileSync(path.join(dir, 'Devfile.ts'),
      `export default { services: { web: { src: ['.'], runtime: 'process', command: ['node', 'server.js'], port: ${port}, health: { http: '/' } } } };\n`);
    // As a shell does for `devloop up --output json > out.log 2>&1`: both descriptors on one file.
    const fd = openSync(path.join(dir, 'out.log'), 'a');
    child = spawn(process.execPath, [cliPath, 'up', '--output', 'json'], { cwd: dir, env: { ...process.env, CI: 'true', NO_COLOR: '1' }, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    exited = new Promise((r) => child!.on('exit', r));
    await until(() => events().some((e) => e.type === 'service/health' && e.service === 'web' && e.health === 'healthy'), 60_000, 'web healthy');
    await sleep(QUIET_MS);
    assert.equal(runs(), 1, `runs: ${JSON.stringify(updates().map((u) => u.update.trigger))}`);
  });

  it('a touch and a save of the same bytes do not redeploy', { timeout: 30_000 }, async () => {
    const later = new Date(Date.now() + 10_000);
    utimesSync(path.join(dir, 'server.js'), later, later);
    writeFileSync(path.join(dir, 'server.js'), SERVER);
    await sleep(QUIET_MS);
    assert.equal(runs(), 1, `runs: ${JSON.stringify(updates().map((u) => u.update.trigger))}`);
  });

  it('a real change still redeploys, naming the file', { timeout: 60_000 }, async () => {
    writeFileSync(path.join(dir, 'server.js'), `${SERVER}// edited\n`);
    const update = await until(() => updates().find((u) => u.update.trigger.reason === 'file-change'), 30_000, 'a redeploy after the edit');
    assert.deepEqual(update.update.trigger.files, ['server.js']);
    await sleep(QUIET_MS);
    assert.equal(runs(), 2);
  });
});
