/**
 * What `devloop:monitoring` runs for one session: the session's `/metrics` (devloop's registry,
 * the services' CPU and memory, every plugin's MetricsSource), and when the Devfile asks, a
 * Prometheus, an Alertmanager and a Jaeger as local binaries, configured here, their data under
 * `.devloop/monitoring/`. With Jaeger, devloop's own spans (each pipeline run, each request
 * through a Cloud Run front end) go to it through `engine.tracing.sink`. Nothing in here may take devloop or a service down: a part that cannot
 * start is one warning naming how to get it, and the rest runs.
 */
import { execFile } from 'node:child_process';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import type { MonitoringConfig, PrometheusSettings } from '../../core/devfile/types.js';
import type { Engine } from '../../core/engine/engine.js';
import type { SpanRecord, SpanSink } from '../../core/engine/tracing.js';
import type { Action } from '../../core/store/actions.js';
import type { EngineState } from '../../core/store/state.js';
import { serveMetricsEndpoint, type MetricsEndpoint } from '../shared/metrics-endpoint.js';
import { findFreePort, isPortFree, nextFreePort, portTakenError } from '../shared/ports.js';
import { AlertBook, describeAlert } from './alerts.js';
import { alertmanagerConfig, prometheusConfig, targetsFile } from './config.js';
import { DevloopMetrics, type ServiceUsage } from './devloop-metrics.js';
import { findBinary, startLocalPart, type LocalPart } from './local-binary.js';
import { PLUGIN } from './id.js';
import { jaegerConfig } from './jaeger-config.js';
import { devloopRuleGroups, prometheusRuleFile } from './rules.js';
import { addressOf, probeMetrics, TargetSet } from './targets.js';
import type { SpanExport } from './tracing.js';
import { updateSpans } from './update-spans.js';

const run = promisify(execFile);

const DEFAULT_PORTS = { metrics: 9464, prometheus: 9090, alertmanager: 9093, jaeger: 16686, otlp: 4318 } as const;
/** Debian names Alertmanager's binary prometheus-alertmanager; the upstream release, alertmanager. */
const BINARIES = { prometheus: ['prometheus'], alertmanager: ['prometheus-alertmanager', 'alertmanager'], promtool: ['promtool'], jaeger: ['jaeger'] };
/** Spans kept while Jaeger starts (the first pipeline runs and requests), sent once it is ready. */
const EARLY_SPANS_KEPT = 2_000;

export interface MonitoringUrls {
  metrics?: string;
  prometheus?: string;
  alertmanager?: string;
  /** Jaeger's UI and query API. */
  jaeger?: string;
  /** Jaeger's OTLP/HTTP receiver (`OTEL_EXPORTER_OTLP_ENDPOINT` for a service's SDK). */
  otlp?: string;
  grafana?: string;
}

type Part = 'metrics' | 'prometheus' | 'alertmanager' | 'jaeger';

/** `true`/`{...}` is on, `false`/absent is off; `metrics` is on unless `false`. */
function partOn(config: MonitoringConfig, part: Part | 'grafana' | 'jaeger'): boolean {
  const v = config[part];
  return part === 'metrics' ? v !== false : v !== undefined && v !== false;
}

function portOf(v: unknown): number | undefined {
  return v && typeof v === 'object' && typeof (v as { port?: unknown }).port === 'number' ? (v as { port: number }).port : undefined;
}

export class MonitoringRuntime {
  readonly metrics = new DevloopMetrics();
  private readonly alerts = new AlertBook();
  private readonly targets = new TargetSet();
  private readonly dir: string;
  private endpoint?: MetricsEndpoint;
  private readonly parts: LocalPart[] = [];
  private readonly urls: MonitoringUrls = {};
  private readonly notes: string[] = [];
  private readonly told = new Set<string>();
  private readonly probing = new Set<string>();
  private unsubscribe?: () => void;
  private stopped = false;

  private readonly binaries: typeof BINARIES;

  constructor(private readonly engine: Engine, private readonly config: MonitoringConfig, binaries: Partial<typeof BINARIES> = {}) {
    this.binaries = { ...BINARIES, ...binaries };
    this.dir = path.join(engine.root, '.devloop', 'monitoring');
  }

  get metricsUrl(): string | undefined { return this.endpoint?.url; }

