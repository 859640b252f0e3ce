// Tilt's per-update summary, in devloop's plain log and JSON stream: after a save, one line names
// the file, each step's time and a total, with millisecond timestamps.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, it } from 'node:test';
import { cliPath, repoRoot, startCli, until } from './helpers.js';

const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

function helloNode(port: number): string {
  const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-summary-')));
  dirs.push(dir);
  cpSync(path.join(repoRoot, 'recipes', 'hello-node'), dir, { recursive: true, filter: (src) => !src.includes('.devloop') });
  const devfile = path.join(dir, 'Devfile.ts');
  writeFileSync(devfile, readFileSync(devfile, 'utf8').replace('port: 8080', `port: ${port}`));
  return dir;
}

const edit = (dir: string) => writeFileSync(path.join(dir, 'src', 'message.ts'), "export function message(greeting: string): string {\n  return `${greeting} again`;\n}\n");
const SUMMARY = /^(\d\d:\d\d:\d\d\.\d{3}) hello +update #(\d+) done in (\d+\.\d\d) s \(([^)]*)\) after src\/message\.ts changed$/;

it('plain log: a save prints one update summary naming the file, with step times, a total >= their sum and ms timestamps', { timeout: 90_000 }, async () => {
  const dir = helloNode(18631);
  const child = spawn(process.execPath, [cliPath, 'up', '--no-tui'], { cwd: dir, env: { ...process.env, CI: 'true', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l));
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr += d; });
  const exited = new Promise((r) => child.on('exit', r));
  try {
    await until(() => lines.some((l) => / update #1 done in /.test(l)), 30_000, `first update summary; output:\n${lines.join('\n')}\n${stderr}`);
    edit(dir);
    const summary = await until(() => lines.find((l) => SUMMARY.test(l)), 20_000, `summary after the edit; output:\n${lines.join('\n')}\n${stderr}`);
    const [, , id, total, steps] = SUMMARY.exec(summary)!;
    assert.ok(Number(id) >= 2, summary);
    const parts = steps.split(', ').map((p) => /^(build|push|deploy|healthy) (\d+\.\d\d) s$/.exec(p));
    assert.ok(parts.every(Boolean), `each step is "name N.NN s": ${summary}`);
    assert.deepEqual(parts.map((p) => p![1]), ['build', 'deploy', 'healthy'], summary);
    const sum = parts.reduce((s, p) => s + Number(p![2]), 0);
    // Each figure is rounded to 10 ms on its own: allow the rounding of three steps.
    assert.ok(Number(total) + 0.015 >= sum, `total ${total} >= sum of steps ${sum.toFixed(2)}: ${summary}`);
    // Every line of the plain log carries HH:MM:SS.mmm.
    for (const l of lines) assert.match(l, /^\d\d:\d\d:\d\d\.\d{3} /, l);
    assert.equal(lines.filter((l) => SUMMARY.test(l)).length, 1, `one summary per update:\n${lines.join('\n')}`);
  } finally {
    child.kill('SIGINT');
    await exited;
  }
});

it('--output json: the update/finished event and the service state carry the same figures', { timeout: 90_000 }, async () => {
  const dir = helloNode(18632);
  const up = startCli(['up', '--output', 'json'], { cwd: dir });
  try {
    await up.waitFor((e) => e.type === 'update/finished' && e.service === 'hello' && e.update.outcome === 'done', 30_000, 'first update');
    edit(dir);
    const e = await up.waitFor((ev) => ev.type === 'update/finished' && ev.update.trigger.files.includes('src/message.ts'), 20_000, 'update after the edit');
    const u = e.update as { id: number; outcome: string; totalMs: number; steps: { name: string; ms: number }[]; trigger: { reason: string } };
    assert.equal(u.outcome, 'done');
    assert.equal(u.trigger.reason, 'file-change');
    assert.deepEqual(u.steps.map((s) => s.name), ['build', 'deploy', 'healthy']);
    assert.ok(u.totalMs >= u.steps.reduce((s, x) => s + x.ms, 0), JSON.stringify(u));
    assert.deepEqual(e.state.updates.at(-1), u, 'state.updates ends with the same record');
  } finally {
    up.child.kill('SIGINT');
    await up.exited;
  }
});
