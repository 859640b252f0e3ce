/**
 * Readiness of what was applied, by kind: a Deployment/StatefulSet/DaemonSet whose rollout is
 * complete, a Pod Ready, a Job complete. While waiting, `onWaiting` says on what ("deployment/web:
 * 1 of 2 replicas updated"). The pods behind a workload are checked for the failures that never
 * heal by waiting, each turned into an error with its fix: an image that cannot be pulled, a
 * container in CrashLoopBackOff (with the last lines of the previous container's log), a pod the
 * scheduler cannot place (with its event message). A short poll rather than watches: a handful of
 * objects per service, and a poll needs no reconnect logic; the signal stops it.
 */
import type { CoreV1Api, KubernetesObjectApi, V1Pod } from '@kubernetes/client-node';
import { DevloopError } from '../../core/errors.js';
import { refOf, type K8sObject } from './manifests.js';

const POLL_MS = 500;
const LOG_LINES = 20;
const LOG_TRIES = 10;

interface Status { ready: boolean; waiting?: string; selector?: Record<string, string>; images?: string[] }

type Obj = K8sObject & { spec?: any; status?: any };

function templateImages(o: Obj): string[] {
  const spec = o.kind === 'Pod' ? o.spec : o.spec?.template?.spec;
  return [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])].map((c: { image: string }) => c.image);
}

