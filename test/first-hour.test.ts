// Issue 11, "the first hour": what a new user hits. Major 3: `devloop down` in a folder where only
// `devloop cloudrun replace service.yaml` ran (no Devfile.ts) must stop that session, plainly, with
// or without `-f service.yaml` (which names the folder of its session, not a Devfile to load).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { findFreePort } from '../plugins/shared/ports.js';
import { runCli, startCli, until, within } from './helpers.js';

const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

/** Pids of live processes whose command line holds `marker`. */
function processesWith(marker: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(marker)) pids.push(Number(name));
    } catch { /* gone */ }
  }
  return pids;
}

/** A folder holding only a service.yaml whose container runs a command (node serving HTTP on $PORT). */
function replaceFolder(marker: string): string {
  const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-first-hour-')));
  dirs.push(dir);
  const server = `require('http').createServer((q, s) => s.end('${marker} ' + process.env.K_REVISION)).listen(process.env.PORT, process.env.HOST)`;
  writeFileSync(path.join(dir, 'service.yaml'), [
    'apiVersion: serving.knative.dev/v1', 'kind: Service', 'metadata:', '  name: hello', 'spec:', '  template:', '    spec:', '      containers:',
    '        - image: example.invalid/hello:1',
    `          command: [${JSON.stringify(process.execPath)}]`,
    `          args: ['-e', ${JSON.stringify(server)}]`,
    '',
  ].join('\n'));
  return dir;
}

async function fetchText(url: string): Promise<string> {
  return (await fetch(url, { signal: AbortSignal.timeout(5_000) })).text();
}

describe('devloop down after devloop cloudrun replace (no Devfile.ts)', () => {
  for (const args of [['down'], ['down', '-f', 'service.yaml']]) {
    it(`\`devloop ${args.join(' ')}\` stops the replace session: exit 0, no Devfile error, nothing left`, { timeout: 90_000 }, async () => {
      const marker = `first-hour-${process.pid}-${args.length}`;
      const dir = replaceFolder(marker);
      const port = await findFreePort();
      const replace = startCli(['cloudrun', 'replace', 'service.yaml', '--instances', 'process', '--port', String(port), '--output', 'json'], { cwd: dir });
      try {
        await replace.waitFor((e) => e.type === 'service/health' && e.service === 'hello' && e.health === 'healthy', 30_000, 'hello healthy');
        const url = `http://127.0.0.1:${port}/`;
        assert.match(await fetchText(url), new RegExp(`^${marker} hello-00001-`));
        assert.ok(processesWith(marker).length > 0, 'the instance runs');

        const r = await runCli(args, { cwd: dir, timeoutMs: 60_000 });
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.match(r.stdout, /stopping the devloop session \(pid \d+\)/);
        assert.match(r.stdout, /^stopped$/m);
        // Before: "no Devfile.ts in ... or any folder above it" (exit 2) and, with -f,
        // "No loader is configured for ".yaml" files". Neither applies to a replace session.
        assert.doesNotMatch(r.stderr, /Devfile|No loader/, r.stderr);

        assert.equal(await within(replace.exited, 30_000, 'the replace session exiting'), 0, replace.stderr());
        await assert.rejects(fetchText(url), 'the port is free');
        await until(() => processesWith(marker).length === 0, 10_000, `no instance left (pids: ${processesWith(marker).join(' ')})`);
        assert.equal(existsSync(path.join(dir, '.devloop', 'session.json')), false, 'no session.json left');

        // Once more: nothing runs, nothing to stop, still exit 0 and no Devfile error.
        const again = await runCli(args, { cwd: dir, timeoutMs: 60_000 });
        assert.equal(again.code, 0, again.stdout + again.stderr);
        assert.match(again.stdout, /no session was running; leftovers cleaned up/);
        assert.doesNotMatch(again.stderr, /Devfile|No loader/, again.stderr);
      } finally {
        if (replace.child.exitCode === null && replace.child.signalCode === null) {
          replace.child.kill('SIGINT');
          await within(replace.exited, 30_000, 'the replace session exiting after SIGINT').catch(() => replace.child.kill('SIGKILL'));
        }
        for (const pid of processesWith(marker)) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      }
    });
  }

  it('`devloop down -f missing.yaml` is a usage error that names the file', { timeout: 30_000 }, async () => {
    const dir = replaceFolder(`first-hour-${process.pid}-missing`);
    const r = await runCli(['down', '-f', 'missing.yaml'], { cwd: dir, timeoutMs: 20_000 });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    // Before: "Devfile not found: missing.yaml", try "devloop init" (there was nothing to init).
    assert.match(r.stderr, /-f missing\.yaml: no such file or folder/);
    assert.match(r.stderr, /service\.yaml a `devloop cloudrun replace` session runs/);
    assert.doesNotMatch(r.stderr, /devloop init/);
  });

  it('`devloop down -f service.yaml` in a folder that also holds a Devfile.ts cleans up with its plugins', { timeout: 60_000 }, async () => {
    const dir = replaceFolder(`first-hour-${process.pid}-devfile`);
    const marker = path.join(dir, 'cleanup-ran');
    // A third-party plugin that left something behind: only its own cleanup tap can remove it.
    writeFileSync(path.join(dir, 'marker-plugin.mjs'), [
      "import { writeFileSync } from 'node:fs';",
      'export default () => ({ name: "marker", apply(engine) {',
      `  engine.hooks.cleanup.tapPromise('marker', async () => { writeFileSync(${JSON.stringify(marker)}, 'yes'); });`,
      '} });',
      '',
    ].join('\n'));
    writeFileSync(path.join(dir, 'Devfile.ts'), "export default { plugins: ['./marker-plugin.mjs'], services: {} };\n");
    const r = await runCli(['down', '-f', 'service.yaml'], { cwd: dir, timeoutMs: 40_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /no session was running; leftovers cleaned up/);
    // Before: the built-in plugins only; the project's own plugin never ran.
    assert.equal(existsSync(marker), true, `the Devfile's plugin cleaned up (${r.stderr})`);
  });
});
