/**
 * The panels beside the charts: the error panel (the selected service's error, the Devfile's and
 * firing alerts, worded as ui/tui/error-lines.ts words them) and the selected service's details,
 * with a Cloud Run and an Autopilot section when the service carries their data.
 */
import type { ErrorJSON } from '../../../core/errors.js';
import type { ServiceState, UpdateRecord } from '../../../core/store/state.js';
import { seconds, triggerPhrase } from '../../../core/engine/trigger.js';
import { clock, duration, usd, value } from '../../tui/format.js';
import { HEALTH, PHASE_COLOUR } from '../../tui/theme.js';
import { firingAlerts } from '../../tui/error-lines.js';
import type { SessionView } from '../protocol.js';
import { arr, h, link, num, obj, str } from './dom.js';

/** The error panel's content, or null when there is nothing to show (the panel is then absent). */
export function errorPanel(session: SessionView, s: ServiceState | undefined, services: Map<string, ServiceState>): HTMLElement | null {
  const parts: HTMLElement[] = [];
  if (session.config.error) parts.push(h('div', { class: 'err-block' }, h('div', { class: 'err-title' }, 'Devfile error: still running the last good version'), ...describe(session.config.error)));
  if (s?.error) parts.push(h('div', { class: 'err-block' }, h('div', { class: 'err-title' }, `${s.name} ${s.phase === 'failed' ? 'failed' : 'error'}`), ...describe(s.error)));
  for (const a of firingAlerts(session)) {
    parts.push(h('div', { class: 'err-block' },
      h('div', { class: 'err-title' }, `alert ${a.name}${a.service ? ` [${a.service}]` : ''}${a.severity ? ` (${a.severity})` : ''} firing${a.since && !Number.isNaN(Date.parse(a.since)) ? ` since ${clock(Date.parse(a.since))}` : ''}`),
      h('div', { class: 'err-msg' }, a.summary)));
  }
  if (!parts.length) return null;
  const others = session.order.filter((n) => n !== s?.name && services.get(n)?.phase === 'failed');
  if (others.length) parts.push(h('div', { class: 'dim' }, `also failed: ${others.length > 5 ? `${others.slice(0, 5).join(', ')} +${others.length - 5}` : others.join(', ')}`));
  return h('section', { id: 'error-panel', class: 'panel' }, ...parts);
}

function describe(err: ErrorJSON): HTMLElement[] {
  const out: HTMLElement[] = [h('div', { class: 'err-msg' }, err.message)];
  if (err.location?.frame) out.push(h('pre', { class: 'frame' }, err.location.frame));
  if (err.hint) out.push(h('div', { class: 'hint' }, h('span', { class: 'label' }, 'try: '), err.hint));
  const origin = [err.plugin && `plugin ${err.plugin}`, err.hook && `hook ${err.hook}`, err.code && `code ${err.code}`].filter(Boolean);
  if (origin.length) out.push(h('div', { class: 'dim' }, origin.join(' · ')));
  // Plugin errors wrap the real failure; its message is usually what the user needs to read.
  let cause = err.cause;
  for (let depth = 0; cause && depth < 3; depth++, cause = cause.cause) {
    if (err.message.includes(cause.message)) continue;
    out.push(h('div', { class: 'dim' }, `caused by: ${cause.message}`));
  }
  return out;
}

const row = (label: string, ...value: (Node | string | null)[]) => h('tr', null, h('th', null, label), h('td', null, ...value));
const styled = (cls: string | undefined, text: string) => h('span', { class: cls }, text);

export function detailsPanel(s: ServiceState, now: number): HTMLElement {
  const rows: HTMLElement[] = [
    row('build → run', `${s.kind} → ${s.target}`),
    row('phase', styled(`c-${PHASE_COLOUR[s.phase] ?? 'gray'}`, s.phase), s.waiting ? styled('dim', ` · ${s.waiting}`) : null),
    row('trigger', s.triggerMode, s.pendingFiles.length ? styled('c-yellow', ` · changed: ${s.pendingFiles.slice(0, 5).join(', ')}${s.pendingFiles.length > 5 ? ` +${s.pendingFiles.length - 5}` : ''}`) : null),
    row('health', styled(`c-${HEALTH[s.health]?.colour ?? 'gray'}`, HEALTH[s.health]?.text ?? s.health), s.healthMessage ? ` · ${s.healthMessage}` : '', s.everHealthy ? '' : styled('dim', ' · never healthy yet')),
    row('restarts', String(s.restarts)),
  ];
  if (s.image) rows.push(row('image', h('code', null, s.image)));
  for (const e of s.endpoints) rows.push(row(`url ${e.name}`, link(e.url)));
  const port = num(s.extra?.debug?.inspectPort);
  if (port !== undefined) rows.push(row('debugger', `node --inspect on 127.0.0.1:${port} (chrome://inspect)`));
  rows.push(row('builds', String(s.buildCount)));
  if (s.currentBuild) rows.push(row('building', `#${s.currentBuild.id} since ${clock(s.currentBuild.startedAt)} · ${duration(now - s.currentBuild.startedAt)} · ${triggerPhrase(s.currentBuild.trigger)}`));
  if (s.lastBuild) {
    const b = s.lastBuild;
    const outcome = b.cancelled ? 'cancelled' : b.error ? `failed: ${b.error.message.split('\n')[0]}` : b.cached ? 'cached' : 'ok';
    rows.push(row('last build', styled(b.error ? 'c-red' : undefined, `#${b.id} at ${clock(b.startedAt)} · ${duration(b.durationMs ?? (b.finishedAt ?? now) - b.startedAt)} · ${outcome} · ${triggerPhrase(b.trigger)}`)));
  }
  const updates = (s.updates ?? []).slice(-5).reverse();
  const table = updates.length ? h('table', { class: 'updates' },
    h('thead', null, h('tr', null, h('th', null, '#'), h('th', null, 'at'), h('th', null, 'outcome'), h('th', null, 'steps'), h('th', { class: 'r' }, 'total'), h('th', null, 'why'))),
    h('tbody', null, ...updates.map(updateRow))) : null;
  return h('section', { id: 'details', class: 'panel' },
    h('h3', null, s.name), h('table', { class: 'kv' }, h('tbody', null, ...rows)),
    table ? h('h4', null, 'last updates') : null, table,
    cloudRun(s), autopilot(s), otherPlugins(s));
}

