/**
 * The pods' output in the service log. The pods behind what the service applied (by the
 * workloads' selectors) are polled; every container instance that runs is followed with the
 * Log API (`follow`, `timestamps`), so new pods of a rollout or a `kubectl delete pod` and the
 * new instance of a restarted container are picked up as they appear. A crashed instance whose
 * lines were not all seen has its last lines read once with `previous: true`.
 *
 * No line twice: each pod/container keeps the timestamp of the last line shown, and a reconnect
 * (a cut stream, a previous log, the next deployment taking over) drops what is not newer. A poll
 * rather than a watch: one list per second per service, and no watch reconnect logic.
 */
import { RESTART_MARKER } from '../docker/supervisor.js';
import { Writable } from 'node:stream';
import type { CoreV1Api, KubeConfig, V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import type { Logger } from '../../core/engine/contexts.js';
import { LineSplitter } from '../shared/lines.js';
import { formatLogLine } from '../shared/logs.js';
import type { K8sObject } from './manifests.js';

const POLL_MS = 1_000;
const PREVIOUS_LINES = 50;

/** Last timestamp shown, by `pod/container`: what a reconnect must not show again. */
export type LogMarks = Map<string, string>;

/** Pure: an RFC 3339 timestamp made comparable as a string (fraction padded to nanoseconds). */
export function sortableTime(ts: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(ts);
  if (!m) return ts;
  return `${m[1]}.${(m[2] ?? '').padEnd(9, '0').slice(0, 9)}${m[3]}`;
}

/** Pure: "2024-01-01T00:00:00.123Z text" -> [sortable timestamp, text]. */
export function splitTimestamp(line: string): [string | undefined, string] {
  const sp = line.indexOf(' ');
  const head = sp === -1 ? line : line.slice(0, sp);
  if (!/^\d{4}-\d\d-\d\dT/.test(head)) return [undefined, line];
  return [sortableTime(head), sp === -1 ? '' : line.slice(sp + 1)];
}

/** Pure: the short name of a pod: the random suffix of a generated name, else the name. */
export function shortPodName(pod: V1Pod): string {
  const name = pod.metadata?.name ?? '?';
  const gen = pod.metadata?.generateName;
  if (gen && name.startsWith(gen) && name.length > gen.length) {
    // A Deployment's pod "web-5d8f7c9b4-x2x7q": keep the ReplicaSet hash, it tells rollouts apart.
    const rs = /-([a-z0-9]{5,10})-$/.exec(gen);
    return `${rs ? `${rs[1]}-` : ''}${name.slice(gen.length)}`;
  }
  return name;
}

/** The label selectors (by namespace) of the pods behind what was applied. */
export function podSelectors(objects: K8sObject[]): { namespace: string; selector: string }[] {
  const out = new Map<string, { namespace: string; selector: string }>();
  for (const o of objects as (K8sObject & { spec?: any })[]) {
    const labels: Record<string, string> | undefined = o.kind === 'Pod' ? o.metadata.labels
      : ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'].includes(o.kind) ? o.spec?.selector?.matchLabels ?? (o.kind === 'Job' ? o.spec?.template?.metadata?.labels : undefined)
        : undefined;
    if (!labels || Object.keys(labels).length === 0) continue;
    const namespace = o.metadata.namespace ?? 'default';
    const selector = Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
    out.set(`${namespace}|${selector}`, { namespace, selector });
  }
  return [...out.values()];
}

export class PodLogs {
  private readonly life = new AbortController();
  /** Streams open now, by `pod/container`. */
  private readonly open = new Map<string, { id: string; abort?: AbortController }>();
  /** Container instances whose log was read to its end, or whose previous log was read. */
  private readonly finished = new Set<string>();
  private readonly previousRead = new Set<string>();
  private loop?: Promise<void>;

  constructor(
    private kc: KubeConfig,
    private core: CoreV1Api,
    private selectors: { namespace: string; selector: string }[],
    private logger: Logger,
    readonly marks: LogMarks = new Map(),
  ) {}

  start(signal: AbortSignal): void {
    if (this.selectors.length === 0) return;
    signal.addEventListener('abort', () => this.stop(), { once: true });
    if (signal.aborted) return;
    this.loop = this.run();
  }

  /** Closes every stream; the marks stay for whoever takes over. */
  stop(): void {
    this.life.abort();
    for (const s of this.open.values()) s.abort?.abort();
    this.open.clear();
  }

  private async run(): Promise<void> {
    const { signal } = this.life;
    while (!signal.aborted) {
      for (const { namespace, selector } of this.selectors) {
        let pods: V1Pod[];
        try {
          pods = (await this.core.listNamespacedPod({ namespace, labelSelector: selector })).items;
        } catch {
          continue; // the API server is away for a moment: the next poll tries again
        }
        if (signal.aborted) return;
        for (const pod of pods) {
          const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
          const several = (pod.spec?.containers?.length ?? 0) + (pod.spec?.initContainers?.length ?? 0) > 1;
          for (const cs of statuses) await this.visit(namespace, pod, cs, several);
        }
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, POLL_MS);
        function done() { clearTimeout(t); signal.removeEventListener('abort', done); resolve(); }
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }

  private async visit(namespace: string, pod: V1Pod, cs: V1ContainerStatus, several: boolean): Promise<void> {
    const podName = pod.metadata?.name ?? '';
    const key = `${podName}/${cs.name}`;
    if (this.open.has(key)) return;
    const prefix = `[${shortPodName(pod)}${several ? `/${cs.name}` : ''}] `;
    // A crashed instance: its last lines, once (what its own stream already showed is dropped by the mark).
    const prev = cs.lastState?.terminated?.containerID;
    if (prev && !this.previousRead.has(prev) && !this.finished.has(prev)) {
      this.previousRead.add(prev);
      await this.read(namespace, podName, cs.name, key, prefix, { previous: true, tailLines: PREVIOUS_LINES });
    }
    const id = cs.containerID;
    if (!id || this.finished.has(id)) return;
    const running = !!cs.state?.running;
    if (!running && !cs.state?.terminated) return;
    const abort = new AbortController();
    this.open.set(key, { id, abort });
    const since = this.marks.get(key);
    // In the background: the poll goes on to the other containers and to new pods.
    void this.read(namespace, podName, cs.name, key, prefix, { follow: true, ...(since ? { sinceTime: since.replace(/\.\d+/, '') } : {}) }, abort).then(() => {
      // The stream ended: the instance stopped (read to its end) or the connection was cut (the next poll reconnects).
      if (this.open.get(key)?.abort === abort) this.open.delete(key);
      if (!running) this.finished.add(id);
    });
  }

  /** Reads one log into the service log; for `follow` returns once the stream is open and ends it in the background. */
  private async read(namespace: string, pod: string, container: string, key: string, prefix: string, options: { follow?: boolean; previous?: boolean; tailLines?: number; sinceTime?: string }, abort?: AbortController): Promise<void> {
    if (this.life.signal.aborted) return;
    const split = new LineSplitter((raw) => {
      const [ts, text] = splitTimestamp(raw);
      // Every line of the container carries its timestamp; one without is the kubelet's own
      // ("unable to retrieve container logs for ..." of a container just removed): not the service's.
      if (!ts) return;
      const mark = this.marks.get(key);
      if (mark && ts <= mark) return;
      this.marks.set(key, ts);
      if (this.life.signal.aborted) return;
      // The restart supervisor's marker (restart.ts waits for it): not the service's output.
      if (text.trim() === RESTART_MARKER) return;
      const f = formatLogLine(text);
      for (const line of f.lines) this.logger.output(`${prefix}${line}`, f.stream ?? 'stdout');
    });
    let finish!: () => void;
    const ended = new Promise<void>((resolve) => { finish = resolve; });
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) { split.push(chunk); cb(); },
      final(cb) { split.end(); finish(); cb(); },
      destroy(_err, cb) { split.end(); finish(); cb(null); },
    });
    sink.once('close', () => finish());
    try {
      const { Log } = await import('@kubernetes/client-node');
      const req = await new Log(this.kc).log(namespace, pod, container, sink, { ...options, timestamps: true });
      if (abort) {
        abort.signal.addEventListener('abort', () => { req.abort(); sink.destroy(); }, { once: true });
        if (abort.signal.aborted) { req.abort(); sink.destroy(); }
      }
      await ended;
    } catch {
      // The container is gone or not started yet: the next poll looks again.
      sink.destroy();
    }
  }
}
