// Drives the real `devloop up` TUI in tmux as a person would: sees the table, presses `r` and
// sees a rebuild, filters logs with `/`, quits with `q`, and nothing is left running.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { environHas, processTable } from '../plugins/shared/procfs.js';
import { TOKEN_ENV } from '../plugins/shared/process-registry.js';
import { cliPath, repoRoot, until } from './helpers.js';

const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' });
const isAlive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

it('up in tmux: table, r rebuilds, / filters logs, q quits cleanly', { timeout: 180_000 }, async () => {
  const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-tui-')));
  cpSync(path.join(repoRoot, 'recipes', 'hello-node'), dir, { recursive: true, filter: (src) => !src.includes('.devloop') });
  const devfile = path.join(dir, 'Devfile.ts');
  writeFileSync(devfile, readFileSync(devfile, 'utf8').replace('port: 8080', 'port: 18282'));
  const session = `devloop-e2e-${process.pid}`;
  const exitFile = path.join(dir, 'exit-code');
  tmux('new-session', '-d', '-s', session, '-x', '160', '-y', '40', '-c', dir,
    `env -u CI -u NO_COLOR ${process.execPath} ${cliPath} up; echo $? > ${exitFile}; sleep 60`);
  const screen = () => tmux('capture-pane', '-p', '-t', session);
  try {
    await until(() => /hello\s+esbuild → process\s+● healthy/.test(screen()), 30_000, 'table shows hello healthy');
    assert.match(screen(), /http:\/\/127\.0\.0\.1:18282/);

    tmux('send-keys', '-t', session, 'r');
    await until(() => /building \(manual\)/.test(screen()), 10_000, 'manual rebuild in the log pane');
    await until(() => /● healthy\s+auto\s+\S+ · manual/.test(screen()), 10_000, 'last build trigger shows manual');

    tmux('send-keys', '-t', session, '/');
    tmux('send-keys', '-t', session, '-l', 'listening');
    tmux('send-keys', '-t', session, 'Enter');
    await until(() => /filter “listening”: 2 matches/.test(screen()), 5_000, 'filter applied');
    const logLines = screen().split('\n').filter((l) => /^\d\d:\d\d:\d\d /.test(l));
    assert.ok(logLines.length === 2 && logLines.every((l) => l.includes('listening')), logLines.join('\n'));

    // What is running now, as devloop recorded it: the service's process group and the token its
    // processes (and any descendants) carry. Read before quitting; after, the file is empty.
    const running = JSON.parse(readFileSync(path.join(dir, '.devloop', 'processes.json'), 'utf8')) as Array<{ service: string; role: string; pid: number; token: string }>;
    assert.deepEqual(running.map((r) => `${r.service} ${r.role}`), ['hello service'], 'the running service is recorded');
    assert.equal(isAlive(running[0].pid), true, 'the recorded service process runs before q');

    tmux('send-keys', '-t', session, 'q');
    await until(() => existsSync(exitFile), 20_000, 'devloop exited');
    assert.equal(readFileSync(exitFile, 'utf8').trim(), '0');
    await assert.rejects(fetch('http://127.0.0.1:18282/'), 'service port freed');
    assert.ok(!existsSync(path.join(dir, '.devloop', 'session.json')), 'session closed');
    for (const r of running) {
      assert.equal(isAlive(r.pid), false, `service process ${r.pid} gone after q`);
      const left = processTable().filter((p) => environHas(p.pid, `${TOKEN_ENV}=${r.token}`)).map((p) => p.pid);
      assert.deepEqual(left, [], 'no process carrying the service token is left');
    }
    assert.deepEqual(JSON.parse(readFileSync(path.join(dir, '.devloop', 'processes.json'), 'utf8')), [], 'the registry is emptied on a clean exit');
  } finally {
    try { tmux('kill-session', '-t', session); } catch { /* already gone */ }
  }
});