function updateRow(u: UpdateRecord): HTMLElement {
  const outcome = u.outcome === 'done' ? (u.live ? 'live update' : 'done') : u.outcome === 'failed' ? `failed${u.failedStep ? ` at ${u.failedStep}` : ''}` : 'cancelled';
  return h('tr', { class: u.outcome === 'failed' ? 'c-red' : u.outcome === 'cancelled' ? 'dim' : undefined },
    h('td', null, String(u.id)), h('td', null, clock(u.startedAt)), h('td', null, outcome),
    h('td', { class: 'steps' }, ...u.steps.map((st) => h('span', { class: 'step' }, `${st.name} `, h('b', null, `${st.ms} ms`)))),
    h('td', { class: 'r' }, seconds(u.totalMs)), h('td', { class: 'why' }, triggerPhrase(u.trigger)));
}

/** extra['cloud-run'] as plugins/cloud-run/service.ts publish() writes it. */
function cloudRun(s: ServiceState): HTMLElement | null {
  const cr = s.extra?.['cloud-run'];
  if (!cr) return null;
  const n = (v: unknown) => value(num(v) ?? 0);
  const revisions = arr(cr.revisions).map(obj);
  let cold = 0, lastCold: number | undefined;
  for (const r of revisions) { cold += num(r.coldStarts) ?? 0; lastCold = num(r.lastColdStartMs) ?? lastCold; }
  const traffic = arr(cr.traffic).map(obj);
  const revTable = h('table', { id: 'revisions', class: 'grid' },
    h('thead', null, h('tr', null, ...['revision', 'traffic', 'tag', 'ready', 'busy', 'starting', 'idle', 'in flight', 'queue', 'cold starts', 'simulator errors', ''].map((t, i) => h('th', { class: i > 0 && i !== 2 && i < 10 ? 'r' : undefined }, t)))),
    h('tbody', null, ...revisions.map((r) => {
      const name = str(r.name) ?? '?';
      const inst = obj(r.instances);
      const errors = Object.entries(obj(r.errors)).filter(([, v]) => (num(v) ?? 0) > 0).map(([code, v]) => `${code}×${v}`).join(' ');
      const pct = num(r.percent) ?? 0;
      const flags = [r.panic ? 'PANIC' : '', num(r.throttled) ? `${r.throttled} throttled` : '', str(r.failed) ? `failed: ${r.failed}` : ''].filter(Boolean).join(' ');
      return h('tr', { 'data-revision': name, class: pct > 0 ? undefined : 'dim' },
        h('td', null, name), h('td', { class: 'r' }, h('span', { class: 'pct' }, `${pct}%`), trafficBar(pct)), h('td', null, str(r.tag) ?? ''),
        h('td', { class: 'r' }, n(inst.ready)), h('td', { class: 'r' }, n(inst.busy)), h('td', { class: 'r' }, n(inst.starting)), h('td', { class: 'r' }, n(inst.idle)),
        h('td', { class: 'r' }, n(r.inFlight)), h('td', { class: 'r' }, n(r.queueDepth)),
        h('td', { class: 'r' }, `${n(r.coldStarts)}${num(r.lastColdStartMs) !== undefined ? ` (${r.lastColdStartMs} ms)` : ''}`),
        h('td', { class: errors ? 'c-red' : undefined }, errors), h('td', { class: 'c-red' }, flags));
    })));
  return h('section', { id: 'cloud-run', class: 'sub' },
    h('h4', null, 'Cloud Run'),
    h('div', { class: 'stats' },
      stat('instances', n(cr.instances)), stat('in flight', n(cr.inFlight)), stat('queue', n(cr.queueDepth), (num(cr.queueDepth) ?? 0) > 0 ? 'c-yellow' : undefined),
      stat('cold starts', `${cold}${lastCold !== undefined ? ` · last ${lastCold} ms` : ''}`)),
    traffic.length ? h('div', { class: 'dim' }, 'traffic: ', traffic.map((t) => `${t.latestRevision ? 'latest' : str(t.revisionName) ?? '?'} ${value(num(t.percent) ?? 0)}%${str(t.tag) ? ` (tag ${t.tag})` : ''}`).join(', ')) : null,
    revTable);
}

