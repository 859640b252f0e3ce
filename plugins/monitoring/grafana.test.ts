// The Grafana provisioning devloop writes (grafana.ts): files Grafana can read (YAML, JSON), the
// datasources pointing at the URLs given, every panel bound to a datasource that is provisioned,
// and metricNamesOf, which the real-Prometheus test (test/monitoring-grafana.test.ts) relies on.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { dashboardQueries, grafanaProvisioning, JAEGER_UID, metricNamesOf, PROMETHEUS_UID } from './grafana.js';

const DIR = '/home/dev/app/.devloop/monitoring/grafana';
type Dashboard = { uid: string; title: string; schemaVersion: number; panels: { id: number; type: string; datasource: { uid: string }; targets: { datasource: { uid: string }; expr: string }[]; gridPos: { x: number; w: number } }[]; templating: { list: { name: string; datasource: { uid: string } }[] } };

describe('grafanaProvisioning', () => {
  it('writes datasources for the Prometheus given (default) and a Jaeger only when one is given', () => {
    const without = parse(grafanaProvisioning({ prometheusUrl: 'http://127.0.0.1:9091', project: 'shop', dir: DIR })['provisioning/datasources/devloop.yaml']);
    assert.equal(without.apiVersion, 1);
    assert.deepEqual(without.datasources.map((d: { uid: string }) => d.uid), [PROMETHEUS_UID]);
    assert.equal(without.datasources[0].url, 'http://127.0.0.1:9091');
    assert.equal(without.datasources[0].type, 'prometheus');
    assert.equal(without.datasources[0].isDefault, true);

    const withJaeger = parse(grafanaProvisioning({ prometheusUrl: 'http://127.0.0.1:9091', jaegerUrl: 'http://127.0.0.1:16686', project: 'shop', dir: DIR })['provisioning/datasources/devloop.yaml']);
    const jaeger = withJaeger.datasources.find((d: { uid: string }) => d.uid === JAEGER_UID);
    assert.equal(jaeger.type, 'jaeger');
    assert.equal(jaeger.url, 'http://127.0.0.1:16686');
    assert.equal(withJaeger.datasources.filter((d: { isDefault?: boolean }) => d.isDefault).length, 1, 'one default datasource');
  });

  it('points the dashboard provider at the absolute dashboards folder, where the dashboards are written', () => {
    const files = grafanaProvisioning({ prometheusUrl: 'http://127.0.0.1:9090', project: 'shop', dir: DIR });
    const providers = parse(files['provisioning/dashboards/devloop.yaml']).providers;
    assert.equal(providers.length, 1);
    assert.equal(providers[0].type, 'file');
    assert.equal(providers[0].options.path, `${DIR}/dashboards`);
    assert.deepEqual(Object.keys(files).filter((f) => f.endsWith('.json')).sort(), ['dashboards/devloop-autopilot.json', 'dashboards/devloop-cloud-run.json', 'dashboards/devloop-services.json']);
  });

  it('dashboards parse, have unique uids, fit the 24-column grid, and every panel, query and variable uses a provisioned datasource', () => {
    const files = grafanaProvisioning({ prometheusUrl: 'http://127.0.0.1:9090', project: 'shop', dir: DIR });
    const uids = new Set(parse(files['provisioning/datasources/devloop.yaml']).datasources.map((d: { uid: string }) => d.uid));
    const seen = new Set<string>();
    for (const [file, text] of Object.entries(files)) {
      if (!file.endsWith('.json')) continue;
      const d = JSON.parse(text) as Dashboard;
      assert.ok(!seen.has(d.uid), `${file}: uid ${d.uid} repeats`);
      seen.add(d.uid);
      assert.equal(d.schemaVersion, 39);
      assert.match(d.title, /\(shop\)$/);
      assert.ok(d.panels.length >= 5, `${file} has ${d.panels.length} panels`);
      assert.equal(new Set(d.panels.map((p) => p.id)).size, d.panels.length, `${file}: panel ids repeat`);
      for (const p of d.panels) {
        assert.ok(['timeseries', 'stat'].includes(p.type), p.type);
        assert.ok(p.gridPos.x + p.gridPos.w <= 24, `${file} panel ${p.id} overflows the grid`);
        assert.ok(uids.has(p.datasource.uid), `${file} panel ${p.id}: datasource ${p.datasource.uid}`);
        assert.ok(p.targets.length > 0);
        for (const t of p.targets) assert.ok(uids.has(t.datasource.uid), `${file} panel ${p.id}: target datasource ${t.datasource.uid}`);
      }
      for (const v of d.templating.list) assert.ok(uids.has(v.datasource.uid), `${file} variable ${v.name}`);
    }
  });

  it('filters the services and Cloud Run dashboards by $service', () => {
    const files = grafanaProvisioning({ prometheusUrl: 'http://127.0.0.1:9090', project: 'shop', dir: DIR });
    for (const f of ['dashboards/devloop-services.json', 'dashboards/devloop-cloud-run.json']) {
      const d = JSON.parse(files[f]) as Dashboard;
      assert.ok(d.templating.list.some((v) => v.name === 'service'), f);
      for (const p of d.panels) for (const t of p.targets) assert.match(t.expr, /\$service/, `${f} panel ${p.id}: ${t.expr}`);
    }
  });

  it('dashboardQueries lists the panels\' expressions and the variables\' metrics', () => {
    const queries = dashboardQueries(grafanaProvisioning({ prometheusUrl: 'http://127.0.0.1:9090', project: 'shop', dir: DIR }));
    assert.ok(queries.includes('devloop_service_up'), 'the $service variable\'s metric');
    assert.ok(queries.includes('devloop_cloudrun_instances{service=~"$service"}'), 'a variable with a selector');
    assert.ok(queries.some((q) => q.includes('devloop_autopilot_cost_usd_per_hour')));
    assert.ok(queries.length > 20, `${queries.length} queries`);
  });
});

describe('metricNamesOf', () => {
  const cases: [string, string[]][] = [
    ['devloop_service_up', ['devloop_service_up']],
    ['devloop_service_up{service=~"$service"} == 0', ['devloop_service_up']],
    ['histogram_quantile(0.99, sum by (service, le) (rate(devloop_cloudrun_request_latency_seconds_bucket{service=~"a|b", le!="+Inf"}[$__rate_interval])))', ['devloop_cloudrun_request_latency_seconds_bucket']],
    ['sum(rate(x_total[5m] offset 1h)) by (job) / on (job) group_left(instance) up', ['x_total', 'up']],
    ['service:devloop_cloudrun_requests_5xx:ratio_rate1m > 0.05 and on (service) service:devloop_cloudrun_requests:rate1m > 0', ['service:devloop_cloudrun_requests_5xx:ratio_rate1m', 'service:devloop_cloudrun_requests:rate1m']],
    ['label_replace(foo{a="sum(by)"}, "dst", "$1", "src", "(.*)") * 1e3', ['foo']],
    ['max without (instance) (bar) or vector(0) unless baz[1m:30s]', ['bar', 'baz']],
    ['count_values("version", build_info) > bool 1', ['build_info']],
    ['{__name__="by_name_only"}', []],
  ];
  for (const [expr, names] of cases) {
    it(expr, () => assert.deepEqual(metricNamesOf(expr).sort(), [...names].sort()));
  }
});
