import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import type { Action } from '../../core/store/actions.js';
import { reduce } from '../../core/store/reducer.js';
import { initialState, type EngineState } from '../../core/store/state.js';
import { AlertBook, describeAlert } from './alerts.js';
import { alertmanagerConfig, prometheusConfig, targetsFile } from './config.js';
import { DevloopMetrics } from './devloop-metrics.js';
import { looksLikePrometheusText } from './targets.js';

describe('AlertBook', () => {
  const firing = (fp: string, service: string, status = 'firing') => ({ status, fingerprint: fp, labels: { alertname: 'DevloopHighErrorRate', service, severity: 'critical' }, annotations: { summary: `${service}: 50% of requests fail with 5xx` }, startsAt: '2026-12-04T10:00:00Z' });
  it('keeps firing alerts by fingerprint, reports each once, and drops resolved ones', () => {
    const book = new AlertBook();
    const c1 = book.apply({ alerts: [firing('a', 'web'), firing('b', 'api')] });
    assert.deepEqual(c1.fired.map((a) => a.service), ['web', 'api']);
    assert.deepEqual(book.apply({ alerts: [firing('a', 'web')] }).fired, [], 'a repeat notification is not news');
    const c3 = book.apply({ alerts: [firing('a', 'web', 'resolved')] });
    assert.deepEqual(c3.resolved.map((a) => a.service), ['web']);
    assert.deepEqual(book.list().map((a) => a.service), ['api']);
    assert.equal(describeAlert(book.list()[0]), 'DevloopHighErrorRate (critical): api: 50% of requests fail with 5xx');
  });
  it('rejects a body that is not Alertmanager\'s webhook payload', () => {
    assert.throws(() => new AlertBook().apply({ hello: 1 }), /expected an Alertmanager webhook body: an object with an "alerts" array/);
  });
});

describe('looksLikePrometheusText', () => {
  it('accepts the text exposition and OpenMetrics, with or without HELP lines', () => {
    assert.ok(looksLikePrometheusText('text/plain; version=0.0.4', '# HELP x_total X.\n# TYPE x_total counter\nx_total 3\n'));
    assert.ok(looksLikePrometheusText('text/plain', 'up{job="a"} 1\n'));
    assert.ok(looksLikePrometheusText('application/openmetrics-text; version=1.0.0', '# TYPE a gauge\na 1.5e3\n# EOF\n'));
    assert.ok(looksLikePrometheusText(null, 'x NaN\n'));
  });
  it('refuses HTML, JSON and plain words', () => {
    assert.equal(looksLikePrometheusText('text/html', '<!doctype html>'), false);
    assert.equal(looksLikePrometheusText('application/json', '{"a":1}'), false);
    assert.equal(looksLikePrometheusText('text/plain', 'Cannot GET /metrics\n'), false);
    assert.equal(looksLikePrometheusText('text/plain', ''), false);
  });
});

describe('monitoring config files', () => {
  it('Prometheus scrapes devloop statically and the services from the file_sd file, and alerts go to the Alertmanager', () => {
    const c = parse(prometheusConfig({ devloop: '127.0.0.1:9464', scrapeInterval: '1s', ruleFiles: ['/r.yml'], targetsFile: '/t.json', alertmanager: '127.0.0.1:9093', project: 'p' }));
    assert.equal(c.global.scrape_interval, '1s');
    assert.deepEqual(c.scrape_configs.map((s: { job_name: string }) => s.job_name), ['devloop', 'services']);
    assert.deepEqual(c.scrape_configs[0].static_configs[0].targets, ['127.0.0.1:9464']);
    assert.deepEqual(c.scrape_configs[1].file_sd_configs[0].files, ['/t.json']);
    assert.deepEqual(c.alerting.alertmanagers[0].static_configs[0].targets, ['127.0.0.1:9093']);
    assert.equal(parse(prometheusConfig({ devloop: 'x:1', scrapeInterval: '5s', ruleFiles: [], targetsFile: '/t', project: 'p' })).alerting, undefined);
  });
  it('targets carry the service label and the metrics path', () => {
    assert.deepEqual(JSON.parse(targetsFile([{ service: 'stats', address: '127.0.0.1:81', path: '/m' }])), [{ targets: ['127.0.0.1:81'], labels: { service: 'stats', __metrics_path__: '/m' } }]);
  });
  it('Alertmanager posts every group, resolved ones too, to devloop', () => {
    const c = parse(alertmanagerConfig('http://127.0.0.1:9464/alertmanager'));
    assert.deepEqual(c.receivers[0].webhook_configs, [{ url: 'http://127.0.0.1:9464/alertmanager', send_resolved: true }]);
    assert.equal(c.route.receiver, 'devloop');
  });
});

