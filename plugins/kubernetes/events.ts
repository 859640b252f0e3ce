/**
 * What the cluster says about a service, for the TUI's details view (enter) and `status -o json`:
 * the last few events of the objects it applied and of the pods and ReplicaSets they own (by name
 * prefix, as `kubectl describe` lists them), and the port-forward's real state. Published as the
 * service's `devloop:kubernetes` extra data: `details` lines are shown one per line.
 *
 * A poll of the namespace's events every two seconds, rather than a watch: one request, no
 * reconnect logic, and the namespace's events are few on a dev cluster.
 */
import type { CoreV1Api, CoreV1Event } from '@kubernetes/client-node';
import type { Action } from '../../core/store/actions.js';
import type { AppliedRef } from './apply.js';

const POLL_MS = 2_000;
export const EVENTS_SHOWN = 6;

export interface EventLike {
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  involvedObject: { kind?: string; name?: string; namespace?: string };
  lastTimestamp?: Date | string;
  eventTime?: Date | string;
  firstTimestamp?: Date | string;
  metadata?: { creationTimestamp?: Date | string };
}

const when = (e: EventLike): number => new Date(e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp ?? 0).getTime();
const hhmmss = (ms: number): string => new Date(ms).toTimeString().slice(0, 8);

/**
 * Pure: the events about what the service applied (an applied object, or a pod/ReplicaSet/Job
 * whose name starts with an applied workload's `name-`), oldest first, at most `shown`, each as
 * one line: `12:03:04 Warning BackOff pod/web-7d9f-x2: Back-off restarting failed container (x3)`.
 */
export function eventLines(events: EventLike[], applied: AppliedRef[], shown = EVENTS_SHOWN): string[] {
  const exact = new Set(applied.map((r) => `${r.kind}/${r.name}`));
  const owners = applied.filter((r) => ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob'].includes(r.kind)).map((r) => `${r.name}-`);
  const ours = (e: EventLike) => {
    const { kind = '', name = '' } = e.involvedObject;
    return exact.has(`${kind}/${name}`) || (['Pod', 'ReplicaSet', 'Job'].includes(kind) && owners.some((p) => name.startsWith(p)));
  };
  return events.filter(ours).sort((a, b) => when(a) - when(b)).slice(-shown).map((e) => {
    const what = `${(e.involvedObject.kind ?? '').toLowerCase()}/${e.involvedObject.name}`;
    const times = e.count && e.count > 1 ? ` (x${e.count})` : '';
    return `${hhmmss(when(e))} ${e.type ?? 'Normal'} ${e.reason ?? ''} ${what}: ${(e.message ?? '').replace(/\s+/g, ' ').trim()}${times}`;
  });
}

export class ServiceEvents {
  private timer?: NodeJS.Timeout;
  private last = '';

  constructor(
    private core: CoreV1Api,
    private service: string,
    private applied: AppliedRef[],
    private dispatch: (action: Action) => void,
    private extra: () => Record<string, unknown>,
  ) {}

  start(): void {
    const namespaces = [...new Set(this.applied.map((r) => r.namespace).filter((n): n is string => !!n))];
    if (!namespaces.length) return;
    const poll = async () => {
      try {
        const events: CoreV1Event[] = [];
        for (const namespace of namespaces) events.push(...(await this.core.listNamespacedEvent({ namespace })).items);
        this.publish(eventLines(events as EventLike[], this.applied));
      } catch {
        // The cluster is away: readiness and the port-forward say so where it matters.
      }
      if (this.timer) this.timer = setTimeout(poll, POLL_MS).unref();
    };
    this.timer = setTimeout(poll, 0).unref();
  }

  /** Publishes the lines (and the extra figures) when they changed. */
  publish(lines: string[]): void {
    const data = { ...this.extra(), details: lines.length ? ['events:', ...lines.map((l) => `  ${l}`)] : [] };
    const text = JSON.stringify(data);
    if (text === this.last) return;
    this.last = text;
    this.dispatch({ type: 'service/extra', service: this.service, plugin: 'devloop:kubernetes', data });
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
