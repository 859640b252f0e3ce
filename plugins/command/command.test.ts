import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { ServiceConfig } from '../../core/devfile/types.js';
import type { BuildResult } from '../../core/engine/contexts.js';
import { Engine } from '../../core/engine/engine.js';
import { readStat } from '../shared/procfs.js';
import { buildSink } from '../../test/helpers.js';
import { commandPlugin } from './index.js';

function alive(pid: number): boolean {
  try { process.kill(pid, 0); } catch { return false; }
  return readStat(pid)?.state !== 'Z';
}

async function waitFor(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('devloop:command', () => {
  const dirs: string[] = [];
  const engines: Engine[] = [];
  after(async () => {
    await Promise.all(engines.map((e) => e.stop()));
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  async function run(build: ServiceConfig['build'], setup?: (root: string) => Promise<void>) {
    const root = await mkdtemp(path.join(os.tmpdir(), 'devloop-cmd-'));
    dirs.push(root);
    await setup?.(root);
    const results: BuildResult[] = [];
    const engine = new Engine({ root, devfile: { services: { app: { build, runtime: 'none' } } }, plugins: [commandPlugin(), buildSink(results)] });
    engines.push(engine);
    await engine.start();
    await engine.idle();
    return { root, engine, results };
  }

  it('runs the command with the service env, streams its output, and returns the outputs with a content digest', async () => {
    const { root, engine, results } = await run({ type: 'command', command: 'mkdir -p out && echo "$GREETING" > out/a.txt && echo built', outputs: ['out'], env: { GREETING: 'hi' } });
    assert.equal(engine.getState().services.app.phase, 'healthy', engine.getState().services.app.error?.message);
    assert.deepEqual(results[0].artifacts, [path.join(root, 'out')]);
    assert.match(results[0].digest!, /^[0-9a-f]{64}$/);
    assert.equal(await readFile(path.join(root, 'out/a.txt'), 'utf8'), 'hi\n');
    assert.ok(engine.getState().services.app.logTail.some((l) => l.level === 'output' && l.message === 'built'));

    engine.triggerManual('app');
    await engine.idle();
    assert.equal(results[1].digest, results[0].digest, 'the digest depends on the outputs\' contents only');
    assert.equal(results[1].cached, undefined, 'but a command build is never reported as cached');
    await engine.stop();
  });

  it('fails with the exit code, the last 20 lines and a hint', async () => {
    const { engine } = await run({ type: 'command', command: 'for i in $(seq 1 30); do echo "line $i"; done; echo "main.go:3: undefined: foo" >&2; exit 2' });
    const err = engine.getState().services.app.error!;
    assert.equal(err.code, 'BUILD_FAILED');
    assert.match(err.message, /build command exited with code 2: for i in/);
    assert.match(err.message, /last 20 lines of output:\n {2}line 12\n/);
    assert.match(err.message, /\n {2}main\.go:3: undefined: foo$/);
    assert.doesNotMatch(err.message, /line 11\n/);
    assert.match(err.hint!, /^run it yourself to see everything: cd .* && \/bin\/sh -c 'for i in/);
    await engine.stop();
  });

  it("prints a run-it-yourself line that sh runs as devloop did: the build's folder, its env, quoting intact", async () => {
    // Quotes, $ and a space in the folder name: each breaks an unquoted line.
    const command = `echo "it's $GREETING in $(basename "$PWD")"; exit 3`;
    const { engine } = await run({ type: 'command', command, cwd: 'my dir', env: { GREETING: 'hi there' } }, (root) => mkdir(path.join(root, 'my dir')));
    const hint = engine.getState().services.app.error!.hint!;
    const line = hint.replace(/^run it yourself to see everything: /, '');
    const { spawnSync } = await import('node:child_process');
    // A clean environment: everything the command needs must come from the line itself.
    const r = spawnSync('/bin/sh', ['-c', line], { cwd: os.tmpdir(), env: { PATH: process.env.PATH }, encoding: 'utf8' });
    assert.equal(r.stdout, "it's hi there in my dir\n", `${line}\n${r.stderr}`);
    assert.equal(r.status, 3, 'the same exit code');
    await engine.stop();
  });

  it('checks that the declared outputs exist, relative to the Devfile folder', async () => {
    const { engine } = await run({ type: 'command', command: 'mkdir -p bin && touch bin/app', cwd: 'svc', outputs: ['bin/app'] }, (root) => mkdir(path.join(root, 'svc')));
    const err = engine.getState().services.app.error!;
    assert.equal(err.code, 'BUILD_OUTPUT_MISSING');
    assert.equal(err.message.endsWith('the build command succeeded but did not produce bin/app'), true, err.message);
    assert.match(err.hint!, /did you mean svc\/bin\/app\?/);
    await engine.stop();
  });

  it('a superseded build stops its whole process group', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'devloop-cmd-'));
    dirs.push(root);
    await writeFile(path.join(root, 'slow'), '');
    // The first build records its background child and waits; later builds are instant.
    const command = 'if [ -f slow ]; then rm slow; sleep 300 & echo $! > child.pid; wait; fi; echo fast';
    const results: BuildResult[] = [];
    const engine = new Engine({ root, devfile: { services: { app: { build: { type: 'command', command }, runtime: 'none' } } }, plugins: [commandPlugin(), buildSink(results)] });
    engines.push(engine);
    await engine.start();
    await waitFor('the slow build to start', () => /\d\n/.test(readFileSafe(path.join(root, 'child.pid'))));
    const child = Number(readFileSafe(path.join(root, 'child.pid')));
    assert.ok(alive(child));
    await engine.filesChanged('app', [path.join(root, 'main.go')]);
    await engine.idle();
    assert.equal(alive(child), false, 'the cancelled build\'s child is gone');
    const s = engine.getState().services.app;
    assert.equal(s.buildCount, 2);
    assert.equal(s.phase, 'healthy');
    assert.equal(results.length, 1, 'only the second build finished');
    await engine.stop();
  });
});

function readFileSafe(file: string): string {
  try { return readFileSync(file, 'utf8'); } catch { return ''; }
}
