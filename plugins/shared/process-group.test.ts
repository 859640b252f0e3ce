import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { DevloopError } from '../../core/errors.js';
import { describeExit, groupAlive, spawnGroup, terminateGroup, treeAlive } from './process-group.js';
import { readRecords, registryIdle } from './process-registry.js';
import { readStat } from './procfs.js';
import { sleep } from './time.js';

/** Signal 0 reaches zombies too; a zombie is dead, merely not reaped yet by a slow PID 1. */
function alive(pid: number): boolean {
  try { process.kill(pid, 0); } catch { return false; }
  return readStat(pid)?.state !== 'Z';
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(10);
  }
}

describe('spawnGroup', () => {
  const dirs: string[] = [];
  after(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }); });

  it('streams lines from both streams, including an unterminated last one, before `exited` resolves', async () => {
    const lines: string[] = [];
    const p = await spawnGroup(['/bin/sh', '-c', 'echo out; echo err >&2; printf tail'], { cwd: os.tmpdir(), env: process.env, onLine: (l, s) => lines.push(`${s}:${l}`) });
    const exit = await p.exited;
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.deepEqual(lines.sort(), ['stderr:err', 'stdout:out', 'stdout:tail']);
    assert.equal(p.running, false);
  });

  it('terminates the whole group, grandchildren included, and records it while it runs', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'devloop-pg-'));
    dirs.push(root);
    const lines: string[] = [];
    // The inner sleep ignores nothing, but sh waits on it: killing only sh would orphan it.
    const p = await spawnGroup(['/bin/sh', '-c', 'sleep 300 & echo $!; wait'], { cwd: root, env: process.env, onLine: (l) => lines.push(l), record: { root, service: 'svc', role: 'service' } });
    await until(() => lines.length > 0);
    const grandchild = Number(lines[0]);
    assert.ok(alive(grandchild));
    const recs = await readRecords(root);
    assert.deepEqual(recs.map((r) => [r.service, r.pid, r.pgid, r.role]), [['svc', p.pid, p.pid, 'service']]);
    assert.equal(await terminateGroup(p.pid, 2000), 'exited');
    assert.equal(groupAlive(p.pid), false);
    await until(() => !alive(grandchild), 1000);
    const exit = await p.exited;
    assert.equal(describeExit(exit), 'was killed by SIGTERM');
    await registryIdle(root);
    assert.deepEqual(await readRecords(root), [], 'forgotten once it exited');
  });

  it('stops a descendant that left the group (setsid), and keeps the record until it is gone', { skip: process.platform !== 'linux' ? 'needs /proc' : false, timeout: 15_000 }, async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'devloop-pg-'));
    dirs.push(root);
    const lines: string[] = [];
    // The leader exits at once; its daemonised child runs on in a session of its own.
    const p = await spawnGroup(['/bin/sh', '-c', 'setsid sleep 300 & echo $!'], { cwd: root, env: process.env, onLine: (l) => lines.push(l), record: { root, service: 'svc', role: 'service' } });
    await p.exited;
    const daemon = Number(lines[0]);
    try {
      await until(() => alive(daemon) && readStat(daemon)?.pgrp === daemon);
      assert.equal(groupAlive(p.pid), false, 'the group itself is empty');
      assert.equal(treeAlive(p.pid), true);
      await registryIdle(root);
      assert.equal((await readRecords(root)).length, 1, 'kept while a process carries its token');
      assert.equal(await terminateGroup(p.pid, 2000), 'exited');
      await until(() => !alive(daemon), 2000);
      await registryIdle(root);
      assert.deepEqual(await readRecords(root), []);
    } finally {
      try { process.kill(daemon, 'SIGKILL'); } catch { /* gone */ }
    }
  });

  it('SIGKILLs a group that ignores SIGTERM after the grace period', { timeout: 30_000 }, async () => {
    const lines: string[] = [];
    const p = await spawnGroup(['/bin/sh', '-c', "trap '' TERM; echo ready; while :; do sleep 0.05; done"], { cwd: os.tmpdir(), env: process.env, onLine: (l) => lines.push(l) });
    await until(() => lines.includes('ready'));
    const t0 = performance.now();
    assert.equal(await terminateGroup(p.pid, 200), 'killed');
    const took = performance.now() - t0;
    assert.equal(groupAlive(p.pid), false);
    // The grace period is the behaviour here, so both bounds are about it, not about speed: the
    // group got its 200 ms to exit before the SIGKILL (a lower bound, which load cannot break), and
    // the call came back after grace + kill instead of waiting on a group that never exits. The
    // upper bound is 10 s, 50x the grace, so a loaded machine does not fail it; a hang would.
    assert.ok(took >= 190, `SIGKILLed after ${took.toFixed(0)} ms, before the 200 ms grace`);
    assert.ok(took < 10_000, `took ${took.toFixed(0)} ms`);
  });

  it('fails with a hint when the program does not exist', async () => {
    await assert.rejects(
      spawnGroup(['devloop-no-such-binary'], { cwd: os.tmpdir(), env: process.env }),
      (e: unknown) => e instanceof DevloopError && e.code === 'SPAWN_FAILED' && /not found/.test(e.message) && /PATH/.test(e.hint ?? ''),
    );
  });
});