/** Pure: is this object, as the API returns it, ready; if not, what is it waiting on. */
export function statusOf(o: Obj): Status {
  const name = refOf({ kind: o.kind, metadata: { name: o.metadata.name } });
  const gen = o.metadata.generation as number | undefined;
  const s = o.status ?? {};
  const observed = gen === undefined || (s.observedGeneration ?? 0) >= gen;
  const selector = o.spec?.selector?.matchLabels as Record<string, string> | undefined;
  const images = templateImages(o);
  switch (o.kind) {
    case 'Deployment': {
      const want = o.spec?.replicas ?? 1;
      if (!observed) return { ready: false, waiting: `${name}: waiting for the controller to see the new spec`, selector, images };
      const updated = s.updatedReplicas ?? 0;
      if (updated < want) return { ready: false, waiting: `${name}: ${updated} of ${want} replicas updated`, selector, images };
      if ((s.replicas ?? 0) > updated) return { ready: false, waiting: `${name}: ${(s.replicas ?? 0) - updated} old replicas terminating`, selector, images };
      const available = s.availableReplicas ?? 0;
      if (available < want) return { ready: false, waiting: `${name}: ${available} of ${want} updated replicas available`, selector, images };
      return { ready: true };
    }
    case 'StatefulSet': {
      const want = o.spec?.replicas ?? 1;
      if (!observed) return { ready: false, waiting: `${name}: waiting for the controller to see the new spec`, selector, images };
      const updated = s.updatedReplicas ?? 0;
      if (updated < want || (s.updateRevision && s.currentRevision !== s.updateRevision && updated < want)) return { ready: false, waiting: `${name}: ${updated} of ${want} replicas updated`, selector, images };
      if ((s.readyReplicas ?? 0) < want) return { ready: false, waiting: `${name}: ${s.readyReplicas ?? 0} of ${want} replicas ready`, selector, images };
      return { ready: true };
    }
    case 'DaemonSet': {
      const want = s.desiredNumberScheduled ?? 0;
      if (!observed) return { ready: false, waiting: `${name}: waiting for the controller to see the new spec`, selector, images };
      if ((s.updatedNumberScheduled ?? 0) < want) return { ready: false, waiting: `${name}: ${s.updatedNumberScheduled ?? 0} of ${want} pods updated`, selector, images };
      if ((s.numberAvailable ?? 0) < want) return { ready: false, waiting: `${name}: ${s.numberAvailable ?? 0} of ${want} pods available`, selector, images };
      return { ready: true };
    }
    case 'Pod': {
      const ready = (s.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
      return ready ? { ready: true } : { ready: false, waiting: `${name}: not Ready (${s.phase ?? 'Pending'})`, selector: o.metadata.labels, images };
    }
    case 'Job': {
      const conds: { type: string; status: string; message?: string }[] = s.conditions ?? [];
      const failed = conds.find((c) => c.type === 'Failed' && c.status === 'True');
      if (failed) throw new DevloopError(`${name} failed: ${failed.message ?? 'no message'}`, { code: 'K8S_JOB_FAILED', hint: 'see its pods\' logs ("kubectl logs job/NAME")' });
      const want = o.spec?.completions ?? 1;
      if ((s.succeeded ?? 0) >= want) return { ready: true };
      return { ready: false, waiting: `${name}: ${s.succeeded ?? 0} of ${want} completions`, selector: o.spec?.selector?.matchLabels ?? o.spec?.template?.metadata?.labels, images };
    }
    default:
      return { ready: true };
  }
}

/** The pods of a workload, whatever its rollout status says. */
function statusSelector(o: Obj): Record<string, string> | undefined {
  return o.kind === 'Pod' ? o.metadata.labels : o.spec?.selector?.matchLabels ?? (o.kind === 'Job' ? o.spec?.template?.metadata?.labels : undefined);
}

export interface ReadinessOptions {
  api: KubernetesObjectApi;
  core: CoreV1Api;
  service: string;
  objects: K8sObject[];
  signal: AbortSignal;
  onWaiting(message: string): void;
}

export async function waitReady(opts: ReadinessOptions): Promise<void> {
  const { api, signal } = opts;
  let last = '';
  const logTries = new Map<string, number>();
  let readyPolls = 0;
  for (;;) {
    signal.throwIfAborted();
    const waiting: string[] = [];
    for (const o of opts.objects) {
      if (!['Deployment', 'StatefulSet', 'DaemonSet', 'Pod', 'Job'].includes(o.kind)) continue;
      const live = await api.read({ apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.metadata.name, namespace: o.metadata.namespace } }) as Obj;
      const st = statusOf(live);
      // Pods are checked even when the rollout looks complete: a container without a readiness
      // probe counts as available the moment it starts, before it crashes.
      const selector = st.selector ?? statusSelector(live);
      const why = selector ? await podTrouble(opts, live, selector, st.images ?? templateImages(live), logTries) : undefined;
      if (st.ready) continue;
      waiting.push(why ? `${st.waiting!} (${why})` : st.waiting!);
    }
    // Ready on two polls in a row: one more look at the pods before calling it healthy.
    if (waiting.length === 0 && ++readyPolls >= 2) return;
    if (waiting.length > 0) readyPolls = 0;
    const message = waiting.join('; ');
    if (message && message !== last) opts.onWaiting(message);
    last = message;
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, POLL_MS);
      function done() { clearTimeout(t); signal.removeEventListener('abort', done); resolve(); }
      signal.addEventListener('abort', done, { once: true });
    });
  }
}

