// The terminal of a TUI `devloop up` goes away (its window or ssh session closed; here `tmux
// kill-session`): devloop stops its services and exits, as on Ctrl-C. Writes to a hung-up
// terminal fail with EIO; reporting each failure to the same terminal used to fail again, for
// ever: devloop spun at full CPU and never exited.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { cliPath, repoRoot, until } from './helpers.js';

const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' });
const isAlive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

it('up in tmux: killing the terminal stops the services and devloop exits', { timeout: 120_000 }, async () => {
  const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-tui-hangup-')));
  cpSync(path.join(repoRoot, 'recipes', 'hello-node'), dir, { recursive: true, filter: (src) => !src.includes('.devloop') });
  const devfile = path.join(dir, 'Devfile.ts');
  writeFileSync(devfile, readFileSync(devfile, 'utf8').replace('port: 8080', 'port: 18284'));
  const session = `devloop-hangup-${process.pid}`;
  tmux('new-session', '-d', '-s', session, '-x', '160', '-y', '40', '-c', dir, `env -u CI -u NO_COLOR ${process.execPath} ${cliPath} up`);
  let pid: number | undefined;
  let servicePid: number | undefined;
  try {
    await until(() => /hello\s+esbuild → process\s+● healthy/.test(tmux('capture-pane', '-p', '-t', session)), 30_000, 'table shows hello healthy');
    pid = (JSON.parse(readFileSync(path.join(dir, '.devloop', 'session.json'), 'utf8')) as { pid: number }).pid;
    servicePid = (JSON.parse(readFileSync(path.join(dir, '.devloop', 'processes.json'), 'utf8')) as { pid: number }[])[0].pid;
    assert.equal((await fetch('http://127.0.0.1:18284/healthz')).status, 200);

    tmux('kill-session', '-t', session);
    await until(() => !isAlive(pid!), 30_000, `devloop (pid ${pid}) exiting after its terminal went away`);
    assert.equal(isAlive(servicePid), false, 'the service process is stopped');
    await assert.rejects(fetch('http://127.0.0.1:18284/healthz'), 'the service port is freed');
    assert.ok(!existsSync(path.join(dir, '.devloop', 'session.json')), 'the session is closed');
  } finally {
    try { tmux('kill-session', '-t', session); } catch { /* already gone */ }
    for (const p of [pid, servicePid]) if (p && isAlive(p)) process.kill(p, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
