/** Everything known about one service, as label/value lines for the details view. */
import { seconds, stepsText, triggerPhrase } from '../../core/engine/trigger.js';
import type { BuildRecord, ServiceState, UpdateRecord } from '../../core/store/state.js';
import { clock, duration, triggerText, value } from './format.js';
import { textLines, type Line } from './lines.js';
import { HEALTH, PHASE_COLOUR } from './theme.js';

const W = 12;
const field = (label: string, text: string, style: Omit<Line, 'text' | 'label'> = {}): Line[] =>
  textLines(text, { ...style, label: `${label.padEnd(W)}` });

export function detailsLines(s: ServiceState, now: number): Line[] {
  const lines: Line[] = [{ text: `${s.name}  (enter or esc to close)`, bold: true }];
  lines.push(...field('build → run', `${s.kind} → ${s.target}`));
  lines.push(...field('phase', s.phase, { colour: PHASE_COLOUR[s.phase] }));
  if (s.waiting) lines.push(...field('waiting on', s.waiting, { dim: true }));
  lines.push(...field('trigger', s.triggerMode === 'manual' ? 'manual (r rebuilds, t switches to auto)' : 'auto (t switches to manual)'));
  if (s.pendingFiles.length) lines.push(...field('changed', list(s.pendingFiles), { colour: 'yellow' }));
  lines.push(...field('health', `${HEALTH[s.health].text}${s.healthMessage ? ` · ${s.healthMessage}` : ''}${s.everHealthy ? '' : ' · never healthy yet'}`, { colour: HEALTH[s.health].colour }));
  lines.push(...field('restarts', String(s.restarts), s.restarts ? { colour: 'yellow' } : {}));
  if (s.image) lines.push(...field('image', s.image));
  for (const e of s.endpoints) lines.push(...field(`url ${e.name}`.slice(0, W - 1), e.url, { colour: 'blue' }));
  lines.push(...field('builds', String(s.buildCount)));
  if (s.currentBuild) lines.push(...build('building', s.currentBuild, now));
  if (s.lastBuild) lines.push(...build('last build', s.lastBuild, now));
  // Newest first: the update just made is the one a reader looks for.
  const recent = (s.updates ?? []).slice(-UPDATES_SHOWN).reverse();
  recent.forEach((u, i) => lines.push(...update(i === 0 ? 'updates' : '', u)));
  if (s.error) {
    lines.push(...field('error', s.error.message, { colour: 'red' }));
    if (s.error.hint) lines.push(...field('try', s.error.hint, { colour: 'yellow' }));
    if (s.error.plugin || s.error.hook) lines.push(...field('from', [s.error.plugin, s.error.hook].filter(Boolean).join(' · '), { dim: true }));
  }
  // A plugin's figures: scalars (and lists of strings) as key=value; `details` (lines the plugin
  // wrote for people) one per line; structured values (lists of objects) are left to
  // `devloop status -o json`, where they stay readable.
  for (const [plugin, data] of Object.entries(s.extra)) {
    const pairs = Object.entries(data)
      .filter(([k, v]) => k !== 'details' && !(typeof v === 'object' && v !== null && !(Array.isArray(v) && v.every((x) => typeof x !== 'object'))))
      .map(([k, v]) => `${k}=${value(v, 4)}`).join('  ');
    lines.push(...field(plugin.slice(0, W - 1), pairs, { dim: false }));
    const details = (data as { details?: unknown }).details;
    if (Array.isArray(details)) for (const d of details) if (typeof d === 'string') lines.push(...field('', d));
  }
  return lines;
}

function build(label: string, b: BuildRecord, now: number): Line[] {
  const took = b.finishedAt === undefined ? `running ${duration(now - b.startedAt)}` : duration(b.durationMs ?? b.finishedAt - b.startedAt);
  const outcome = b.finishedAt === undefined ? '' : b.cancelled ? 'cancelled' : b.error ? `failed: ${b.error.message}` : b.cached ? 'cached' : 'ok';
  const parts = [`#${b.id} at ${clock(b.startedAt)}`, took, outcome, triggerText(b)].filter(Boolean);
  const lines = field(label, parts.join(' · '), b.error ? { colour: 'red' } : {});
  if (b.trigger.files.length > 1) lines.push(...field('', list(b.trigger.files), { dim: true }));
  return lines;
}

/** Updates listed in the details view; the store keeps a few more for `status -o json`. */
const UPDATES_SHOWN = 5;

function update(label: string, u: UpdateRecord): Line[] {
  const outcome = u.outcome === 'done' ? (u.live ? 'live update done' : 'done') : u.outcome === 'failed' ? `failed${u.failedStep ? ` at ${u.failedStep}` : ''}` : 'cancelled';
  const parts = [`#${u.id} at ${clock(u.startedAt)}`, `${outcome} in ${seconds(u.totalMs)}`, stepsText(u.steps), triggerPhrase(u.trigger)].filter(Boolean);
  return field(label, parts.join(' · '), u.outcome === 'failed' ? { colour: 'red' } : u.outcome === 'cancelled' ? { dim: true } : {});
}

function list(files: string[]): string {
  return files.length > 5 ? `${files.slice(0, 5).join(', ')} +${files.length - 5} more` : files.join(', ');
}
