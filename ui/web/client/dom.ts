/** A tiny element builder: the page is plain DOM, no framework, so this is the whole "view layer". */
type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Record<string, string | undefined> | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) for (const [k, v] of Object.entries(attrs)) if (v !== undefined) el.setAttribute(k, v);
  append(el, children);
  return el;
}

export function append(el: Element, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'number' ? String(c) : c);
  }
}

/** Replaces an element's content. */
export function fill(el: Element, ...children: Child[]): void {
  el.textContent = '';
  append(el, children);
}

/** A link that opens in a new tab; only http(s) URLs become links (a plugin's URL is untrusted text). */
export function link(url: string, text = url): HTMLElement {
  if (!/^https?:\/\//i.test(url)) return h('span', null, text);
  return h('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, text);
}

/** Plugin data is untyped: these read it without trusting its shape. */
export const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
export const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
export const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

/**
 * A service's Autopilot price per hour: the pods actually running (devloop:autopilot, a cluster
 * service) over the deploy-time estimate made from the Devfile's resources (autopilot).
 */
export function autopilotUsdPerHour(s: { extra?: Record<string, Record<string, unknown>> }): number | undefined {
  return num(s.extra?.['devloop:autopilot']?.usdPerHour) ?? num(s.extra?.autopilot?.usdPerHour);
}
