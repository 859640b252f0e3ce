// Resource pressure, end to end: a low memory figure handed to the watcher through its probe
// retires real idle Cloud Run instances (processes) and drops esbuild's warm context; a real 2 MiB
// tmpfs holding `.devloop/` filled past 90% gets its logs rotated; a full Docker disk (reading
// injected, real daemon) loses the devloop images beyond keepImages. Each said once.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import Docker from 'dockerode';
import type { DevfileConfig } from '../core/devfile/types.js';
import { Engine } from '../core/engine/engine.js';
import type { DiskReading, MemoryReading } from '../core/pressure/decide.js';
import { systemProbe, type PressureProbe } from '../core/pressure/probe.js';
import { PressureWatcher } from '../core/pressure/watcher.js';
import { writeLogFiles } from '../core/session/logfiles.js';
import { tapLogRotation } from '../core/session/rotate.js';
import { cloudRunPlugin } from '../plugins/cloud-run/index.js';
import { dockerDataDisk, dockerPlugin, DockerDaemon } from '../plugins/docker/index.js';
import { packEntries } from '../plugins/docker/tar.js';
import { esbuildPlugin } from '../plugins/esbuild/index.js';
import { processPlugin } from '../plugins/local-process/index.js';
import type { LogLine } from '../core/store/state.js';
import { buildSink, copyFixture, repoRoot, until } from './helpers.js';

const GiB = 1024 ** 3;
const KiB = 1024;

/** A probe whose memory (and, when set, disk) figures the test chooses; the rest is the real one. */
function fakeProbe(): PressureProbe & { availablePct: number; diskUsedPct?: number } {
  const probe = {
    availablePct: 50,
    diskUsedPct: undefined as number | undefined,
    async memory(): Promise<MemoryReading> { return { availableBytes: probe.availablePct / 100 * 16 * GiB, totalBytes: 16 * GiB }; },
    async disk(p: string): Promise<DiskReading> {
      return probe.diskUsedPct === undefined ? systemProbe.disk(p) : { usedBytes: probe.diskUsedPct / 100 * 100 * GiB, totalBytes: 100 * GiB };
    },
  };
  return probe;
}

/** Every log line the engine emits (the state keeps only a tail). */
function recordLogs(engine: Engine): LogLine[] {
  const lines: LogLine[] = [];
  engine.subscribe((_s, action) => { if (action.type === 'log') lines.push(action.line); });
  return lines;
}

const matching = (lines: LogLine[], re: RegExp) => lines.filter((l) => re.test(l.message));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) {
    try { await c(); } catch (err) { console.error(`cleanup: ${String(err)}`); }
  }
});

