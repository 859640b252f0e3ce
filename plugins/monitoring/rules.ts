/**
 * Recording and alerting rules for the series devloop exposes: the Cloud Run simulator's
 * (`plugins/cloud-run/metrics.ts`, `devloop_cloudrun_*`) and devloop's own registry
 * (`devloop_service_*`, `devloop_failures_total`, the build/deploy/reload histograms). Pure: the
 * same groups become a plain rule file (what a local Prometheus and `promtool` read), a
 * prometheus-operator `PrometheusRule` and a Google Managed Prometheus `Rules` object, so the
 * alerts a developer sees locally are the ones that would page in the cluster.
 *
 * Names follow Prometheus' `level:metric:operations` convention for recorded series. Every ratio
 * divides by a denominator filtered with `> 0`, so an idle service records nothing and never
 * alerts; a service with traffic but no 5xx records 0 rather than nothing.
 */
import { stringify } from 'yaml';
import { DevloopError } from '../../core/errors.js';

export interface AlertThresholds {
  /** Share of requests answered 5xx above which DevloopHighErrorRate fires. Default 0.05. */
  errorRatio?: number;
  /** p99 request latency, in ms, above which DevloopHighLatencyP99 fires. Default 1000. */
  p99LatencyMs?: number;
  /** Cold starts per request above which DevloopColdStartRatio fires. Default 0.2. */
  coldStartRatio?: number;
  /** Restarts within 10 minutes at which DevloopCrashLooping fires. Default 3. */
  crashLoopRestarts?: number;
  /** How long a condition must hold before an alert fires (a Prometheus duration). Default '30s': local loops are short. */
  for?: string;
}

export interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface RuleGroup {
  name: string;
  interval?: string;
  rules: Rule[];
}

export const DEFAULT_THRESHOLDS: Required<AlertThresholds> = { errorRatio: 0.05, p99LatencyMs: 1000, coldStartRatio: 0.2, crashLoopRestarts: 3, for: '30s' };

export const RECORDING_GROUP = 'devloop.recording';
export const ALERTING_GROUP = 'devloop.alerts';

// Recorded series the alerts read; exported so tests and dashboards name them once.
export const SERIES = {
  requestRate: 'service:devloop_cloudrun_requests:rate1m',
  errorRate: 'service:devloop_cloudrun_requests_5xx:rate1m',
  errorRatio: 'service:devloop_cloudrun_requests_5xx:ratio_rate1m',
  latencyP99: 'service:devloop_cloudrun_request_latency_seconds:p99_rate1m',
  coldStartRatio: 'service:devloop_cloudrun_cold_starts_per_request:ratio_rate5m',
  restarts: 'service:devloop_service_restarts:increase10m',
  failures: 'service_phase:devloop_failures:increase5m',
  reloadP90: 'service:devloop_reload_seconds:p90_rate5m',
  buildP90: 'service:devloop_build_duration_seconds:p90_rate5m',
  deployP90: 'service:devloop_deploy_duration_seconds:p90_rate5m',
  cpu: 'service:devloop_service_cpu_seconds:rate1m',
} as const;