  async start(): Promise<void> {
    this.unsubscribe = this.engine.subscribe((state, action) => this.onAction(state, action));
    // Series of the services already registered (the Devfile loaded before the plugin started).
    const state = this.engine.getState();
    this.metrics.onAction(state, { type: 'config/loaded', file: state.config.file ?? '', services: state.order.map((name) => ({ name, kind: state.services[name].kind, target: state.services[name].target, triggerMode: state.services[name].triggerMode })) });

    // Spans of what happens while Jaeger starts are kept and sent once it runs.
    if (partOn(this.config, 'jaeger')) this.engine.tracing.sink = this.early;
    if (partOn(this.config, 'metrics')) this.endpoint = await this.serve();
    if (this.endpoint) this.urls.metrics = this.endpoint.url;
    // Prometheus takes seconds to be ready: the first build does not wait for it.
    this.starting = this.startParts().catch((err) => this.note(`monitoring did not start: ${err instanceof Error ? err.message : String(err)}`));
  }

  private starting?: Promise<void>;

  private async startParts(): Promise<void> {
    const log = this.engine.logger();
    let alertmanager: string | undefined;
    if (partOn(this.config, 'alertmanager')) alertmanager = await this.startAlertmanager();
    if (partOn(this.config, 'prometheus')) await this.startPrometheus(alertmanager);
    if (partOn(this.config, 'jaeger')) await this.startJaeger();
    // After Prometheus (and Jaeger): the datasources point at the URLs they got. Loaded only when asked for.
    if (partOn(this.config, 'grafana')) {
      const { startGrafana } = await import('./grafana-start.js');
      const g = await startGrafana({ root: this.engine.root, settings: this.config.grafana, prometheusUrl: this.urls.prometheus, jaegerUrl: this.urls.jaeger,
        project: this.engine.devfile.name ?? path.basename(this.engine.root), onCrash: (m) => this.crashed('grafana', m) });
      if ('part' in g) { this.parts.push(g.part); this.urls.grafana = g.url; } else this.note(g.note);
    }
    const shown = Object.entries(this.urls).map(([k, v]) => `${k} ${v}`).join(', ');
    if (shown) log.info(`monitoring: ${shown}`);
    this.publish();
  }

  // ---------------------------------------------------------------------------------------------
  // The session's /metrics and the Alertmanager webhook

