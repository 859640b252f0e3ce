// devloop:monitoring against real parts (issue 14): `devloop up` on the fixture starts a real
// Prometheus (Debian's, test/infra/monitoring.sh) and Alertmanager beside a Cloud Run service
// and two process services. PromQL through Prometheus' HTTP API returns the values known
// traffic must give; 5xx answers fire DevloopHighErrorRate, which reaches the real Alertmanager
// and comes back to `devloop status`; the exit leaves no Prometheus, Alertmanager or port behind.
// Then the faults: a broken rule file of the user's, a taken port, no binary at all.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { DevfileConfig } from '../core/devfile/types.js';
import { Engine } from '../core/engine/engine.js';
import { monitoringPlugin } from '../plugins/monitoring/plugin.js';
import { processPlugin } from '../plugins/local-process/index.js';
import { findFreePort } from '../plugins/shared/ports.js';
import { copyFixture, httpGet, runCli, startCli, until, within } from './helpers.js';

const promMissing = ['prometheus', 'promtool', 'prometheus-alertmanager'].filter((b) => !(process.env.PATH ?? '').split(':').some((d) => existsSync(path.join(d, b))));
if (promMissing.length) throw new Error(`${promMissing.join(', ')} not on PATH: run bash test/infra/monitoring.sh (as root on Debian)`);

