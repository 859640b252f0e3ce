/**
 * The files devloop writes for the Prometheus and Alertmanager it starts (pure: settings in,
 * YAML out). Prometheus scrapes devloop's `/metrics` (job `devloop`) and the services' own
 * endpoints from a file_sd targets file devloop rewrites as services come and go (job
 * `services`), so adding a service needs no reload. Alerts go to the Alertmanager, which posts
 * them back to devloop's webhook so a firing alert reaches the TUI and `devloop status` at once.
 */
import { stringify } from 'yaml';

export interface PrometheusConfigInput {
  /** `host:port` of devloop's `/metrics`. */
  devloop: string;
  scrapeInterval: string;
  ruleFiles: string[];
  /** The file_sd JSON with the services' targets. */
  targetsFile: string;
  /** `host:port` of the Alertmanager, when one runs. */
  alertmanager?: string;
  project: string;
}

export function prometheusConfig(i: PrometheusConfigInput): string {
  return stringify({
    global: { scrape_interval: i.scrapeInterval, evaluation_interval: i.scrapeInterval, external_labels: { devloop_project: i.project } },
    rule_files: i.ruleFiles,
    ...(i.alertmanager ? { alerting: { alertmanagers: [{ static_configs: [{ targets: [i.alertmanager] }] }] } } : {}),
    scrape_configs: [
      { job_name: 'devloop', static_configs: [{ targets: [i.devloop] }] },
      { job_name: 'services', file_sd_configs: [{ files: [i.targetsFile], refresh_interval: '5s' }] },
    ],
  });
}

export interface ServiceTarget {
  service: string;
  /** `host:port` */
  address: string;
  path: string;
}

/** The file_sd JSON Prometheus reads the services' endpoints from. */
export function targetsFile(targets: ServiceTarget[]): string {
  return `${JSON.stringify(targets.map((t) => ({ targets: [t.address], labels: { service: t.service, __metrics_path__: t.path } })), null, 2)}\n`;
}

/**
 * Alertmanager: one route to devloop's webhook, grouped per alert and service, sent within a
 * second (the defaults wait 30 s: right for paging people, slow for an inner loop), resolved
 * alerts included so devloop can clear them.
 */
export function alertmanagerConfig(webhookUrl: string): string {
  return stringify({
    route: { receiver: 'devloop', group_by: ['alertname', 'service'], group_wait: '1s', group_interval: '5s', repeat_interval: '1h' },
    receivers: [{ name: 'devloop', webhook_configs: [{ url: webhookUrl, send_resolved: true }] }],
  });
}