describe('DevloopMetrics', () => {
  function feed(actions: Action[]): { m: DevloopMetrics; state: EngineState } {
    const m = new DevloopMetrics();
    let state = initialState();
    for (const a of actions) { state = reduce(state, a); m.onAction(state, a); }
    return { m, state };
  }
  const loaded: Action = { type: 'config/loaded', file: 'Devfile.ts', services: [{ name: 'api', kind: 'esbuild', target: 'process', triggerMode: 'auto' }] };
  const update = (id: number, outcome: 'done' | 'failed', live = false): Action => ({
    type: 'update/finished', service: 'api',
    update: { id, trigger: { reason: 'change', files: ['a.ts'] }, startedAt: 0, finishedAt: 1, totalMs: 1500, outcome, live, steps: live ? [{ name: 'sync', ms: 20 }] : [{ name: 'build', ms: 400 }, { name: 'deploy', ms: 200 }], ...(outcome === 'failed' ? { failedStep: 'build' as const } : {}) },
  });

  it('turns updates into step histograms by builder and runtime, and the reload latency by kind', async () => {
    const { m } = feed([loaded, update(1, 'done'), update(2, 'done', true)]);
    const text = await m.registry.metrics();
    assert.match(text, /devloop_build_duration_seconds_sum\{service="api",builder="esbuild"\} 0\.4/);
    assert.match(text, /devloop_deploy_duration_seconds_count\{service="api",runtime="process"\} 1/);
    assert.match(text, /devloop_reload_seconds_count\{service="api",kind="rebuild"\} 1/);
    assert.match(text, /devloop_reload_seconds_count\{service="api",kind="live"\} 1/);
  });

  it('counts failures by the step that failed and the error code, restarts, and keeps up/healthy in step with the phase', async () => {
    const { m } = feed([
      loaded,
      { type: 'service/phase', service: 'api', phase: 'healthy' },
      { type: 'deploy/finished', service: 'api', endpoints: [] },
      { type: 'service/restarted', service: 'api', reason: 'crash' },
      update(3, 'failed'),
      { type: 'service/failed', service: 'api', error: { name: 'DevloopError', message: 'x', code: 'BUILD_FAILED' } as never },
      { type: 'service/phase', service: 'api', phase: 'failed' },
    ]);
    const text = await m.registry.metrics();
    assert.match(text, /devloop_failures_total\{service="api",phase="build",reason="BUILD_FAILED"\} 1/);
    assert.match(text, /devloop_service_restarts_total\{service="api"\} 1/);
    assert.match(text, /devloop_service_up\{service="api"\} 0/);
    assert.match(text, /devloop_service_healthy\{service="api"\} 0/);
  });

  it('carries what Autopilot admitted and its cost, replaced on the next admission', async () => {
    const extra = (data: Record<string, unknown>): Action => ({ type: 'service/extra', service: 'api', plugin: 'autopilot', data });
    const { m } = feed([loaded, extra({ vcpu: 0.5, memoryGiB: 2, usdPerHour: 0.0251, computeClass: 'general-purpose', spot: false }), extra({ vcpu: 1, memoryGiB: 4, usdPerHour: 0.0151, computeClass: 'Scale-Out', spot: true })]);
    const text = await m.registry.metrics();
    assert.match(text, /devloop_service_autopilot_vcpu\{service="api",compute_class="Scale-Out"\} 1\n/);
    assert.match(text, /devloop_service_autopilot_memory_bytes\{service="api",compute_class="Scale-Out"\} 4294967296/);
    assert.match(text, /devloop_service_autopilot_cost_usd_per_hour\{service="api",compute_class="Scale-Out",spot="true"\} 0\.0151/);
    assert.doesNotMatch(text, /general-purpose/, 'the earlier admission is gone');
  });

  it('drops every series of a removed service', async () => {
    const { m } = feed([loaded, update(1, 'done'), { type: 'service/removed', service: 'api' }]);
    assert.doesNotMatch(await m.registry.metrics(), /service="api"/);
  });

  it('writes CPU as a counter and memory as a gauge, escaping label values', () => {
    const text = DevloopMetrics.usageText([{ service: 'a"b', runtime: 'docker', cpuSeconds: 1.5, memoryBytes: 1024 }, { service: 'c', runtime: 'process', memoryBytes: 2 }]);
    assert.match(text, /# TYPE devloop_service_cpu_seconds_total counter\ndevloop_service_cpu_seconds_total\{service="a\\"b",runtime="docker"\} 1\.5\n/);
    assert.match(text, /devloop_service_memory_bytes\{service="c",runtime="process"\} 2/);
    assert.doesNotMatch(text, /cpu_seconds_total\{service="c"/);
  });
});