async function promql(base: string, query: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const r = await httpGet(`${base}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = JSON.parse(r.body) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] }; error?: string };
  if (body.status !== 'success') throw new Error(`${query}: ${body.error}`);
  return body.data.result;
}

const scalar = async (base: string, query: string) => {
  const r = await promql(base, query);
  return r.length === 1 ? Number(r[0].value[1]) : undefined;
};

const portAnswers = async (url: string) => { try { await httpGet(url, { timeoutMs: 1_000 }); return true; } catch { return false; } };

describe('devloop up with monitoring: Prometheus and Alertmanager started and wired (fixture monitoring)', { timeout: 180_000 }, () => {
  const dir = copyFixture('monitoring');
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('scrapes devloop and the services, answers PromQL with the traffic sent, fires an alert that reaches Alertmanager and devloop status, and leaves nothing behind', async () => {
    const env = { MON_WEB_PORT: String(await findFreePort()), MON_STATS_PORT: String(await findFreePort()), MON_PLAIN_PORT: String(await findFreePort()) };
    const up = startCli(['up', '--output', 'json'], { cwd: dir, env });
    try {
      const status = async () => {
        const r = await runCli(['status', '--output', 'json'], { cwd: dir, env, timeoutMs: 20_000 });
        return JSON.parse(r.stdout) as { services: Record<string, { phase: string }>; monitoring?: { metrics?: string; prometheus?: string; alertmanager?: string; jaeger?: string | null; grafana?: string | null; alerts?: { name: string; service?: string }[]; notes?: string[] } };
      };
      const ready = await until(async () => {
        const s = await status();
        return s.monitoring?.prometheus && s.monitoring.alertmanager && Object.values(s.services).every((x) => x.phase === 'healthy') ? s : undefined;
      }, 60_000, `all healthy and Prometheus and Alertmanager up (stderr: ${up.stderr()})`);
      const m = ready.monitoring!;
      assert.deepEqual(Object.keys(m).slice(0, 6), ['metrics', 'prometheus', 'alertmanager', 'jaeger', 'otlp', 'grafana'], 'every part listed');
      for (const url of [m.metrics!, m.prometheus!, m.alertmanager!]) assert.match(url, /^http:\/\/127\.0\.0\.1:\d+/, 'bound to loopback');
      const prom = m.prometheus!;

      // Known traffic: 10 good requests to the Cloud Run service, 5 hits to the process service.
      for (let i = 0; i < 10; i++) assert.equal((await httpGet(`http://127.0.0.1:${env.MON_WEB_PORT}/ok`)).status, 200);
      for (let i = 0; i < 5; i++) await httpGet(`http://127.0.0.1:${env.MON_STATS_PORT}/hit`);

      // devloop's own /metrics (job devloop): the simulator's counter, devloop's state gauges, resource use.
      await until(async () => (await scalar(prom, 'sum(devloop_cloudrun_requests_total{job="devloop",service="web",code="200"})')) === 10, 30_000, 'the 10 requests in Prometheus');
      assert.equal(await scalar(prom, 'devloop_service_up{service="stats"}'), 1);
      assert.equal(await scalar(prom, 'devloop_service_healthy{service="web"}'), 1);
      assert.ok((await scalar(prom, 'devloop_service_memory_bytes{service="stats",runtime="process"}'))! > 10e6, 'a node process uses more than 10 MB');
      assert.ok((await scalar(prom, 'devloop_service_cpu_seconds_total{service="web",runtime="cloud-run"}'))! > 0);
      assert.equal(await scalar(prom, 'up{job="devloop"}'), 1);
      // The service's own endpoint, found without being declared (job services, labelled with the service).
      await until(async () => (await scalar(prom, 'stats_hits_total{job="services",service="stats"}')) === 5, 30_000, 'stats_hits_total 5 scraped from the stats service');
      // A /metrics answering HTML is not scraped, and the log says why.
      assert.deepEqual(await promql(prom, 'up{job="services",service="plain"}'), []);
      await up.waitFor((e) => e.type === 'log' && e.line?.service === 'plain' && /not in the Prometheus text format/.test(e.line.message), 10_000, 'the note on plain\'s /metrics');

      // 5xx answers: the recording rule's ratio passes 10% and the alert fires (for: 0s).
      const failing = setInterval(() => { void httpGet(`http://127.0.0.1:${env.MON_WEB_PORT}/fail`).catch(() => {}); }, 100);
      try {
        const am = await until(async () => {
          const alerts = JSON.parse((await httpGet(`${m.alertmanager}/api/v2/alerts`)).body) as { labels: Record<string, string>; status: { state: string } }[];
          return alerts.find((a) => a.labels.alertname === 'DevloopHighErrorRate' && a.labels.service === 'web' && a.status.state === 'active');
        }, 60_000, 'DevloopHighErrorRate active in Alertmanager');
        assert.equal(am.labels.severity, 'critical');
      } finally {
        clearInterval(failing);
      }
      const firing = await until(async () => (await status()).monitoring?.alerts?.find((a) => a.name === 'DevloopHighErrorRate'), 20_000, 'the alert in devloop status -o json');
      assert.equal(firing.service, 'web');
      const text = await runCli(['status'], { cwd: dir, env, timeoutMs: 20_000 });
      assert.match(text.stdout, /ALERT DevloopHighErrorRate \[web\] \(critical\) firing since .*: web: \d+% of requests fail with 5xx/);
      await up.waitFor((e) => e.type === 'log' && e.line?.service === 'web' && e.line.level === 'error' && /alert firing: DevloopHighErrorRate/.test(e.line.message), 10_000, 'the alert in web\'s log');

      up.child.kill('SIGINT');
      assert.equal(await within(up.exited, 60_000, 'devloop up to exit'), 0, up.stderr());
      for (const url of [m.metrics!, `${prom}/-/ready`, `${m.alertmanager}/-/ready`]) assert.equal(await portAnswers(url), false, `${url} still answers after the exit`);
    } finally {
      up.child.kill('SIGKILL');
      await up.exited;
    }
  });
});