/** The recording group and the alerting group, with `t` over the defaults. */
export function devloopRuleGroups(t: AlertThresholds = {}): RuleGroup[] {
  const th = checkThresholds(t);
  const req = 'devloop_cloudrun_requests_total';
  const p = (q: number, metric: string, window: string) => `histogram_quantile(${q}, sum by (service, le) (rate(${metric}_bucket[${window}])))`;
  const recording: Rule[] = [
    { record: SERIES.requestRate, expr: `sum by (service) (rate(${req}[1m]))` },
    // `or ... * 0`: a service with traffic and no 5xx series yet records 0, not nothing.
    { record: SERIES.errorRate, expr: `sum by (service) (rate(${req}{code_class="5xx"}[1m])) or (${SERIES.requestRate} * 0)` },
    { record: SERIES.errorRatio, expr: `${SERIES.errorRate} / (${SERIES.requestRate} > 0)` },
    { record: SERIES.latencyP99, expr: p(0.99, 'devloop_cloudrun_request_latency_seconds', '1m') },
    // Cold starts per request over 5m: scale-from-zero is bursty, a 1m window would flap.
    { record: SERIES.coldStartRatio, expr: `sum by (service) (rate(devloop_cloudrun_cold_starts_total[5m])) / (sum by (service) (rate(${req}[5m])) > 0)` },
    { record: SERIES.restarts, expr: 'sum by (service) (increase(devloop_service_restarts_total[10m]))' },
    { record: SERIES.failures, expr: 'sum by (service, phase) (increase(devloop_failures_total[5m]))' },
    { record: SERIES.reloadP90, expr: p(0.9, 'devloop_reload_seconds', '5m') },
    { record: SERIES.buildP90, expr: p(0.9, 'devloop_build_duration_seconds', '5m') },
    { record: SERIES.deployP90, expr: p(0.9, 'devloop_deploy_duration_seconds', '5m') },
    { record: SERIES.cpu, expr: 'sum by (service) (rate(devloop_service_cpu_seconds_total[1m]))' },
  ];
  const alert = (name: string, expr: string, severity: string, summary: string, description: string): Rule =>
    ({ alert: name, expr, for: th.for, labels: { severity }, annotations: { summary, description } });
  const svc = '{{ $labels.service }}';
  const alerting: Rule[] = [
    alert('DevloopHighErrorRate', `${SERIES.errorRatio} > ${th.errorRatio}`, 'critical',
      `${svc}: {{ $value | humanizePercentage }} of requests fail with 5xx`,
      `Service ${svc} answered {{ $value | humanizePercentage }} of its requests with a 5xx over the last minute (threshold ${pct(th.errorRatio)}). Look at its logs: devloop logs ${svc}`),
    alert('DevloopHighLatencyP99', `${SERIES.latencyP99} > ${th.p99LatencyMs / 1000} and on (service) ${SERIES.requestRate} > 0`, 'warning',
      `${svc}: p99 latency {{ $value | humanizeDuration }}`,
      `The 99th percentile of request latency of ${svc} is {{ $value | humanizeDuration }} over the last minute (threshold ${th.p99LatencyMs} ms), cold starts and queueing included.`),
    alert('DevloopColdStartRatio', `${SERIES.coldStartRatio} > ${th.coldStartRatio}`, 'warning',
      `${svc}: {{ $value | humanizePercentage }} of requests cause a cold start`,
      `Service ${svc} started {{ $value | humanizePercentage }} instances per request over the last 5 minutes (threshold ${pct(th.coldStartRatio)}). Consider minScale >= 1 or a longer idle timeout.`),
    alert('DevloopCrashLooping', `${SERIES.restarts} >= ${th.crashLoopRestarts}`, 'critical',
      `${svc} is crash-looping: {{ $value | printf "%.0f" }} restarts in 10m`,
      `Service ${svc} restarted {{ $value | printf "%.0f" }} times in the last 10 minutes (threshold ${th.crashLoopRestarts}). Its last logs say why: devloop logs ${svc}`),
    alert('DevloopServiceDown', 'devloop_service_up == 0', 'critical',
      `${svc} is down`,
      `Service ${svc} is not deployed and running (devloop_service_up is {{ $value }}). devloop status ${svc} says what it waits on.`),
    alert('DevloopServiceUnhealthy', 'devloop_service_healthy == 0 and on (service) devloop_service_up == 1', 'warning',
      `${svc} runs but fails its health check`,
      `Service ${svc} is running but its health check fails (devloop_service_healthy is {{ $value }}).`),
  ];
  return [{ name: RECORDING_GROUP, rules: recording }, { name: ALERTING_GROUP, rules: alerting }];
}

/** A Prometheus rule file (`rule_files:`), as `promtool check rules` reads it. */
export function prometheusRuleFile(groups: RuleGroup[]): string {
  return `# Generated by devloop (plugins/monitoring/rules.ts); edits are overwritten.\n${yaml({ groups: groups.map(clean) })}`;
}