  private async serve(): Promise<MetricsEndpoint | undefined> {
    const asked = portOf(this.config.metrics);
    const port = await this.port('metrics', asked, 'monitoring.metrics.port');
    if (port === undefined) return undefined;
    try {
      return await serveMetricsEndpoint({
        what: 'The devloop metrics endpoint',
        contentType: this.metrics.registry.contentType,
        port,
        collect: async () => `${await this.metrics.registry.metrics()}${DevloopMetrics.usageText(this.usage())}${await this.engine.metrics.collect()}`,
        handle: (req, res, p) => {
          if (p !== '/alertmanager') return false;
          this.webhook(req, res);
          return true;
        },
      });
    } catch (err) {
      this.note(`the metrics endpoint did not start: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
  }

  private usage(): ServiceUsage[] {
    const out: ServiceUsage[] = [];
    for (const service of this.engine.getState().order) {
      const d = this.engine.deployment(service);
      let u;
      try { u = d?.usage?.(); } catch { u = undefined; }
      if (d && u) out.push({ service, runtime: d.runtime, ...u });
    }
    return out;
  }

  private webhook(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.method !== 'POST') {
      res.writeHead(405, { Allow: 'POST' }).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const change = this.alerts.apply(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        for (const a of change.fired) this.engine.logger(a.service).error(`alert firing: ${describeAlert(a)}`);
        for (const a of change.resolved) this.engine.logger(a.service).info(`alert resolved: ${a.name}`);
        if (change.fired.length || change.resolved.length) this.publish();
        res.writeHead(200).end();
      } catch (err) {
        res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`${err instanceof Error ? err.message : String(err)}\n`);
      }
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Prometheus and Alertmanager

  /**
   * The port for a part: the one asked for (a taken one is a warning and the part does not start:
   * a scraper or bookmark set up for it would reach whatever holds it), else the next free one
   * from the part's usual port.
   */
  private async port(part: Part, asked: number | undefined, field: string): Promise<number | undefined> {
    if (asked !== undefined) {
      if (await isPortFree(asked)) return asked;
      const taken = portTakenError(asked, field, `set ${field} to a free port, or remove it to take the next free one after ${DEFAULT_PORTS[part]}`);
      this.note(`${part} not started: ${taken.message}; ${taken.hint}`);
      return undefined;
    }
    return nextFreePort(DEFAULT_PORTS[part]);
  }

  private async startAlertmanager(): Promise<string | undefined> {
    const binary = findBinary(this.binaries.alertmanager);
    if (!binary) {
      this.note(`alertmanager not started: no ${this.binaries.alertmanager.join(' or ')} binary on PATH; install it (Debian: apt-get install prometheus-alertmanager; or the release from prometheus.io/download), or set monitoring.alertmanager: false`);
      return undefined;
    }
    if (!this.endpoint) {
      this.note('alertmanager not started: it sends alerts to devloop\'s metrics endpoint, which is off (monitoring.metrics: false)');
      return undefined;
    }
    const port = await this.port('alertmanager', portOf(this.config.alertmanager), 'monitoring.alertmanager.port');
    if (port === undefined) return undefined;
    const dir = path.join(this.dir, 'alertmanager');
    await mkdir(path.join(dir, 'data'), { recursive: true });
    const configFile = path.join(dir, 'alertmanager.yml');
    await writeFile(configFile, alertmanagerConfig(this.endpoint.url.replace(/\/metrics$/, '/alertmanager')));
    const address = `127.0.0.1:${port}`;
    try {
      this.parts.push(await startLocalPart({
        name: 'alertmanager', root: this.engine.root, logFile: path.join(this.dir, 'alertmanager.log'),
        // --cluster.listen-address= turns off its gossip (otherwise on 0.0.0.0:9094).
        argv: [binary, `--config.file=${configFile}`, `--storage.path=${path.join(dir, 'data')}`, `--web.listen-address=${address}`, '--cluster.listen-address=', '--data.retention=24h'],
        readyUrl: `http://${address}/-/ready`,
        onCrash: (m) => this.crashed('alertmanager', m),
      }));
    } catch (err) {
      this.note(`alertmanager not started: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
    this.urls.alertmanager = `http://${address}`;
    return address;
  }

  private async startPrometheus(alertmanager: string | undefined): Promise<void> {
    const binary = findBinary(this.binaries.prometheus);
    if (!binary) {
      this.note(`prometheus not started: no ${this.binaries.prometheus.join(' or ')} binary on PATH; install it (Debian: apt-get install prometheus; or the release from prometheus.io/download), or set monitoring.prometheus: false`);
      return;
    }
    const settings: PrometheusSettings = typeof this.config.prometheus === 'object' ? this.config.prometheus : {};
    const port = await this.port('prometheus', settings.port, 'monitoring.prometheus.port');
    if (port === undefined) return;
    const dir = path.join(this.dir, 'prometheus');
    await mkdir(path.join(dir, 'data'), { recursive: true });
    const rulesFile = path.join(dir, 'devloop.rules.yml');
    await writeFile(rulesFile, prometheusRuleFile(devloopRuleGroups(this.config.alerts)));
    const ruleFiles = [rulesFile, ...(await this.userRules(settings.rules ?? []))];
    const targets = path.join(dir, 'targets.json');
    await this.writeTargets(targets);
    const configFile = path.join(dir, 'prometheus.yml');
    await writeFile(configFile, prometheusConfig({
      devloop: this.endpoint ? addressOf(this.endpoint.url)! : '127.0.0.1:1',
      scrapeInterval: settings.scrapeInterval ?? '5s', ruleFiles, targetsFile: targets, alertmanager,
      project: this.engine.devfile.name ?? path.basename(this.engine.root),
    }));
    const address = `127.0.0.1:${port}`;
    try {
      this.parts.push(await startLocalPart({
        name: 'prometheus', root: this.engine.root, logFile: path.join(this.dir, 'prometheus.log'),
        argv: [binary, `--config.file=${configFile}`, `--storage.tsdb.path=${path.join(dir, 'data')}`,
          `--storage.tsdb.retention.time=${settings.retention ?? '2d'}`, `--storage.tsdb.retention.size=${settings.retentionSize ?? '512MB'}`,
          `--web.listen-address=${address}`,
          // An alert firing before the Alertmanager was discovered is sent again after this, not after the default minute.
          '--rules.alert.resend-delay=5s'],
        readyUrl: `http://${address}/-/ready`,
        readyTimeoutMs: 30_000,
        onCrash: (m) => this.crashed('prometheus', m),
      }));
    } catch (err) {
      this.note(`prometheus not started: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    this.targetsPath = targets;
    this.urls.prometheus = `http://${address}`;
    // Services that became healthy while Prometheus started.
    const state = this.engine.getState();
    for (const name of state.order) if (state.services[name].phase === 'healthy') void this.discover(name, state);
  }

  // ---------------------------------------------------------------------------------------------
  // Jaeger and devloop's spans

  private readonly earlySpans: SpanRecord[] = [];
  private readonly early: SpanSink = { span: (r) => { if (this.earlySpans.length < EARLY_SPANS_KEPT) this.earlySpans.push(r); } };
  private spans?: SpanExport;

  /**
   * Jaeger all-in-one (v2) with spans in memory, its OTLP/HTTP receiver for devloop's spans and
   * the services' own, its UI and query API; then the span export (the OpenTelemetry SDK, loaded
   * only now) becomes `engine.tracing.sink`.
   */
  private async startJaeger(): Promise<void> {
    const binary = findBinary(this.binaries.jaeger);
    if (!binary) {
      this.dropSpans();
      this.note(`jaeger not started: no ${this.binaries.jaeger.join(' or ')} binary on PATH; build it with bash test/infra/jaeger.sh (Jaeger v2 from the Go module proxy), or get the release from jaegertracing.io/download, or set monitoring.jaeger: false`);
      return;
    }
    const ui = await this.port('jaeger', portOf(this.config.jaeger), 'monitoring.jaeger.port');
    if (ui === undefined) { this.dropSpans(); return; }
    let otlp = await nextFreePort(DEFAULT_PORTS.otlp);
    if (otlp === ui) otlp = await nextFreePort(ui + 1);
    const [queryGrpc, health] = [await findFreePort(), await findFreePort()];
    const dir = path.join(this.dir, 'jaeger');
    await mkdir(dir, { recursive: true });
    const configFile = path.join(dir, 'jaeger.yaml');
    await writeFile(configFile, jaegerConfig({ otlpHttp: otlp, ui, queryGrpc, health }));
    try {
      this.parts.push(await startLocalPart({
        name: 'jaeger', root: this.engine.root, logFile: path.join(this.dir, 'jaeger.log'),
        argv: [binary, `--config=${configFile}`],
        readyUrl: `http://127.0.0.1:${health}/status`,
        readyTimeoutMs: 30_000,
        onCrash: (m) => { this.dropSpans(); delete this.urls.otlp; this.crashed('jaeger', m); },
      }));
    } catch (err) {
      this.dropSpans();
      this.note(`jaeger not started: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    this.urls.jaeger = `http://127.0.0.1:${ui}`;
    this.urls.otlp = `http://127.0.0.1:${otlp}`;
    const { startSpanExport } = await import('./tracing.js');
    this.spans = startSpanExport(this.urls.otlp, { 'devloop.project': this.engine.devfile.name ?? path.basename(this.engine.root) });
    for (const r of this.earlySpans.splice(0)) this.spans.span(r);
    this.engine.tracing.sink = this.spans;
  }

  /** No Jaeger (any more): nothing collects spans, and nobody keeps gathering them. */
  private dropSpans(): void {
    this.earlySpans.length = 0;
    if (this.engine.tracing.sink === this.early || this.engine.tracing.sink === this.spans) this.engine.tracing.sink = undefined;
    const spans = this.spans;
    this.spans = undefined;
    void spans?.shutdown();
  }

  /** The user's rule files that `promtool check rules` accepts; each one it rejects is a warning with promtool's words. */
  private async userRules(files: string[]): Promise<string[]> {
    if (!files.length) return [];
    const promtool = findBinary(this.binaries.promtool);
    const ok: string[] = [];
    for (const f of files) {
      const file = path.resolve(this.engine.root, f);
      if (!promtool) { ok.push(file); continue; }
      try {
        await run(promtool, ['check', 'rules', file], { timeout: 15_000 });
        ok.push(file);
      } catch (err) {
        const e = err as { stdout?: string; stderr?: string; message: string };
        const why = `${e.stderr ?? ''}${e.stdout ?? ''}`.split('\n').filter((l) => l.trim() && !/^Checking /.test(l)).join('\n  ') || e.message;
        this.note(`monitoring.prometheus.rules: ${f} left out, promtool check rules rejects it:\n  ${why}\n  fix the file (promtool check rules ${f}); devloop's own rules still run`);
      }
    }
    if (!promtool && files.length) this.note('monitoring.prometheus.rules: promtool is not on PATH, so your rule files were not checked first; a broken one stops Prometheus from loading any rules');
    return ok;
  }

  private targetsPath?: string;

  private async writeTargets(file: string | undefined = this.targetsPath): Promise<void> {
    if (!file) return;
    const tmp = `${file}.tmp`;
    await writeFile(tmp, targetsFile(this.targets.list()));
    await rename(tmp, file);
  }

  private crashed(part: string, message: string): void {
    if (this.stopped) return;
    delete this.urls[part as keyof MonitoringUrls];
    this.note(`${part} stopped: ${message}; devloop and the services keep running. Restart devloop up to start it again`);
    this.publish();
  }

  // ---------------------------------------------------------------------------------------------
  // State

  private onAction(state: EngineState, action: Action): void {
    if (action.type === 'session/extra') return;
    this.metrics.onAction(state, action);
    if (action.type === 'update/finished') {
      const sink = this.engine.tracing.sink;
      if (sink && (sink === this.early || sink === this.spans)) for (const r of updateSpans(action.service, action.update)) sink.span(r);
    }
    if (!this.targetsPath) return;
    if (action.type === 'service/health' && action.health === 'healthy') void this.discover(action.service, state);
    if (action.type === 'service/stopped' || action.type === 'service/removed') {
      if (this.targets.delete(action.service)) void this.writeTargets();
    }
  }

  /** Adds the service's `/metrics` to what Prometheus scrapes when it answers in the Prometheus format. */
  private async discover(service: string, state: EngineState): Promise<void> {
    const declared = this.config.scrape?.[service];
    if (declared === false || this.probing.has(service)) return;
    const s = state.services[service];
    const url = s?.endpoints.find((e) => e.url.startsWith('http://') && e.name !== 'inspector')?.url;
    if (!s || !url) {
      if (typeof declared === 'string') this.tellOnce(service, `monitoring.scrape.${service}: the service has no HTTP endpoint to scrape`);
      return;
    }
    if (s.target === 'cloud-run') {
      if (declared !== undefined) this.tellOnce(service, `monitoring.scrape.${service}: not scraped; scraping a Cloud Run service goes through its front end and would count as requests (and keep an instance from scaling to zero). Its request, latency and instance series are in devloop's own /metrics`);
      return;
    }
    const metricsPath = typeof declared === 'string' ? declared : '/metrics';
    const address = addressOf(url);
    if (!address) return;
    this.probing.add(service);
    try {
      const probe = await probeMetrics(`http://${address}${metricsPath}`);
      if (!probe.ok) {
        if (this.targets.delete(service)) await this.writeTargets();
        // Found by looking, not asked for: a service without metrics is normal, so only a
        // declared path or an answer that is almost right is worth a line.
        if (typeof declared === 'string') this.tellOnce(service, `monitoring.scrape.${service}: not scraped: ${probe.why}; fix the path or the endpoint, or set monitoring.scrape.${service}: false`);
        else if (probe.why.includes('not in the Prometheus text format')) this.tellOnce(service, `not scraped by Prometheus: ${probe.why}; set monitoring.scrape.${service} to its metrics path, or false`);
        return;
      }
      if (this.targets.set({ service, address, path: metricsPath })) {
        await this.writeTargets();
        this.engine.logger(service).info(`Prometheus scrapes http://${address}${metricsPath}`);
      }
    } finally {
      this.probing.delete(service);
    }
  }

  private tellOnce(service: string, message: string): void {
    const key = `${service}\0${message}`;
    if (this.told.has(key)) return;
    this.told.add(key);
    this.engine.logger(service).warn(message);
  }

  /** A problem with a monitoring part: a warning once, and kept for `devloop status`. */
  private note(message: string): void {
    if (this.notes.includes(message)) return;
    this.notes.push(message);
    this.engine.logger().warn(`monitoring: ${message}`);
  }

  private publish(): void {
    if (this.stopped) return;
    const alerts = this.alerts.list();
    this.engine.dispatch({ type: 'session/extra', plugin: PLUGIN, data: { urls: { ...this.urls }, notes: [...this.notes], alerts } });
    const byService = new Map<string, string[]>();
    for (const a of alerts) if (a.service) byService.set(a.service, [...(byService.get(a.service) ?? []), describeAlert(a)]);
    for (const name of this.engine.getState().order) {
      const lines = byService.get(name) ?? [];
      const had = (this.engine.getState().services[name]?.extra[PLUGIN]?.alerts as unknown[] | undefined)?.length;
      if (!lines.length && !had) continue;
      this.engine.dispatch({ type: 'service/extra', service: name, plugin: PLUGIN, data: { alerts: lines, details: lines.map((l) => `alert firing: ${l}`) } });
    }
  }

  async shutdown(): Promise<void> {
    await this.starting;
    this.stopped = true;
    this.unsubscribe?.();
    // The last batch of spans goes out while Jaeger still runs.
    if (this.engine.tracing.sink === this.early || this.engine.tracing.sink === this.spans) this.engine.tracing.sink = undefined;
    await this.spans?.shutdown();
    await Promise.all(this.parts.map((p) => p.stop()));
    await this.endpoint?.close();
  }
}