/** Throws for a failure that waiting will not heal; returns a short note for one that may. */
async function podTrouble(opts: ReadinessOptions, owner: Obj, selector: Record<string, string>, images: string[], logTries: Map<string, number>): Promise<string | undefined> {
  const ns = owner.metadata.namespace ?? 'default';
  const labelSelector = Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(',');
  const pods = (await opts.core.listNamespacedPod({ namespace: ns, labelSelector })).items
    // Pods of an older template are on their way out; their trouble is not this rollout's.
    .filter((p) => !p.metadata?.deletionTimestamp && [...(p.spec?.containers ?? []), ...(p.spec?.initContainers ?? [])].every((c) => images.length === 0 || images.includes(c.image ?? '')));
  const owned = refOf({ kind: owner.kind, metadata: { name: owner.metadata.name } });
  for (const pod of pods) {
    const podName = pod.metadata?.name ?? '?';
    for (const cs of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
      const w = cs.state?.waiting;
      if (!w) continue;
      if (w.reason === 'ImagePullBackOff' || w.reason === 'ErrImagePull' || w.reason === 'InvalidImageName') {
        const image = pod.spec?.containers?.find((c) => c.name === cs.name)?.image ?? pod.spec?.initContainers?.find((c) => c.name === cs.name)?.image ?? cs.image;
        const message = w.message ?? await lastEvent(opts.core, ns, podName, ['Failed']) ?? 'no message';
        // ErrImagePull once can be a registry hiccup; the kubelet backing off means it failed again.
        if (w.reason === 'ErrImagePull') return `pulling ${image} failed once: ${message}`;
        throw new DevloopError(`${owned}: pod ${podName} cannot pull image ${image} (${w.reason}): ${message}`, {
          code: 'K8S_IMAGE_PULL', service: opts.service,
          hint: `check that ${image} exists in its registry and that the cluster can reach that registry; an image devloop builds must be named by its service name in the manifest (image: ${opts.service}) to be replaced by the pushed reference`,
        });
      }
      if (w.reason === 'CrashLoopBackOff') {
        const logs = await previousLogs(opts.core, ns, podName, cs.name);
        // The log is the fix's best clue: give the kubelet a few polls to serve it before failing without.
        const tries = (logTries.get(podName) ?? 0) + 1;
        logTries.set(podName, tries);
        if (!logs && tries < LOG_TRIES) return `container ${cs.name} in CrashLoopBackOff, reading its log`;
        const exit = cs.lastState?.terminated;
        throw new DevloopError(`${owned}: container ${cs.name} of pod ${podName} keeps crashing (CrashLoopBackOff, ${cs.restartCount} restarts, last exit code ${exit?.exitCode ?? '?'}${exit?.reason ? ` ${exit.reason}` : ''})${logs ? `; its last log lines:\n${logs}` : '; it wrote no log'}`, {
          code: 'K8S_CRASH_LOOP', service: opts.service,
          hint: `fix what makes the container exit; "kubectl logs -n ${ns} ${podName} -c ${cs.name} --previous" shows its whole log`,
        });
      }
    }
    const sched = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    if (pod.status?.phase === 'Pending' && sched?.status === 'False' && sched.reason === 'Unschedulable') {
      const message = await lastEvent(opts.core, ns, podName, ['FailedScheduling']) ?? sched.message ?? 'no message';
      throw new DevloopError(`${owned}: pod ${podName} cannot be scheduled: ${message}`, {
        code: 'K8S_UNSCHEDULABLE', service: opts.service,
        hint: 'lower the resource requests, or relax nodeSelector/affinity/tolerations so a node fits',
      });
    }
  }
  return undefined;
}

async function lastEvent(core: CoreV1Api, namespace: string, pod: string, reasons: string[]): Promise<string | undefined> {
  const events = (await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${pod}` })).items
    .filter((e) => reasons.includes(e.reason ?? ''))
    .sort((a, b) => String(a.lastTimestamp ?? a.eventTime ?? '').localeCompare(String(b.lastTimestamp ?? b.eventTime ?? '')));
  return events.at(-1)?.message;
}

/**
 * The last lines of the container that crashed. Right after a restart the kubelet may answer
 * "unable to retrieve container logs" for `previous`; while the new one waits in back-off, the
 * current log is that same crashed container's, so it is the second place to look.
 */
async function previousLogs(core: CoreV1Api, namespace: string, pod: string, container: string): Promise<string> {
  for (const previous of [true, false]) {
    try {
      const text = String(await core.readNamespacedPodLog({ name: pod, namespace, container, previous, tailLines: LOG_LINES })).trimEnd();
      if (text && !/^unable to retrieve container logs/.test(text)) return text.split('\n').map((l) => `  ${l}`).join('\n');
    } catch { /* try the other */ }
  }
  return '';
}

export type { V1Pod };