/** A prometheus-operator PrometheusRule; `labels` must match the Prometheus' `ruleSelector`. */
export function prometheusRuleCrd(groups: RuleGroup[], o: { name: string; namespace?: string; labels?: Record<string, string> }): string {
  checkName(o.name, 'PrometheusRule');
  const metadata = { name: o.name, ...(o.namespace ? { namespace: o.namespace } : {}), ...(o.labels && Object.keys(o.labels).length ? { labels: o.labels } : {}) };
  return yaml({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', metadata, spec: { groups: groups.map(clean) } });
}

/**
 * Google Managed Prometheus' namespaced `Rules`: `.spec.groups` is the upstream rule_group array;
 * the managed evaluator scopes its queries to the object's namespace (project, location, cluster).
 */
export function gmpRules(groups: RuleGroup[], o: { name: string; namespace: string }): string {
  checkName(o.name, 'Rules');
  checkName(o.namespace, 'namespace');
  return yaml({ apiVersion: 'monitoring.googleapis.com/v1', kind: 'Rules', metadata: { name: o.name, namespace: o.namespace }, spec: { groups: groups.map(clean) } });
}

// ---------------------------------------------------------------------------------------------

const yaml = (doc: unknown) => stringify(doc, { lineWidth: 0 });

/** Fields in the order Prometheus documents them, without empty ones. */
function clean(g: RuleGroup): RuleGroup {
  return {
    name: g.name,
    ...(g.interval ? { interval: g.interval } : {}),
    rules: g.rules.map((r) => ({
      ...(r.record ? { record: r.record } : {}),
      ...(r.alert ? { alert: r.alert } : {}),
      expr: r.expr,
      ...(r.for ? { for: r.for } : {}),
      ...(r.labels && Object.keys(r.labels).length ? { labels: r.labels } : {}),
      ...(r.annotations && Object.keys(r.annotations).length ? { annotations: r.annotations } : {}),
    })),
  };
}

const pct = (ratio: number) => `${+(ratio * 100).toFixed(4)}%`;

const DURATION = /^(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$/;

function checkThresholds(t: AlertThresholds): Required<AlertThresholds> {
  const th = { ...DEFAULT_THRESHOLDS, ...Object.fromEntries(Object.entries(t).filter(([, v]) => v !== undefined)) } as Required<AlertThresholds>;
  const bad = (field: string, value: unknown, want: string) =>
    new DevloopError(`monitoring.alerts.${field}: ${JSON.stringify(value)} is not ${want}`, { code: 'BAD_ALERT_THRESHOLD', exitCode: 2, hint: `set monitoring.alerts.${field} in the Devfile to ${want}, or remove it for the default (${DEFAULT_THRESHOLDS[field as keyof AlertThresholds]})` });
  const ratio = (f: 'errorRatio' | 'coldStartRatio') => { if (!(typeof th[f] === 'number' && th[f] > 0 && th[f] <= 1)) throw bad(f, th[f], 'a ratio in (0, 1], e.g. 0.05 for 5%'); };
  ratio('errorRatio');
  ratio('coldStartRatio');
  if (!(typeof th.p99LatencyMs === 'number' && Number.isFinite(th.p99LatencyMs) && th.p99LatencyMs > 0)) throw bad('p99LatencyMs', th.p99LatencyMs, 'a positive number of milliseconds');
  if (!(Number.isInteger(th.crashLoopRestarts) && th.crashLoopRestarts >= 1)) throw bad('crashLoopRestarts', th.crashLoopRestarts, 'a whole number of restarts >= 1');
  if (typeof th.for !== 'string' || th.for === '' || !DURATION.test(th.for)) throw bad('for', th.for, "a Prometheus duration such as '30s', '1m' or '1h30m'");
  return th;
}

/** Kubernetes object names and namespaces: DNS-1123 (subdomain for names, label for namespaces). */
function checkName(name: string, what: string): void {
  const label = what === 'namespace';
  const ok = label ? /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(name) : name.length <= 253 && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name);
  if (!ok) {
    throw new DevloopError(`${what} name "${name}" is not a valid Kubernetes ${label ? 'namespace (DNS-1123 label)' : 'object name (DNS-1123 subdomain)'}`,
      { code: 'BAD_K8S_NAME', exitCode: 2, hint: 'use lowercase letters, digits and "-", starting and ending with a letter or digit' });
  }
}
