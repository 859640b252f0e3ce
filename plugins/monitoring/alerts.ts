/**
 * Alerts as Alertmanager posts them to devloop's webhook (`POST /alertmanager`, webhook payload
 * version 4): kept by fingerprint while firing, dropped when resolved. Pure apart from the
 * clock the caller passes; the runtime turns changes into state (session and service extras)
 * and log lines.
 */

export interface FiringAlert {
  fingerprint: string;
  name: string;
  service?: string;
  severity?: string;
  summary: string;
  since: string;
}

interface WebhookAlert {
  status?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt?: string;
  fingerprint?: string;
}

export interface AlertChange {
  fired: FiringAlert[];
  resolved: FiringAlert[];
}

export class AlertBook {
  private readonly firing = new Map<string, FiringAlert>();

  /** Applies one webhook body; throws a TypeError naming what is wrong for one that is not Alertmanager's. */
  apply(body: unknown): AlertChange {
    const alerts = (body as { alerts?: unknown })?.alerts;
    if (!Array.isArray(alerts)) throw new TypeError('expected an Alertmanager webhook body: an object with an "alerts" array');
    const change: AlertChange = { fired: [], resolved: [] };
    for (const a of alerts as WebhookAlert[]) {
      const labels = a.labels ?? {};
      const fingerprint = a.fingerprint ?? JSON.stringify(labels);
      if (a.status === 'resolved') {
        const was = this.firing.get(fingerprint);
        if (was) { this.firing.delete(fingerprint); change.resolved.push(was); }
        continue;
      }
      if (this.firing.has(fingerprint)) continue;
      const alert: FiringAlert = {
        fingerprint,
        name: labels.alertname ?? '(unnamed alert)',
        service: labels.service || undefined,
        severity: labels.severity,
        summary: a.annotations?.summary ?? a.annotations?.description ?? labels.alertname ?? '',
        since: a.startsAt ?? new Date().toISOString(),
      };
      this.firing.set(fingerprint, alert);
      change.fired.push(alert);
    }
    return change;
  }

  list(): FiringAlert[] {
    return [...this.firing.values()].sort((a, b) => a.since.localeCompare(b.since));
  }

  forService(service: string): FiringAlert[] {
    return this.list().filter((a) => a.service === service);
  }
}

/** One line for the log, the status table and the TUI. */
export function describeAlert(a: FiringAlert): string {
  return `${a.name}${a.severity ? ` (${a.severity})` : ''}: ${a.summary}`;
}
