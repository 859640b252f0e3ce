/**
 * The dashboard's charts when the monitoring plugin runs Prometheus: the history a page opens
 * with comes from that Prometheus (query_range), with the figures devloop computes in-process
 * otherwise (request rate, 5xx rate, latency quantiles, instances). Real Prometheus, real
 * Cloud Run simulator, real requests (test/fixtures/monitoring).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { SeriesSnapshot } from '../ui/web/protocol.js';
import { findFreePort } from '../plugins/shared/ports.js';
import { copyFixture, httpGet, runCli, startCli, until, type RunningCli } from './helpers.js';

const promMissing = ['prometheus', 'promtool'].filter((b) => !(process.env.PATH ?? '').split(':').some((d) => existsSync(path.join(d, b))));
if (promMissing.length) throw new Error(`${promMissing.join(', ')} not on PATH: run bash test/infra/monitoring.sh (as root on Debian)`);

const last = (xs: (number | null)[] | undefined) => [...(xs ?? [])].reverse().find((v) => v !== null) ?? undefined;

describe('dashboard charts from Prometheus', () => {
  let up: RunningCli | undefined;
  let dir = '';
  after(async () => {
    if (!up || up.child.exitCode !== null) return;
    up.child.kill('SIGINT');
    const done = await Promise.race([up.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 20_000))]);
    if (!done) { up.child.kill('SIGKILL'); await runCli(['down'], { cwd: dir, timeoutMs: 60_000 }).catch(() => undefined); }
  });

  it('a page opens with the history Prometheus holds: request and error rates, latency, instances', { timeout: 120_000 }, async () => {
    dir = copyFixture('monitoring');
    const env = { MON_WEB_PORT: String(await findFreePort()), MON_STATS_PORT: String(await findFreePort()), MON_PLAIN_PORT: String(await findFreePort()) };
    up = startCli(['up', '--output', 'json'], { cwd: dir, env });
    await up.waitFor((e) => e.type === 'service/health' && e.service === 'web' && e.health === 'healthy', 60_000, 'web healthy');
    const status = await until(async () => {
      const r = await runCli(['status', '-o', 'json'], { cwd: dir, env });
      const s = JSON.parse(r.stdout);
      return s.dashboard && s.monitoring?.prometheus ? s : undefined;
    }, 60_000, 'the dashboard and Prometheus URLs');
    const web = `http://127.0.0.1:${env.MON_WEB_PORT}`;
    // Traffic for a few scrapes (1 s apart): 2xx and 5xx.
    const series = await until(async () => {
      for (let i = 0; i < 8; i++) await httpGet(`${web}/ok`);
      for (let i = 0; i < 2; i++) await httpGet(`${web}/fail`);
      const s = JSON.parse((await httpGet(`${status.dashboard}api/series`)).body) as SeriesSnapshot;
      const w = s.services.web;
      return s.source === 'prometheus' && (last(w?.rps) ?? 0) > 0 && (last(w?.errors) ?? 0) > 0 && last(w?.p99Ms) !== undefined ? s : undefined;
    }, 60_000, 'request and error rates from Prometheus');
    assert.equal(series.prometheus, status.monitoring.prometheus);
    const w = series.services.web;
    // Every column is as long as the time axis, which ascends.
    for (const col of Object.values(w)) assert.equal(col!.length, series.t.length);
    assert.ok(series.t.every((t, i) => i === 0 || t > series.t[i - 1]));
    // 2 of every 10 answers fail: the error rate is a part of the request rate.
    assert.ok(last(w.errors)! < last(w.rps)!, `errors ${last(w.errors)} < rps ${last(w.rps)}`);
    assert.ok(last(w.p50Ms)! >= 0 && last(w.p99Ms)! >= last(w.p50Ms)!);
    assert.ok((last(w.ready) ?? 0) >= 1, 'minScale 1 keeps an instance ready');
  });
});