describe('monitoring faults keep devloop and the services running', { timeout: 120_000 }, () => {
  const roots: string[] = [];
  const engines: Engine[] = [];
  after(async () => {
    for (const e of engines) await e.stop('test over');
    for (const r of roots) rmSync(r, { recursive: true, force: true });
  });

  async function launch(monitoring: DevfileConfig['monitoring'], files: Record<string, string> = {}, options: Parameters<typeof monitoringPlugin>[0] = {}) {
    const root = mkdtempSync(path.join(os.tmpdir(), 'devloop-monfault-'));
    roots.push(root);
    writeFileSync(path.join(root, 'server.js'), 'require("node:http").createServer((q, s) => s.end("ok")).listen(Number(process.env.PORT));\n');
    for (const [f, t] of Object.entries(files)) writeFileSync(path.join(root, f), t);
    const port = await findFreePort();
    const devfile: DevfileConfig = { name: 'monfault', services: { api: { runtime: 'process', command: ['node', 'server.js'], port, health: { http: '/' } } }, monitoring };
    const engine = new Engine({ root, devfile, plugins: [processPlugin(), monitoringPlugin(options)] });
    engines.push(engine);
    const warnings: string[] = [];
    engine.subscribe((_s, a) => { if (a.type === 'log' && a.line.level === 'warn') warnings.push(a.line.message); });
    await engine.start();
    await until(() => engine.getState().services.api?.phase === 'healthy', 30_000, 'api healthy');
    const ready = await until(async () => {
      const m = engine.getState().extra['devloop:monitoring'] as { urls: Record<string, string>; notes: string[] } | undefined;
      return m && (m.urls.prometheus || m.notes.some((n) => n.startsWith('prometheus not started'))) ? m : undefined;
    }, 40_000, 'Prometheus started or reported');
    return { engine, port, warnings, urls: ready.urls, notes: ready.notes };
  }

  it('a rule file promtool rejects is left out with promtool\'s words (file and line), and Prometheus runs devloop\'s own rules', async () => {
    const bad = 'groups:\n  - name: mine\n    rules:\n      - alert: Broken\n        expr: sum(rate(x[5m]) by (\n';
    const { urls, notes, port } = await launch({ prometheus: { rules: ['mine.rules.yml'] } }, { 'mine.rules.yml': bad });
    const note = notes.find((n) => n.includes('mine.rules.yml left out'));
    assert.ok(note, notes.join('\n'));
    assert.match(note!, /promtool check rules rejects it/);
    assert.match(note!, /mine\.rules\.yml/);
    assert.ok(urls.prometheus, 'Prometheus runs without the bad file');
    const groups = JSON.parse((await httpGet(`${urls.prometheus}/api/v1/rules`)).body).data.groups.map((g: { name: string }) => g.name);
    assert.deepEqual(groups.sort(), ['devloop.alerts', 'devloop.recording']);
    assert.equal((await httpGet(`http://127.0.0.1:${port}/`)).status, 200, 'the service still answers');
  });

  it('a taken Prometheus port and a missing Alertmanager binary are one note each; the metrics endpoint still serves', async () => {
    const holder = await findFreePort();
    const net = await import('node:net');
    const server = net.createServer().listen(holder, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      // A machine without Alertmanager: the plugin looks for a name nothing has.
      const { notes, urls, port, warnings } = await launch({ prometheus: { port: holder }, alertmanager: true }, {}, { binaries: { alertmanager: ['devloop-test-no-such-alertmanager'] } });
      assert.ok(notes.some((n) => n.startsWith(`prometheus not started: monitoring.prometheus.port: port ${holder} is in use`)), notes.join('\n'));
      assert.ok(notes.some((n) => n.startsWith('alertmanager not started: no devloop-test-no-such-alertmanager binary on PATH') && n.includes('apt-get install prometheus-alertmanager')), notes.join('\n'));
      assert.equal(warnings.filter((w) => w.includes('alertmanager not started')).length, 1, 'said once');
      assert.equal(urls.prometheus, undefined);
      const metrics = await httpGet(urls.metrics);
      assert.equal(metrics.status, 200);
      assert.match(metrics.body, /devloop_service_up\{service="api"\} 1/);
      assert.equal((await httpGet(`http://127.0.0.1:${port}/`)).status, 200, 'the service still answers');
    } finally {
      server.close();
    }
  });
});
