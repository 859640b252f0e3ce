/**
 * Which services Prometheus scrapes. Declared ones (`monitoring.scrape.SERVICE: '/path'`) on any
 * runtime but Cloud Run's; others found by asking their HTTP endpoint for `/metrics` once they
 * are healthy, kept when it answers in the Prometheus text format. Cloud Run services are not
 * scraped through their front end: every scrape would count as a request and keep an instance
 * from scaling to zero (their simulator's series are in devloop's own `/metrics`).
 */
import type { ServiceTarget } from './config.js';

/** True for a body in the Prometheus text exposition (or OpenMetrics) format. */
export function looksLikePrometheusText(contentType: string | null, body: string): boolean {
  if (contentType && !/^(text\/plain|application\/openmetrics-text)/i.test(contentType)) return false;
  const first = body.split('\n').map((l) => l.trim()).find((l) => l && (!l.startsWith('#') || /^# (HELP|TYPE) /.test(l)));
  if (!first) return false;
  return /^# (HELP|TYPE) [a-zA-Z_:]/.test(first) || /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})?\s+[-+]?([0-9.]+([eE][-+]?\d+)?|NaN|Inf)/.test(first);
}

export type ProbeResult = { ok: true } | { ok: false; why: string };

/** GET `url` and say whether it is a Prometheus endpoint, and if not, why, in words. */
export async function probeMetrics(url: string, timeoutMs = 2_000): Promise<ProbeResult> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.text()).slice(0, 4096);
    if (res.status !== 200) return { ok: false, why: `GET ${url} answered ${res.status}` };
    if (looksLikePrometheusText(res.headers.get('content-type'), body)) return { ok: true };
    const firstLine = body.split('\n').find((l) => l.trim())?.slice(0, 80) ?? '(empty)';
    return { ok: false, why: `GET ${url} answered 200 but not in the Prometheus text format (Content-Type ${res.headers.get('content-type') ?? 'none'}; first line: ${JSON.stringify(firstLine)})` };
  } catch (err) {
    return { ok: false, why: `GET ${url} failed: ${(err as { cause?: { code?: string } }).cause?.code ?? (err instanceof Error ? err.message : String(err))}` };
  }
}

/** `host:port` of an http endpoint URL, or undefined. */
export function addressOf(url: string): string | undefined {
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:') return undefined;
    return `${u.hostname}:${u.port || '80'}`;
  } catch {
    return undefined;
  }
}

export class TargetSet {
  private readonly targets = new Map<string, ServiceTarget>();

  set(t: ServiceTarget): boolean {
    const before = this.targets.get(t.service);
    this.targets.set(t.service, t);
    return !before || before.address !== t.address || before.path !== t.path;
  }

  delete(service: string): boolean {
    return this.targets.delete(service);
  }

  list(): ServiceTarget[] {
    return [...this.targets.values()].sort((a, b) => a.service.localeCompare(b.service));
  }
}