function trafficBar(pct: number): HTMLElement {
  const bar = h('span', { class: 'tbar' }, h('span', null));
  (bar.firstChild as HTMLElement).style.width = `${Math.max(0, Math.min(100, pct))}%`;
  return bar;
}

function stat(label: string, v: string, cls?: string): HTMLElement {
  return h('span', { class: 'stat' }, h('span', { class: 'dim' }, `${label} `), h('b', { class: cls }, v));
}

/** extra['autopilot'] (admission and estimate) and extra['devloop:autopilot'] (pods, nodes, the node plan). */
function autopilot(s: ServiceState): HTMLElement | null {
  const ap = s.extra?.autopilot;
  const view = s.extra?.['devloop:autopilot'];
  if (!ap && !view) return null;
  const a = obj(ap);
  const v = obj(view);
  const stats: HTMLElement[] = [];
  // With pods in a cluster (devloop:autopilot), those are the truth: their manifests may ask for
  // other resources than the Devfile's, which is all the deploy-time estimate (autopilot) saw.
  const estimate: HTMLElement[] = [];
  if (ap) {
    estimate.push(stat('cpu', value(a.cpu)), stat('memory', value(a.memory)), stat('class', str(a.computeClass) ?? 'general-purpose'), stat('spot', a.spot ? 'yes' : 'no'));
    if (num(a.vcpu) !== undefined) estimate.push(stat('billed', `${value(a.vcpu)} vCPU · ${value(a.memoryGiB)} GiB`));
    if (!view && num(a.usdPerHour) !== undefined) estimate.push(stat('cost', `${usd(num(a.usdPerHour)!)}/h`));
  }
  if (view) {
    stats.push(stat('pods', `${value(num(v.running) ?? 0)}/${value(num(v.pods) ?? 0)} running`), stat('spot', v.spot ? 'yes' : 'no'));
    if (num(v.usdPerHour) !== undefined) stats.push(stat('cost', `${usd(num(v.usdPerHour)!)}/h`));
  } else stats.push(...estimate);
  const nodes = arr(v.nodes).filter((x): x is string => typeof x === 'string');
  const planned = arr(v.plannedNodes).filter((x): x is string => typeof x === 'string');
  const warnings = arr(a.warnings).filter((x): x is string => typeof x === 'string');
  const pending = arr(v.pending).filter((x): x is string => typeof x === 'string');
  const details = arr(v.details).filter((x): x is string => typeof x === 'string');
  return h('section', { id: 'autopilot', class: 'sub' },
    h('h4', null, 'Autopilot'),
    h('div', { class: 'stats' }, ...stats),
    view && estimate.length ? h('div', { class: 'stats dim', title: 'deploy-time admission of a pod made from the Devfile\'s resources, before the manifests\' own' }, h('span', { class: 'dim' }, 'Devfile estimate: '), ...estimate) : null,
    nodes.length ? h('div', null, h('span', { class: 'dim' }, 'nodes: '), nodes.join(', ')) : null,
    planned.length ? h('div', null, h('span', { class: 'dim' }, 'node plan (GKE): '), planned.join(', ')) : null,
    // The estimate's own warnings are about the Devfile's pod; with real pods their adjustments (details) say it.
    ...(view ? [] : warnings).map((w) => h('div', { class: 'c-yellow' }, `▲ ${w}`)),
    ...pending.map((p) => h('div', { class: 'c-yellow' }, `pending ${p}`)),
    details.length ? h('pre', { class: 'lines' }, details.join('\n')) : null);
}

/** Any other plugin's scalars, as the TUI's details view lists them. */
function otherPlugins(s: ServiceState): HTMLElement | null {
  const known = new Set(['cloud-run', 'autopilot', 'devloop:autopilot', 'debug']);
  const rows: HTMLElement[] = [];
  for (const [plugin, data] of Object.entries(s.extra ?? {})) {
    if (known.has(plugin) || !data || typeof data !== 'object') continue;
    const pairs = Object.entries(data)
      .filter(([k, v]) => k !== 'details' && !(typeof v === 'object' && v !== null && !(Array.isArray(v) && v.every((x) => typeof x !== 'object'))))
      .map(([k, v]) => `${k}=${value(v, 4)}`).join('  ');
    const details = arr((data as { details?: unknown }).details).filter((d): d is string => typeof d === 'string');
    rows.push(row(plugin, pairs, ...details.map((d) => h('div', null, d))));
  }
  return rows.length ? h('table', { class: 'kv plugins' }, h('tbody', null, ...rows)) : null;
}
