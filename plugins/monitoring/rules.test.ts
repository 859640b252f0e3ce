import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { DevloopError } from '../../core/errors.js';
import { promtool } from '../../test/promtool.js';
import { ALERTING_GROUP, devloopRuleGroups, gmpRules, prometheusRuleCrd, prometheusRuleFile, RECORDING_GROUP, SERIES } from './rules.js';

const alerts = (t = {}) => new Map(devloopRuleGroups(t).find((g) => g.name === ALERTING_GROUP)!.rules.map((r) => [r.alert!, r]));
const recorded = () => devloopRuleGroups().find((g) => g.name === RECORDING_GROUP)!.rules.map((r) => r.record);
const ruleCount = () => devloopRuleGroups().reduce((n, g) => n + g.rules.length, 0);

describe('devloopRuleGroups', () => {
  it('has a recording group and an alerting group with the five alerts', () => {
    const groups = devloopRuleGroups();
    assert.deepEqual(groups.map((g) => g.name), [RECORDING_GROUP, ALERTING_GROUP]);
    assert.ok(groups[0].rules.every((r) => r.record && !r.alert), 'the recording group only records');
    for (const name of ['DevloopHighErrorRate', 'DevloopHighLatencyP99', 'DevloopColdStartRatio', 'DevloopCrashLooping', 'DevloopServiceDown']) assert.ok(alerts().has(name), name);
    for (const s of [SERIES.requestRate, SERIES.errorRatio, SERIES.latencyP99, SERIES.coldStartRatio]) assert.ok(recorded().includes(s), s);
  });

  it('gives every alert a severity, a summary and a description naming the service and the value, and for: 30s', () => {
    for (const [name, r] of alerts()) {
      assert.match(r.labels?.severity ?? '', /^(critical|warning)$/, name);
      assert.match(r.annotations?.summary ?? '', /\{\{ \$labels\.service \}\}/, name);
      assert.match(r.annotations?.description ?? '', /\{\{ \$labels\.service \}\}/, name);
      assert.match(`${r.annotations?.summary} ${r.annotations?.description}`, /\{\{ \$value/, name);
      assert.equal(r.for, '30s', name);
    }
  });

  it('puts the thresholds into the expressions (latency in seconds)', () => {
    const a = alerts({ errorRatio: 0.1, p99LatencyMs: 250, coldStartRatio: 0.5, crashLoopRestarts: 5, for: '2m' });
    assert.equal(a.get('DevloopHighErrorRate')!.expr, `${SERIES.errorRatio} > 0.1`);
    assert.match(a.get('DevloopHighLatencyP99')!.expr, new RegExp(`^${SERIES.latencyP99} > 0\\.25 `));
    assert.equal(a.get('DevloopColdStartRatio')!.expr, `${SERIES.coldStartRatio} > 0.5`);
    assert.equal(a.get('DevloopCrashLooping')!.expr, `${SERIES.restarts} >= 5`);
    assert.equal(a.get('DevloopServiceDown')!.expr, 'devloop_service_up == 0');
    assert.ok([...a.values()].every((r) => r.for === '2m'));
    assert.match(a.get('DevloopHighErrorRate')!.annotations!.description, /threshold 10%/);
  });

  it('guards every ratio with a denominator > 0 so an idle service records nothing', () => {
    const byName = new Map(devloopRuleGroups()[0].rules.map((r) => [r.record, r.expr]));
    assert.match(byName.get(SERIES.errorRatio)!, /\/ \(service:devloop_cloudrun_requests:rate1m > 0\)$/);
    assert.match(byName.get(SERIES.coldStartRatio)!, /\/ \(sum by \(service\) \(rate\(devloop_cloudrun_requests_total\[5m\]\)\) > 0\)$/);
    assert.match(byName.get(SERIES.latencyP99)!, /^histogram_quantile\(0\.99, sum by \(service, le\) \(rate\(devloop_cloudrun_request_latency_seconds_bucket\[1m\]\)\)\)$/);
  });

  it('refuses thresholds Prometheus could not use, naming the Devfile field', () => {
    const cases: [object, RegExp][] = [
      [{ errorRatio: 5 }, /monitoring\.alerts\.errorRatio: 5 is not a ratio/],
      [{ coldStartRatio: 0 }, /monitoring\.alerts\.coldStartRatio/],
      [{ p99LatencyMs: -1 }, /monitoring\.alerts\.p99LatencyMs/],
      [{ crashLoopRestarts: 2.5 }, /monitoring\.alerts\.crashLoopRestarts/],
      [{ for: '30 seconds' }, /monitoring\.alerts\.for: "30 seconds" is not a Prometheus duration/],
    ];
    for (const [t, msg] of cases) {
      assert.throws(() => devloopRuleGroups(t), (err: unknown) => err instanceof DevloopError && err.code === 'BAD_ALERT_THRESHOLD' && msg.test(err.message) && !!err.hint);
    }
  });
});

describe('rule file, PrometheusRule and GMP Rules', () => {
  const groups = devloopRuleGroups();

  it('prometheusRuleFile is a groups: document with the same groups', () => {
    assert.deepEqual(parse(prometheusRuleFile(groups)), { groups });
  });

  it('prometheusRuleCrd is a monitoring.coreos.com/v1 PrometheusRule carrying the groups', () => {
    const doc = parse(prometheusRuleCrd(groups, { name: 'shop-devloop', namespace: 'monitoring', labels: { release: 'kube-prometheus-stack' } }));
    assert.equal(doc.apiVersion, 'monitoring.coreos.com/v1');
    assert.equal(doc.kind, 'PrometheusRule');
    assert.deepEqual(doc.metadata, { name: 'shop-devloop', namespace: 'monitoring', labels: { release: 'kube-prometheus-stack' } });
    assert.deepEqual(doc.spec, { groups });
    assert.deepEqual(parse(prometheusRuleCrd(groups, { name: 'x' })).metadata, { name: 'x' }, 'no empty namespace or labels');
  });

  it('gmpRules is a namespaced monitoring.googleapis.com/v1 Rules carrying the groups', () => {
    const doc = parse(gmpRules(groups, { name: 'shop-devloop', namespace: 'shop' }));
    assert.equal(doc.apiVersion, 'monitoring.googleapis.com/v1');
    assert.equal(doc.kind, 'Rules');
    assert.deepEqual(doc.metadata, { name: 'shop-devloop', namespace: 'shop' });
    assert.deepEqual(doc.spec, { groups });
  });

  it('refuses names Kubernetes would reject', () => {
    assert.throws(() => prometheusRuleCrd(groups, { name: 'My_Project-devloop' }), (e: unknown) => e instanceof DevloopError && e.code === 'BAD_K8S_NAME');
    assert.throws(() => gmpRules(groups, { name: 'ok', namespace: 'a.b' }), (e: unknown) => e instanceof DevloopError && /namespace/.test(e.message));
  });
});

describe('the rules in the real promtool', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'devloop-rules-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const ruleFile = path.join(dir, 'devloop-rules.yaml');
  writeFileSync(ruleFile, prometheusRuleFile(devloopRuleGroups()));

  it('promtool check rules accepts the file and counts every rule', () => {
    const r = promtool(['check', 'rules', ruleFile]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, new RegExp(`SUCCESS: ${ruleCount()} rules found`));
    assert.equal(ruleCount(), 17);
  });

  it('promtool test rules: 50% 5xx fires DevloopHighErrorRate, a healthy or idle service does not, up == 0 fires DevloopServiceDown', () => {
    const req = (service: string, codeClass: string, code: string, values: string) =>
      ({ series: `devloop_cloudrun_requests_total{service="${service}",revision="${service}-00001",code_class="${codeClass}",code="${code}"}`, values });
    const errorAlert = (service: string, pct: string): { exp_labels: Record<string, string>; exp_annotations: Record<string, string> } => ({
      exp_labels: { severity: 'critical', service },
      exp_annotations: {
        summary: `${service}: ${pct} of requests fail with 5xx`,
        description: `Service ${service} answered ${pct} of its requests with a 5xx over the last minute (threshold 5%). Look at its logs: devloop logs ${service}`,
      },
    });
    const tests = {
      rule_files: [path.basename(ruleFile)],
      evaluation_interval: '15s',
      tests: [{
        interval: '15s',
        input_series: [
          req('bad', '2xx', '200', '0+30x20'),
          req('bad', '5xx', '500', '0+30x20'),
          req('good', '2xx', '200', '0+60x20'),
          req('good', '4xx', '404', '0+1x20'),
          req('idle', '2xx', '200', '5x20'),
          req('idle', '5xx', '503', '5x20'),
          { series: 'devloop_service_up{service="good"}', values: '1x20' },
          { series: 'devloop_service_up{service="crashed"}', values: '1 1 0x18' },
        ],
        promql_expr_test: [
          { expr: `${SERIES.errorRatio}{service="bad"}`, eval_time: '3m', exp_samples: [{ labels: `${SERIES.errorRatio}{service="bad"}`, value: 0.5 }] },
          { expr: `${SERIES.errorRatio}{service="good"}`, eval_time: '3m', exp_samples: [{ labels: `${SERIES.errorRatio}{service="good"}`, value: 0 }] },
          { expr: `${SERIES.errorRatio}{service="idle"}`, eval_time: '3m', exp_samples: [] },
        ],
        alert_rule_test: [
          { eval_time: '3m', alertname: 'DevloopHighErrorRate', exp_alerts: [errorAlert('bad', '50%')] },
          // The ratio exists from 15s on (two samples in the window); before `for: 30s` has passed
          // the alert is only pending.
          { eval_time: '30s', alertname: 'DevloopHighErrorRate', exp_alerts: [] },
          { eval_time: '3m', alertname: 'DevloopServiceDown', exp_alerts: [{
            exp_labels: { severity: 'critical', service: 'crashed' },
            exp_annotations: {
              summary: 'crashed is down',
              description: 'Service crashed is not deployed and running (devloop_service_up is 0). devloop status crashed says what it waits on.',
            },
          }] },
          { eval_time: '3m', alertname: 'DevloopHighLatencyP99', exp_alerts: [] },
        ],
      }],
    };
    const testFile = path.join(dir, 'devloop-rules.test.yaml');
    writeFileSync(testFile, stringify(tests, { lineWidth: 0 }));
    const r = promtool(['test', 'rules', testFile], dir);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /SUCCESS/);
  });

  it('promtool test rules fails when the expected alert is wrong (the check above can fail)', () => {
    const testFile = path.join(dir, 'wrong.test.yaml');
    writeFileSync(testFile, stringify({
      rule_files: [path.basename(ruleFile)],
      tests: [{ interval: '15s', input_series: [{ series: 'devloop_service_up{service="fine"}', values: '1x20' }],
        alert_rule_test: [{ eval_time: '3m', alertname: 'DevloopServiceDown', exp_alerts: [{ exp_labels: { severity: 'critical', service: 'fine' } }] }] }],
    }));
    const r = promtool(['test', 'rules', testFile], dir);
    assert.notEqual(r.code, 0, r.out);
    assert.match(r.out, /FAILED:\s+alertname: DevloopServiceDown, time: 3m/);
    assert.match(r.out, /got:\[\]/, 'a running service does not fire DevloopServiceDown');
  });
});

