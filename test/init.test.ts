// `devloop init` through the real CLI: the Devfile it writes type-checks with the real TypeScript
// compiler (no TS2307 for 'devloop'), and `devloop ci` passes on what it wrote.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot, runCli } from './helpers.js';

const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-init-cli-')));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function typecheck(cwd: string, args: string[]): string {
  const r = spawnSync(process.execPath, [tsc, ...args], { cwd, encoding: 'utf8', timeout: 90_000 });
  return `${r.stdout}${r.stderr}`.trim();
}

describe('devloop init', () => {
  it('writes a Devfile whose import of devloop type-checks with tsc (TS2307 without the written files)', { timeout: 180_000 }, async (t) => {
    const dir = tempDir(t);
    const r = await runCli(['init'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    // What the project had before: only Devfile.ts, checked without the tsconfig init wrote.
    const before = typecheck(dir, ['--noEmit', '--strict', '--skipLibCheck', '--module', 'esnext', '--moduleResolution', 'bundler', 'Devfile.ts']);
    assert.match(before, /Devfile\.ts\(1,\d+\): error TS2307: Cannot find module 'devloop'/);
    // With the written tsconfig.json and .devloop/types: no errors at all.
    assert.equal(typecheck(dir, ['-p', '.']), '');
    // And the types are real: a misspelt field is an error.
    writeFileSync(path.join(dir, 'Devfile.ts'), readFileSync(path.join(dir, 'Devfile.ts'), 'utf8').replace('port: 8080', 'prot: 8080'));
    assert.match(typecheck(dir, ['-p', '.']), /'prot' does not exist/);
  });

  it('in an empty folder writes a starter service that ci runs', { timeout: 180_000 }, async (t) => {
    const dir = tempDir(t);
    const r = await runCli(['init'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /src\/server\.js/);
    const ci = await runCli(['ci'], { cwd: dir, timeoutMs: 120_000 });
    assert.equal(ci.code, 0, `${ci.stdout}\n${ci.stderr}`);
    assert.match(ci.stdout + ci.stderr, /healthy/);
  });

  it('in a folder with package.json runs its start script, and ci passes', { timeout: 180_000 }, async (t) => {
    const dir = tempDir(t);
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ scripts: { start: 'node server.js' } }));
    writeFileSync(path.join(dir, 'server.js'), "require('node:http').createServer((req, res) => res.end('ok')).listen(Number(process.env.PORT), process.env.HOST);\n");
    writeFileSync(path.join(dir, 'tsconfig.json'), '{\n  "compilerOptions": { "strict": true, "module": "esnext", "moduleResolution": "bundler", "skipLibCheck": true, "noEmit": true }\n}\n');
    const r = await runCli(['init'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(readFileSync(path.join(dir, 'Devfile.ts'), 'utf8'), /command: 'npm start'/);
    // The user's tsconfig keeps its settings and gains only the paths entry; the Devfile type-checks.
    const cfg = JSON.parse(readFileSync(path.join(dir, 'tsconfig.json'), 'utf8'));
    assert.deepEqual(cfg.compilerOptions, { strict: true, module: 'esnext', moduleResolution: 'bundler', skipLibCheck: true, noEmit: true, paths: { devloop: ['./.devloop/types/devloop.d.ts'] } });
    assert.equal(typecheck(dir, ['-p', '.']), '');
    const ci = await runCli(['ci'], { cwd: dir, timeoutMs: 120_000 });
    assert.equal(ci.code, 0, `${ci.stdout}\n${ci.stderr}`);
  });
});
