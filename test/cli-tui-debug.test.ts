// The TUI's `d` key, driven in tmux as a person would: on the selected process service it does
// what `devloop debug <service>` does (restart with the Node inspector) and shows the address,
// and the inspector answers there.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { cliPath, repoRoot, until } from './helpers.js';

const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' });

it('up in tmux: d on a process service restarts it with the inspector, shows where, and it answers there', { timeout: 180_000 }, async () => {
  const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-tui-debug-')));
  cpSync(path.join(repoRoot, 'recipes', 'hello-node'), dir, { recursive: true, filter: (src) => !src.includes('.devloop') });
  const devfile = path.join(dir, 'Devfile.ts');
  writeFileSync(devfile, readFileSync(devfile, 'utf8').replace('port: 8080', 'port: 18283'));
  const session = `devloop-debug-${process.pid}`;
  const exitFile = path.join(dir, 'exit-code');
  tmux('new-session', '-d', '-s', session, '-x', '200', '-y', '50', '-c', dir,
    `env -u CI -u NO_COLOR ${process.execPath} ${cliPath} up; echo $? > ${exitFile}; sleep 60`);
  // Joined: a long log line may wrap at the pane's edge.
  const screen = () => tmux('capture-pane', '-p', '-J', '-t', session);
  try {
    await until(() => /hello\s+esbuild → process\s+● healthy/.test(screen()), 30_000, 'table shows hello healthy');

    tmux('send-keys', '-t', session, 'd');
    const shown = await until(() => /hello: Node inspector on 127\.0\.0\.1:(\d+)/.exec(screen()), 60_000, 'the inspector address in the log pane');
    assert.doesNotMatch(screen(), /debugging is not available here/);
    const port = Number(shown[1]);
    const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as { webSocketDebuggerUrl?: string }[];
    const ws = targets[0]?.webSocketDebuggerUrl ?? '';
    assert.match(ws, new RegExp(`^ws://127\\.0\\.0\\.1:${port}/`), 'the inspector on the port shown lists the service');
    assert.ok(screen().includes(ws), 'the TUI shows the WebSocket URL the inspector gives');
    // The service itself came back and still serves.
    assert.equal((await fetch('http://127.0.0.1:18283/healthz')).status, 200);

    tmux('send-keys', '-t', session, 'q');
    await until(() => existsSync(exitFile), 20_000, 'devloop exited');
    assert.equal(readFileSync(exitFile, 'utf8').trim(), '0');
    await assert.rejects(fetch(`http://127.0.0.1:${port}/json/list`), 'the inspector is gone with the service');
  } finally {
    try { tmux('kill-session', '-t', session); } catch { /* already gone */ }
    rmSync(dir, { recursive: true, force: true });
  }
});
