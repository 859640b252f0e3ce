// A failure is said once, in full, where it happens; the ci summary names it and points there.
import assert from 'node:assert/strict';
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, it } from 'node:test';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { cliPath, runCli, until } from './helpers.js';

const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

function project(devfile: string): string {
  const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-once-')));
  dirs.push(dir);
  writeFileSync(path.join(dir, 'Devfile.ts'), devfile);
  return dir;
}

/** A scratch folder outside any project. */
function dir0(): string {
  const d = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-once-mark-')));
  dirs.push(d);
  return d;
}

const count = (text: string, needle: string) => text.split(needle).length - 1;

it('devloop ci, plain: a failing build is printed once with its hint, and the summary refers to it', { timeout: 60_000 }, async () => {
  const dir = project(`export default { services: { api: { build: { type: 'command', command: 'echo "src/x.ts:3: nope" >&2; exit 3' }, runtime: 'process', command: 'sleep 60' } } };\n`);
  const r = await runCli(['ci', '--no-tui'], { cwd: dir, timeoutMs: 50_000 });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.equal(count(r.stdout, 'try: run it yourself'), 1, r.stdout);
  assert.equal(count(r.stdout, 'build command exited with code 3'), 2, `the failure, then the summary's first line:\n${r.stdout}`);
  assert.match(r.stdout, /ci: FAILED: api failed: .*build command exited with code 3.* \(in full above\)$/m);
  assert.doesNotMatch(r.stdout, /✖ failed/, 'the reporter does not print the failure a second time');
});

it('devloop ci, plain: a process that exits during start-up is printed once, and the summary refers to it', { timeout: 60_000 }, async () => {
  const dir = project(`export default { services: { db: { runtime: 'process', command: ['node', '-e', 'console.log("no config"); process.exit(3)'], port: 18641 } } };\n`);
  const r = await runCli(['ci', '--no-tui'], { cwd: dir, timeoutMs: 50_000 });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.equal(count(r.stdout, 'db exited with code 3 before it became healthy'), 2, r.stdout);
  assert.equal(count(r.stdout, 'try: run the command yourself'), 1, r.stdout);
  assert.match(r.stdout, /ci: FAILED: db failed: db exited with code 3 before it became healthy \(in full above\)$/m);
});

it('devloop up, plain: a crash and its restart are said once, not again as the health change', { timeout: 60_000 }, async () => {
  // Serves, then exits 1 after 300 ms on its first run only (the marker file), so the restart stays up.
  // The marker lives outside the project: a file written inside it would be a change to rebuild.
  const script = "const fs=require('fs'); const m=process.env.MARK; const first=!fs.existsSync(m); fs.writeFileSync(m,''); require('http').createServer((q,r)=>r.end('ok')).listen(process.env.PORT,'127.0.0.1',()=>{ if(first) setTimeout(()=>process.exit(1),300); })";
  const dir = project(`export default { services: { web: { runtime: 'process', command: ['node', '-e', ${JSON.stringify(script)}], port: 18642, env: { MARK: '${dir0()}/ran' } } } };\n`);
  const child = spawn(process.execPath, [cliPath, 'up', '--no-tui'], { cwd: dir, env: { ...process.env, CI: 'true', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l));
  const exited = new Promise((r) => child.on('exit', r));
  try {
    await until(() => lines.filter((l) => /✔ healthy/.test(l)).length >= 2, 30_000, `the restart; output:\n${lines.join('\n')}`);
    const out = lines.join('\n');
    assert.equal(count(out, 'exited with code 1; restarting in'), 1, out);
    assert.match(out, /web +✖ unhealthy$/m, 'the health change is still shown, without repeating why');
  } finally {
    child.kill('SIGINT');
    await exited;
  }
});
