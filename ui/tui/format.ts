/** Short, fixed-width renderings of state values for table cells. Pure functions. */
import type { BuildRecord, ServiceState } from '../../core/store/state.js';

export function duration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
  const m = Math.floor(ms / 60_000);
  return `${m}m${String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0')}s`;
}

/**
 * `europe-docker.pkg.dev/proj/repo/api:tilt-0123456789abcdef` -> `api:tilt-0123456`: the
 * registry path is the same for every row, the name and the start of the tag tell builds apart.
 */
export function shortImage(image: string | undefined): string {
  if (!image) return '';
  const [ref, digest] = image.split('@');
  const slash = ref.lastIndexOf('/');
  const last = ref.slice(slash + 1);
  const colon = last.indexOf(':');
  const name = colon >= 0 ? last.slice(0, colon) : last;
  let tag = colon >= 0 ? last.slice(colon + 1) : '';
  if (!tag && digest) tag = digest.replace(/^sha256:/, '');
  if (/^sha256:/.test(tag)) tag = tag.slice(7);
  if (tag.length > 12) tag = tag.slice(0, 12);
  return tag ? `${name}:${tag}` : name;
}

/** Why the last build ran: `file-change src/a.ts +2`, `manual`, `initial`. */
export function triggerText(build: BuildRecord | undefined): string {
  if (!build) return '';
  const files = build.trigger.files;
  if (!files.length) return build.trigger.reason;
  const first = files[0].length > 28 ? `…${files[0].slice(-27)}` : files[0];
  return `${build.trigger.reason} ${first}${files.length > 1 ? ` +${files.length - 1}` : ''}`;
}

export function buildText(s: ServiceState, now: number): string {
  if (s.currentBuild) return `${duration(now - s.currentBuild.startedAt)}… ${triggerText(s.currentBuild)}`;
  const b = s.lastBuild;
  if (!b) return '';
  const what = b.cancelled ? 'cancelled' : b.error ? 'failed' : b.cached ? 'cached' : duration(b.durationMs ?? (b.finishedAt !== undefined ? b.finishedAt - b.startedAt : undefined));
  return `${what} · ${triggerText(b)}`;
}

export function urlsText(s: ServiceState): string {
  if (!s.endpoints.length) return '';
  const first = s.endpoints[0].url;
  return s.endpoints.length > 1 ? `${first} +${s.endpoints.length - 1}` : first;
}

/** A plugin value for a cell: numbers compactly, strings as is, anything else as JSON. */
export function value(v: unknown, digits = 2): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(digits).replace(/\.?0+$/, '');
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  try { return JSON.stringify(v); } catch { return String(v); }
}

export function usd(v: unknown): string {
  return typeof v === 'number' ? `$${v < 1 ? v.toFixed(3) : v.toFixed(2)}` : value(v);
}

export function gib(v: unknown): string {
  return typeof v === 'number' ? `${value(v)}Gi` : value(v);
}

/** Cuts `text` to `width` columns with an ellipsis; pads to `width` unless `pad` is false. */
export function fit(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  if (width <= 0) return '';
  const t = text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text;
  return align === 'right' ? t.padStart(width) : t.padEnd(width);
}

export function clock(time: number): string {
  const d = new Date(time);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}
