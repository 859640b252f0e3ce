/**
 * `devloop render --monitoring`: the project's recording and alerting rules
 * (`plugins/monitoring/rules.ts`) as three files, so the alerts tried locally can go to a cluster
 * unchanged: `prometheus-rules.yaml` (a plain rule file: `rule_files:`, `promtool check rules`),
 * `prometheusrule.yaml` (prometheus-operator) and `gmp-rules.yaml` (Google Managed Prometheus).
 * Thresholds come from the Devfile's `monitoring.alerts`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { LoadedDevfile } from '../../core/devfile/load.js';
import { DevloopError } from '../../core/errors.js';
import { devloopRuleGroups, gmpRules, prometheusRuleCrd, prometheusRuleFile, type AlertThresholds } from '../../plugins/monitoring/rules.js';
import { EXIT, type GlobalOptions } from '../shared.js';

export const DEFAULT_OUT = path.join('.devloop', 'monitoring', 'rendered');

export interface RenderedMonitoring {
  dir: string;
  files: { prometheusRules: string; prometheusRule: string; gmpRules: string };
  name: string;
  namespace: string;
}

/** Writes the three files under `out` (relative to the working folder; default `.devloop/monitoring/rendered` in the project). */
export function writeMonitoring(opts: Pick<GlobalOptions, 'cwd'>, loaded: LoadedDevfile, out?: string): RenderedMonitoring {
  const cfg = loaded.config;
  // `alerts` is typed by the monitoring plugin's schema change; read it without relying on that.
  const alerts = (cfg.monitoring as { alerts?: AlertThresholds } | undefined)?.alerts;
  const groups = devloopRuleGroups(alerts ?? {});
  const name = `${k8sName(cfg.name || path.basename(loaded.dir))}-devloop`;
  const namespace = monitoringNamespace(loaded);
  const dir = out ? path.resolve(opts.cwd, out) : path.join(loaded.dir, DEFAULT_OUT);
  const files = {
    prometheusRules: path.join(dir, 'prometheus-rules.yaml'),
    prometheusRule: path.join(dir, 'prometheusrule.yaml'),
    gmpRules: path.join(dir, 'gmp-rules.yaml'),
  };
  const labels = { 'app.kubernetes.io/managed-by': 'devloop', 'app.kubernetes.io/part-of': name.slice(0, -'-devloop'.length) };
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(files.prometheusRules, prometheusRuleFile(groups));
    writeFileSync(files.prometheusRule, prometheusRuleCrd(groups, { name, namespace, labels }));
    writeFileSync(files.gmpRules, gmpRules(groups, { name, namespace }));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new DevloopError(`cannot write the monitoring rules to ${dir}: ${e.code ?? e.message}`, { code: 'RENDER_WRITE_FAILED', cause: err, hint: 'pick a writable folder with --out DIR' });
  }
  return { dir, files, name, namespace };
}

export function renderMonitoring(opts: GlobalOptions, loaded: LoadedDevfile, out?: string): number {
  const r = writeMonitoring(opts, loaded, out);
  process.stdout.write(opts.output === 'json' ? `${JSON.stringify(r, null, 2)}\n` : `${Object.values(r.files).join('\n')}\n`);
  return EXIT.ok;
}

/**
 * GMP `Rules` only see metrics of their own namespace: the namespace the services deploy to.
 * The Devfile's `kubernetes.namespace` if it has one, else the one namespace every service's
 * `k8s.namespace` names, else `default`.
 */
function monitoringNamespace(loaded: LoadedDevfile): string {
  const top = (loaded.config.kubernetes as { namespace?: unknown } | undefined)?.namespace;
  if (typeof top === 'string' && top) return top;
  const named = new Set(Object.values(loaded.config.services).map((s) => s.k8s?.namespace).filter((n): n is string => !!n));
  if (named.size === 1) return [...named][0];
  if (named.size > 1) process.stderr.write(`devloop render --monitoring: services deploy to several namespaces (${[...named].join(', ')}); gmp-rules.yaml uses "default"\n`);
  return 'default';
}

/** A project name made fit for a Kubernetes object name (DNS-1123), leaving room for `-devloop`. */
function k8sName(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-{2,}/g, '-').replace(/^-+|-+$/g, '').slice(0, 200).replace(/-+$/, '') || 'project';
}
