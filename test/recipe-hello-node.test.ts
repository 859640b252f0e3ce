// The README quickstart: `devloop up` on recipes/hello-node serves, and an edit shows up
// without restarting devloop.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { repoRoot, runCli, startCli, until } from './helpers.js';

it('recipes/hello-node: up serves, an edit is served without restarting devloop, Ctrl-C frees the port', { timeout: 120_000 }, async () => {
  const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-hello-')));
  cpSync(path.join(repoRoot, 'recipes', 'hello-node'), dir, { recursive: true, filter: (src) => !src.includes('.devloop') });
  // Port 0 is not allowed; pick a port unlikely to clash with other suites.
  const devfile = path.join(dir, 'Devfile.ts');
  writeFileSync(devfile, readFileSync(devfile, 'utf8').replace('port: 8080', 'port: 18080'));
  const up = startCli(['up', '--output', 'json'], { cwd: dir });
  try {
    const healthy = await up.waitFor((e) => e.type === 'service/health' && e.service === 'hello' && e.health === 'healthy', 30_000, 'hello healthy');
    const url = healthy.state.endpoints[0].url as string;
    const first = await (await fetch(url)).json() as { message: string; pid: number };
    assert.equal(first.message, 'hello from devloop');
    writeFileSync(path.join(dir, 'src', 'message.ts'), "export function message(greeting: string): string {\n  return `${greeting} again`;\n}\n");
    const second = await until(async () => {
      const body = await (await fetch(url)).json() as { message: string; pid: number };
      return body.message === 'hello again' ? body : undefined;
    }, 15_000, 'edited message');
    assert.notEqual(second.pid, first.pid, 'the service process was restarted');
    assert.equal(up.child.exitCode, null, 'devloop itself kept running');

    // devloop debug: the service comes back with the Node inspector on 127.0.0.1.
    const dbg = await runCli(['debug', 'hello'], { cwd: dir });
    assert.equal(dbg.code, 0, dbg.stdout + dbg.stderr);
    const ws = /ws:\/\/127\.0\.0\.1:(\d+)\/[\w-]+/.exec(dbg.stdout);
    assert.ok(ws, dbg.stdout);
    const targets = await (await fetch(`http://127.0.0.1:${ws[1]}/json/list`)).json() as { url: string }[];
    assert.match(targets[0].url, /\.devloop\/build\/hello\/index\.mjs$/);
    const third = await (await fetch(url)).json() as { message: string; pid: number };
    assert.equal(third.message, 'hello again', 'the same code, now debuggable');
    assert.notEqual(third.pid, second.pid);
    up.child.kill('SIGINT');
    assert.equal(await up.exited, 0);
    await assert.rejects(fetch(url), 'port freed');
  } finally {
    up.child.kill('SIGKILL');
  }
});