describe('resource pressure', () => {
  it('memory: retires idle Cloud Run instances beyond minScale and drops idle esbuild contexts, said once', { timeout: 90_000 }, async () => {
    const root = copyFixture('cloud-run-app');
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    cpSync(path.join(repoRoot, 'test/fixtures/proc-esbuild/src'), path.join(root, 'api'), { recursive: true });
    const port = await freePort();
    const devfile: DevfileConfig = {
      name: 'prtest-mem',
      simulation: { cloudRun: { enabled: true, instances: 'process' } },
      resourcePressure: { interval: '100ms' },
      services: {
        web: { command: 'node server.js', port, cloudRun: { containerConcurrency: 1, minScale: 1, maxScale: 4 } },
        api: { build: { type: 'esbuild', entry: 'api/index.ts' }, runtime: 'none' },
      },
    };
    const results: { cached?: boolean }[] = [];
    const engine = new Engine({
      root, devfile,
      plugins: [processPlugin(), esbuildPlugin(), buildSink(results as never), cloudRunPlugin({
        metrics: false,
        // Idle instances would stay for 10 minutes: only pressure can retire them within the test.
        scaling: { tickMs: 200, stableWindowMs: 1000, panicWindowMs: 500, idleTimeoutMs: 600_000, scaleToZeroAfterMs: 600_000 },
      })],
    });
    const logs = recordLogs(engine);
    cleanups.push(() => engine.stop());
    await engine.start();
    await engine.idle();
    const web = () => engine.getState().services.web;
    assert.equal(web().phase, 'healthy', web().error?.message);
    const url = web().endpoints[0].url;
    const revision = () => (web().extra['cloud-run'] as any)?.revisions?.[0];

    // Four slow requests at once, one per instance: the revision scales to four.
    const replies = await Promise.all(Array.from({ length: 4 }, async () => (await fetch(`${url}/slow?ms=1500`, { signal: AbortSignal.timeout(30_000) })).json() as Promise<{ instance: string }>));
    const burstEnded = Date.now();
    assert.equal(new Set(replies.map((r) => r.instance)).size, 4, 'four instances served');
    const pids = matching(logs, /instance [0-9a-f]{6} ready in \d+ ms \(pid \d+\)/).map((l) => Number(/\(pid (\d+)\)/.exec(l.message)![1]));
    assert.equal(pids.length, 4);
    // Idle, and the autoscaler keeps them only through its scale-down limit (half of ready per
    // decision), which no longer applies once they are retired: it will not start them again.
    await until(() => revision()?.instances.ready === 4 && revision().instances.busy === 0 && revision().desired <= 2, 15_000, 'four idle instances the autoscaler no longer needs')
      .catch((err) => { throw new Error(`${err.message}: ${JSON.stringify(revision())}`); });
    assert.ok(pids.every(alive));
    // The stable window (1 s) still averages the burst for a moment: pressure applied then would
    // leave the autoscaler rightly wanting a second instance. Wait until the window is past it.
    await sleep(Math.max(0, burstEnded + 1_300 - Date.now()));

    const probe = fakeProbe();
    const watcher = new PressureWatcher(engine, { probe }).start();
    cleanups.push(() => watcher.stop());
    await sleep(300);
    assert.equal(matching(logs, /pressure/).length, 0, 'nothing said at 50% available');

    probe.availablePct = 10;
    await until(() => matching(logs, /^memory pressure \(available 10% < 15%\): retired 3 idle instances of web$/).length === 1, 10_000, 'the retire line');
    assert.equal(matching(logs, /^memory pressure \(available 10% < 15%\): dropped the esbuild incremental context of api \(the next build starts cold\)$/).length, 1);
    await until(() => pids.filter(alive).length === 1, 20_000, 'three instance processes gone');
    await until(() => revision()?.instances.ready === 1, 5_000, 'one instance left (minScale)');
    await sleep(1_000);
    assert.equal(revision()?.coldStarts, 4, 'the autoscaler did not start them again');
    assert.equal(revision()?.instances.ready + revision()?.instances.starting, 1);
    const lines = matching(logs, /^memory pressure/);
    assert.ok(lines.every((l) => l.level === 'warn' && l.service === undefined), 'project-level warnings');

    // The pressure lasts: ten more readings (the second above included), nothing said again.
    assert.equal(matching(logs, /^memory pressure \(/).length, 2, 'said once while it lasts');

    // The dropped context is rebuilt on the next build, and an unchanged bundle still counts as unchanged.
    await engine.filesChanged('api', [path.join(root, 'api/index.ts')]);
    await engine.idle();
    assert.equal(results.at(-1)?.cached, true, 'the cold rebuild recognised the unchanged bundle');

    // Cleared past the margin, then back: said again. The rebuild warmed api's context again,
    // so that goes; web is at minScale, so no instance does.
    probe.availablePct = 16;
    await sleep(400);
    assert.equal(matching(logs, /cleared/).length, 0, 'inside the 2-point margin: not cleared');
    probe.availablePct = 40;
    await until(() => matching(logs, /^memory pressure cleared \(available 40% >= 17%\)$/).length === 1, 5_000, 'the cleared line');
    probe.availablePct = 12;
    await until(() => matching(logs, /^memory pressure \(available 12% < 15%\): dropped the esbuild incremental context of api/).length === 1, 5_000, 'the second pressure said');
    assert.equal(matching(logs, /retired/).length, 1);
    assert.equal(revision()?.instances.ready, 1, 'minScale kept');
    // A third time, nothing idle is left: that is said too, not silence.
    probe.availablePct = 40;
    await until(() => matching(logs, /^memory pressure cleared/).length === 2, 5_000, 'cleared again');
    probe.availablePct = 11;
    await until(() => matching(logs, /^memory pressure \(available 11% < 15%\): nothing idle to free \(no idle Cloud Run instance beyond minScale, no idle build cache\)$/).length === 1, 5_000, 'the third pressure said');
    assert.equal(matching(logs, /^memory pressure \(/).length, 4, 'one line per action per pressure, nothing repeated');
    await watcher.stop();
  });

  it('disk: a real 2 MiB tmpfs holding .devloop/ past 90% gets its logs rotated, said once', { timeout: 60_000 }, async () => {
    const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-prtest-disk-')));
    const dotDir = path.join(root, '.devloop');
    mkdirSync(dotDir);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dotDir]);
    cleanups.push(() => { execFileSync('umount', [dotDir]); rmSync(root, { recursive: true, force: true }); });
    const logsDir = path.join(dotDir, 'logs');
    mkdirSync(logsDir);
    const jsonLines = (bytes: number, tag: string) => {
      const line = `${JSON.stringify({ time: 1, service: 'web', level: 'output', message: `${tag} ${'x'.repeat(200)}` })}\n`;
      return line.repeat(Math.ceil(bytes / line.length));
    };
    const current = jsonLines(80 * KiB, 'first');
    writeFileSync(path.join(logsDir, 'web.jsonl'), current);
    writeFileSync(path.join(logsDir, 'web.jsonl.1'), jsonLines(80 * KiB, 'older'));
    writeFileSync(path.join(logsDir, 'web.jsonl.2'), jsonLines(60 * KiB, 'oldest'));
    // Big enough that the disk stays past 90% after the rotation: the pressure lasts.
    const filler = path.join(dotDir, 'filler');
    writeFileSync(filler, Buffer.alloc(1800 * KiB, 1));

    const engine = new Engine({ root, devfile: { name: 'prtest-disk', services: {}, resourcePressure: { interval: '100ms' } }, plugins: [] });
    const logs = recordLogs(engine);
    await engine.start();
    const writer = writeLogFiles(root, engine);
    tapLogRotation(engine);
    cleanups.push(async () => { await engine.stop(); await writer.close(); });
    const before = await systemProbe.disk(dotDir);
    assert.ok(before.usedBytes / before.totalBytes > 0.9, `filled past 90%: ${before.usedBytes} of ${before.totalBytes}`);

    const probe = fakeProbe(); // real disk figures, memory at 50%
    const watcher = new PressureWatcher(engine, { probe }).start();
    cleanups.push(() => watcher.stop());
    const said = /^disk pressure \(used (9\d|100)% > 90% on .*\/\.devloop, holding \.devloop\/\): rotated 1 log file in \.devloop\/logs \(the current part kept as \.1\); deleted 2 older parts: 1[34]\d KiB freed$/;
    await until(() => matching(logs, said).length === 1, 10_000, 'the rotation line');
    assert.equal(statSync(path.join(logsDir, 'web.jsonl')).size, 0, 'the current part starts empty');
    assert.equal(readFileSync(path.join(logsDir, 'web.jsonl.1'), 'utf8'), current, 'and lives on as .1');
    assert.equal(existsSync(path.join(logsDir, 'web.jsonl.2')), false, 'older parts are gone');
    const after1 = await systemProbe.disk(dotDir);
    assert.ok(after1.usedBytes / after1.totalBytes > 0.9, 'still past 90%');
    await sleep(1_000);
    assert.equal(matching(logs, /^disk pressure/).length, 1, 'said once while it lasts');
    // The session writer goes on appending to the truncated file: whole JSON lines, no hole of zeros.
    const project = readFileSync(path.join(logsDir, '_devloop.jsonl'), 'utf8').trim().split('\n');
    assert.ok(project.some((l) => said.test((JSON.parse(l) as LogLine).message)), 'the line is in the session log');

    // Space comes back: cleared; the filler again: a second pressure, a second rotation.
    unlinkSync(filler);
    await until(() => matching(logs, /^disk pressure cleared \(used \d+% <= 88% on /).length === 1, 5_000, 'the cleared line');
    const second = jsonLines(80 * KiB, 'second');
    writeFileSync(path.join(logsDir, 'web.jsonl'), second);
    writeFileSync(filler, Buffer.alloc(1800 * KiB, 1));
    await until(() => matching(logs, /^disk pressure \(used/).length === 2, 5_000, 'the second pressure said');
    await until(() => readFileSync(path.join(logsDir, 'web.jsonl.1'), 'utf8') === second, 5_000, 'the new part rotated');
    await watcher.stop();
  });

  it('docker: devloop images beyond keepImages removed under disk pressure (reading injected), said once', { timeout: 90_000 }, async () => {
    const docker = new Docker();
    await docker.ping();
    const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-prtest-img-')));
    const repo = 'devloop-prtest-img-web';
    cleanups.push(async () => {
      rmSync(root, { recursive: true, force: true });
      for (const img of await docker.listImages({ filters: { reference: [repo] } })) {
        for (const tag of img.RepoTags ?? []) await docker.getImage(tag).remove({ force: true }).catch(() => {});
      }
    });
    // Four tiny FROM scratch images, a second apart (the daemon dates images to the second).
    const refs: string[] = [];
    for (let i = 0; i < 4; i++) {
      if (i) await sleep(1_100);
      const ref = `${repo}:devloop-${String(i).padStart(16, '0')}`;
      const context = packEntries([{ name: 'Dockerfile', type: 'file', mode: 0o644, content: Buffer.from(`FROM scratch\nLABEL dev.devloop.service=web dev.devloop.test=${i}\n`) }]);
      const stream = await docker.buildImage(context, { t: ref });
      await new Promise((resolve, reject) => docker.modem.followProgress(stream, (err, out) => (err ? reject(err) : resolve(out))));
      refs.push(ref);
    }
    // A tag that is not devloop's, in the same repository: never touched.
    await docker.getImage(refs[0]).tag({ repo, tag: 'mine' });

    const engine = new Engine({
      root,
      devfile: { name: 'prtest-img', services: { web: { build: { type: 'docker' }, runtime: 'none' } }, resourcePressure: { interval: '100ms', keepImages: 2 } },
      plugins: [dockerPlugin()],
    });
    await engine.applyPlugins();
    cleanups.push(() => engine.stop());
    const logs = recordLogs(engine);
    const probe = fakeProbe();
    probe.diskUsedPct = 95;
    const watcher = new PressureWatcher(engine, { probe, disks: dockerDataDisk(new DockerDaemon()) }).start();
    cleanups.push(() => watcher.stop());
    await until(() => matching(logs, /^disk pressure \(used 95% > 90% on .*Docker's data\): removed 2 older images of web \(kept the newest 2\)$/).length === 1, 20_000, 'the prune line');
    const left = (await docker.listImages({ filters: { reference: [repo] } })).flatMap((i) => i.RepoTags ?? []).sort();
    assert.deepEqual(left, [`${repo}:mine`, refs[2], refs[3]].sort(), 'the two newest devloop images and the foreign tag remain');
    await sleep(800);
    assert.equal(matching(logs, /^disk pressure/).length, 1, 'said once while it lasts');
    await watcher.stop();
  });
});
