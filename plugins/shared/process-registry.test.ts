import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { cleanupStaleProcesses, processStartTime, readRecords, registryFile, TOKEN_ENV, type ProcessRecord } from './process-registry.js';
import { readStat } from './procfs.js';
import { sleep } from './time.js';

/** Signal 0 reaches zombies too; a zombie is dead, merely not reaped yet by a slow PID 1. */
function alive(pid: number): boolean {
  try { process.kill(pid, 0); } catch { return false; }
  return readStat(pid)?.state !== 'Z';
}

/** A process group as a crashed devloop would have left it: a leader and a grandchild. */
async function orphanGroup(token: string): Promise<{ leader: number; grandchild: number }> {
  const child = spawn('/bin/sh', ['-c', 'sleep 300 & echo $!; wait'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, [TOKEN_ENV]: token } });
  const grandchild = await new Promise<number>((resolve) => child.stdout!.once('data', (d) => resolve(Number(String(d).trim()))));
  child.unref();
  return { leader: child.pid!, grandchild };
}

async function writeRecords(root: string, records: ProcessRecord[]): Promise<void> {
  await mkdir(path.dirname(registryFile(root)), { recursive: true });
  await writeFile(registryFile(root), JSON.stringify(records));
}

const DEAD_OWNER = { pid: 999_999_999, startTime: '1' };

describe('cleanupStaleProcesses', { skip: process.platform !== 'linux' ? 'needs /proc' : false }, () => {
  const dirs: string[] = [];
  after(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }); });

  it('stops the groups a dead devloop left behind, grandchildren included, and drops their entries', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'devloop-reg-'));
    dirs.push(root);
    const { leader, grandchild } = await orphanGroup('tok-1');
    await writeRecords(root, [{ token: 'tok-1', service: 'api', role: 'service', pid: leader, pgid: leader, startTime: processStartTime(leader), command: 'sh', startedAt: '', owner: DEAD_OWNER }]);
    const killed = await cleanupStaleProcesses(root, { graceMs: 2000 });
    assert.deepEqual(killed.map((k) => k.pid).sort(), [leader, grandchild].sort());
    await waitDead([leader, grandchild]);
    assert.deepEqual(await readRecords(root), []);
  });

  it('never kills a recycled pid: a different start time means another process', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'devloop-reg-'));
    dirs.push(root);
    const { leader, grandchild } = await orphanGroup('tok-other');
    try {
      await writeRecords(root, [{ token: 'tok-2', service: 'api', role: 'service', pid: leader, pgid: leader, startTime: '12345', command: 'sh', startedAt: '', owner: DEAD_OWNER }]);
      const killed = await cleanupStaleProcesses(root, { graceMs: 200 });
      assert.deepEqual(killed, []);
      assert.ok(alive(leader) && alive(grandchild));
      assert.deepEqual(await readRecords(root), [], 'the stale entry is dropped anyway');
    } finally {
      process.kill(-leader, 'SIGKILL');
    }
  });

  it('requires the exact token and a start time: a prefix token, no token, or no start time stops nothing', { timeout: 15_000 }, async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'devloop-reg-'));
    dirs.push(root);
    const { leader, grandchild } = await orphanGroup('tok-5-longer');
    try {
      const startTime = processStartTime(leader);
      await writeRecords(root, [
        { token: 'tok-5', service: 'api', role: 'service', pid: leader, pgid: leader, startTime, command: 'sh', startedAt: '', owner: DEAD_OWNER },
        { token: 'tok-5-longer-still', service: 'api', role: 'service', pid: leader, pgid: leader, startTime, command: 'sh', startedAt: '', owner: DEAD_OWNER },
        { token: 'tok-5-longer', service: 'api', role: 'service', pid: leader, pgid: leader, command: 'sh', startedAt: '', owner: DEAD_OWNER },
      ]);
      const logged: string[] = [];
      const killed = await cleanupStaleProcesses(root, { graceMs: 200, log: (m) => logged.push(m) });
      assert.deepEqual(killed, []);
      assert.ok(alive(leader) && alive(grandchild));
      assert.equal(logged.length, 1);
      assert.match(logged[0], new RegExp(`pid ${leader}, api\\) with no start time`));
      assert.deepEqual(await readRecords(root), [], 'the unusable entries are dropped');
    } finally {
      process.kill(-leader, 'SIGKILL');
    }
  });

  it('leaves alone the entries of a devloop that is still running, unless asked for all', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'devloop-reg-'));
    dirs.push(root);
    const { leader } = await orphanGroup('tok-3');
    const rec: ProcessRecord = { token: 'tok-3', service: 'web', role: 'service', pid: leader, pgid: leader, startTime: processStartTime(leader), command: 'sh', startedAt: '', owner: { pid: process.pid, startTime: processStartTime(process.pid) } };
    await writeRecords(root, [rec]);
    assert.deepEqual(await cleanupStaleProcesses(root), []);
    assert.ok(alive(leader));
    assert.equal((await readRecords(root)).length, 1);
    const killed = await cleanupStaleProcesses(root, { all: true, graceMs: 2000 });
    assert.ok(killed.some((k) => k.pid === leader && k.service === 'web'));
    await waitDead([leader]);
  });
});

async function waitDead(pids: number[]): Promise<void> {
  const end = Date.now() + 5000;
  while (pids.some(alive)) {
    if (Date.now() > end) throw new Error(`still alive: ${pids.filter(alive).join(', ')}`);
    await sleep(10);
  }
}
