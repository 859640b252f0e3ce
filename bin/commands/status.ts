/**
 * `devloop status`: the live state of a running session, or what the Devfile declares when none runs.
 *
 * A broken Devfile: with no session it is the error (exit 2), as every command that needs the
 * Devfile. With a session running, the session is what status reports, and it is running (the
 * last good version of the Devfile): status shows it, exit 0, and the error the session reports
 * goes to stderr as a warning, located as `devloop up` shows it. Exit 2 there would tell a script
 * asking "is my session up?" that it is not, while it serves; `devloop render` is the check that
 * fails on a broken Devfile.
 */
import type { ErrorJSON } from '../../core/errors.js';
import { findSession, sessionState } from '../../core/session/client.js';
import type { EngineState, ServiceState } from '../../core/store/state.js';
import { EXIT, loadOrSession, type GlobalOptions } from '../shared.js';

export async function status(opts: GlobalOptions): Promise<number> {
  // A running session is shown from its own state without evaluating the Devfile (an endless one
  // must not hold status up; the session reports a broken edit itself, in state.config.error);
  // with none running, the Devfile is loaded and a broken one is an error (exit 2).
  const loaded = await loadOrSession(opts, 'status');
  const session = await findSession(loaded.dir);
  const state = session ? await sessionState(session) : undefined;
  const monitoring = state?.extra?.['devloop:monitoring'] as Monitoring | undefined;
  const dashboardUrl = state?.extra?.['devloop:dashboard']?.url;
  const dashboard = typeof dashboardUrl === 'string' ? dashboardUrl : null;
  if (opts.output === 'json') {
    process.stdout.write(`${JSON.stringify({ devfile: loaded.file, running: !!session, pid: session?.pid, dashboard, services: state ? state.services : Object.fromEntries(Object.keys(loaded.config.services).map((n) => [n, { name: n, phase: 'not running' }])), configError: state?.config.error, ...(monitoring ? { monitoring: { ...Object.fromEntries(MONITORING_PARTS.map((k) => [k, monitoring.urls?.[k] ?? null])), alerts: monitoring.alerts ?? [], notes: monitoring.notes ?? [] } } : {}) }, null, 2)}\n`);
    return EXIT.ok;
  }
  const out: string[] = [];
  out.push(`Devfile: ${loaded.file} (${Object.keys(loaded.config.services).length} services, loaded in ${Math.round(loaded.loadMs)} ms)`);
  out.push(session ? `Session: running, pid ${session.pid}, since ${new Date(session.startedAt).toISOString()}` : 'Session: not running (start one with "devloop up")');
  if (dashboard) out.push(`Dashboard: ${dashboard}`);
  if (monitoring) out.push(...monitoringLines(monitoring));
  out.push('');
  out.push(...table(loaded.config.services, state));
  process.stdout.write(`${out.join('\n')}\n`);
  if (state?.config.error) process.stderr.write(`warning: the Devfile is broken; the session still runs its last good version:\n${located(state.config.error)}\n`);
  return EXIT.ok;
}

/** Every part's URL is listed, null when it does not run, so a script can tell "off" from "not yet asked". */
const MONITORING_PARTS = ['metrics', 'prometheus', 'alertmanager', 'jaeger', 'otlp', 'grafana'] as const;

/** What devloop:monitoring publishes for the session (plugins/monitoring/runtime.ts). */
interface Monitoring {
  urls?: Record<string, string>;
  alerts?: { name: string; service?: string; severity?: string; summary: string; since: string }[];
  notes?: string[];
}

function monitoringLines(m: Monitoring): string[] {
  const out: string[] = [];
  const urls = Object.entries(m.urls ?? {});
  if (urls.length) out.push(`Monitoring: ${urls.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  for (const a of m.alerts ?? []) out.push(`ALERT ${a.name}${a.service ? ` [${a.service}]` : ''}${a.severity ? ` (${a.severity})` : ''} firing since ${a.since}: ${a.summary}`);
  for (const n of m.notes ?? []) out.push(`monitoring: ${n.split('\n')[0]}`);
  return out;
}

/** A Devfile error as the session reported it (JSON), printed as the CLI prints one it meets itself. */
function located(error: ErrorJSON & { issues?: { path: string; message: string; location?: { file: string; line: number; column: number; frame?: string } }[] }): string {
  const lines: string[] = [];
  if (error.issues?.length) {
    for (const issue of error.issues) {
      const where = issue.location ? `${issue.location.file}:${issue.location.line}:${issue.location.column} ` : '';
      lines.push(`${where}${issue.path ? `${issue.path}: ` : ''}${issue.message}`);
      if (issue.location?.frame) lines.push(issue.location.frame);
    }
  } else {
    lines.push(error.message);
  }
  if (error.hint) lines.push(`try: ${error.hint}`);
  return lines.join('\n');
}

function table(services: Record<string, unknown>, state: EngineState | undefined): string[] {
  const rows: string[][] = [['SERVICE', 'PHASE', 'TARGET', 'BUILD', 'IMAGE', 'URL', 'RESTARTS', 'NOTE']];
  const names = state ? state.order : Object.keys(services);
  for (const name of names) {
    const s: ServiceState | undefined = state?.services[name];
    if (!s) { rows.push([name, 'not running', '', '', '', '', '', '']); continue; }
    const build = s.lastBuild ? `${s.lastBuild.durationMs ?? '?'} ms (${s.lastBuild.trigger.reason})` : '';
    const ap = s.extra.autopilot as { vcpu?: number; memoryGiB?: number; usdPerHour?: number; warnings?: string[] } | undefined;
    const autopilot = ap?.usdPerHour !== undefined ? `autopilot: ${ap.vcpu} vCPU, ${ap.memoryGiB} GiB, $${ap.usdPerHour.toFixed(4)}/h${ap.warnings?.length ? `; ${ap.warnings.length} warning(s): ${ap.warnings.join(' | ')}` : ''}` : '';
    const note = [s.error ? `${s.error.message}${s.error.hint ? ` (try: ${s.error.hint})` : ''}` : s.waiting ?? '', autopilot].filter(Boolean).join('; ');
    rows.push([name, s.phase, s.target, build, s.image ?? '', s.endpoints.map((e) => e.url).join(' '), String(s.restarts), note]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const lines = rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd());
  // Lines a plugin wrote for people (Cloud Run: one per revision), under the table.
  for (const name of names) {
    for (const [plugin, data] of Object.entries(state?.services[name]?.extra ?? {})) {
      const details = (data as { details?: unknown }).details;
      if (!Array.isArray(details) || details.length === 0) continue;
      lines.push('', `${name} (${plugin}):`, ...details.filter((d): d is string => typeof d === 'string').map((d) => `  ${d}`));
    }
  }
  return lines;
}
