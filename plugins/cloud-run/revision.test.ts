// The revision's queue and instance bookkeeping, with instances that are plain TCP listeners in
// this process (a fake launcher): what a request gets, in which order, and which status when no
// instance can take it. The same paths run against real containers in test/cloud-run.test.ts.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import type { InstanceHandle, InstanceLauncher } from './instances.js';
import { NoInstance, Revision, type Instance } from './revision.js';
import { specFromInline } from './spec.js';
import type { ScalingSettings } from './types.js';

const SETTINGS: ScalingSettings = {
  targetUtilization: 0.6, stableWindowMs: 2000, panicWindowMs: 500, panicThreshold: 2, tickMs: 50,
  idleTimeoutMs: 60_000, scaleToZeroAfterMs: 60_000, queueWaitMinMs: 150, queueWaitStartupFactor: 0, shutdownGraceSeconds: 1,
};
const logger = { info() {}, warn() {}, error() {}, output() {} };
const servers: net.Server[] = [];
const revisions: Revision[] = [];
after(async () => {
  await Promise.all(revisions.map((r) => r.stop()));
  for (const s of servers) s.close();
});

/** Instances that listen at once (or after `delayMs`); `fail` makes launches throw instead. */
function launcher(opts: { fail?: string; delayMs?: number } = {}): InstanceLauncher & { launches: number } {
  return {
    kind: 'process',
    launches: 0,
    async hostAddress() { return '127.0.0.1'; },
    async launch(): Promise<InstanceHandle> {
      this.launches++;
      if (opts.fail) throw new Error(opts.fail);
      if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      const server = net.createServer((s) => s.destroy());
      servers.push(server);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      let exit!: (e: { code: number | null; signal: string | null }) => void;
      const exited = new Promise<{ code: number | null; signal: string | null }>((r) => { exit = r; });
      return {
        host: '127.0.0.1',
        port: (server.address() as net.AddressInfo).port,
        describe: 'test listener',
        exited,
        stop: async () => { server.close(); exit({ code: 0, signal: 'SIGTERM' }); },
      };
    },
  };
}

function revision(options: { containerConcurrency?: number; maxScale?: number; minScale?: number }, l: InstanceLauncher): Revision {
  const spec = specFromInline('api', { containerConcurrency: options.containerConcurrency ?? 1, maxScale: options.maxScale ?? 1, minScale: options.minScale ?? 0 }, 'services.api.cloudRun');
  const rev = new Revision('api-00001-abc', 1, spec.template, 'k', { service: 'api', launcher: l, settings: SETTINGS, logger, env: {}, coldStartDelayMs: 0, changed() {} });
  revisions.push(rev);
  return rev;
}

const never = new AbortController().signal;

describe('revision queue', { timeout: 30_000 }, () => {
  it('answers 500 at the queue wait while an instance is still starting below maxScale', async () => {
    // Cloud Run's "no available instance": the wait bound holds even when a cold start is under
    // way that might have taken the request later.
    const rev = revision({ containerConcurrency: 1, maxScale: 3 }, launcher({ delayMs: 1500 }));
    const began = Date.now();
    const err = await rev.acquire(never).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof NoInstance, `expected NoInstance, got ${String(err)}`);
    assert.equal(err.status, 500);
    assert.match(err.message, /no instance became available within/);
    assert.ok(Date.now() - began < 1400, 'answered at the bound, before the slow start finished');
  });


  it('serves queued requests in arrival order as slots free up', async () => {
    const rev = revision({ containerConcurrency: 1, maxScale: 1 }, launcher());
    await rev.start(true, never);
    const first = await rev.acquire(never);
    const order: string[] = [];
    const second = rev.acquire(never).then((i) => { order.push('second'); return i; });
    const third = rev.acquire(never).then((i) => { order.push('third'); return i; });
    assert.equal(rev.queueDepth, 2);
    rev.release(first);
    const got = await second;
    assert.equal(got, first, 'the one instance, passed on');
    assert.deepEqual(order, ['second']);
    rev.release(got);
    rev.release(await third);
    assert.deepEqual(order, ['second', 'third']);
    assert.equal(rev.inFlight, 0);
  });

  it('answers 429 when every instance up to maxScale stays busy past the queue wait', async () => {
    const rev = revision({ containerConcurrency: 1, maxScale: 1 }, launcher());
    await rev.start(true, never);
    const busy = await rev.acquire(never);
    const began = Date.now();
    await assert.rejects(rev.acquire(never), (err: NoInstance) => {
      assert.equal(err.status, 429);
      assert.match(err.message, /all 1 instances \(maxScale\) were busy/);
      return true;
    });
    assert.ok(Date.now() - began >= 140, 'after the queue wait, not before');
    rev.release(busy);
  });

  it('answers 503 to waiting requests when no instance can start, and backs off relaunching', async () => {
    const l = launcher({ fail: 'image not found' });
    const rev = revision({ containerConcurrency: 1, maxScale: 3 }, l);
    await assert.rejects(rev.start(true, never), /image not found/);
    await assert.rejects(rev.acquire(never), (err: NoInstance) => {
      assert.equal(err.status, 503);
      assert.match(err.message, /The instance failed to start: image not found/);
      return true;
    });
    const launches = l.launches;
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(l.launches - launches <= 1, `no hot relaunch loop (${l.launches - launches} more launches in 300 ms)`);
  });

  it('a client that goes away leaves the queue', async () => {
    const rev = revision({ containerConcurrency: 1, maxScale: 1 }, launcher());
    await rev.start(true, never);
    const busy = await rev.acquire(never);
    const gone = new AbortController();
    const waiting = rev.acquire(gone.signal);
    assert.equal(rev.queueDepth, 1);
    gone.abort();
    await assert.rejects(waiting, NoInstance);
    assert.equal(rev.queueDepth, 0);
    rev.release(busy);
  });

  it('spreads requests over instances with room, least loaded first', async () => {
    const rev = revision({ containerConcurrency: 2, maxScale: 2, minScale: 2 }, launcher());
    await rev.start(true, never);
    const a = await rev.acquire(never);
    const b = await rev.acquire(never);
    assert.notEqual(a, b, 'the second request goes to the idle instance');
    const c: Instance = await rev.acquire(never);
    assert.ok(c === a || c === b);
    assert.equal(rev.counts().busy, 2);
    for (const i of [a, b, c]) rev.release(i);
  });
});
