/**
 * Readiness of what was applied, by kind: a Deployment/StatefulSet/DaemonSet whose rollout is
 * complete, a Pod Ready, a Job complete, a Service with a ready endpoint (its EndpointSlices), a
 * custom resource whose Ready/Available condition is True. While waiting, `onWaiting` says on what
 * ("deployment/web: 1 of 2 replicas updated (pod web-x: Readiness probe failed: ...)"). The pods
 * behind a workload are checked for the failures that never heal by waiting, each turned into an
 * error with its fix: an image that cannot be pulled (pushed again once when devloop built it), a
 * container in CrashLoopBackOff (with the last lines of the previous container's log), one killed
 * for memory (its limit; under Autopilot the next valid size), a pod the scheduler cannot place
 * (with its event message), a rollout past its progress deadline (with the last probe result).
 * A short poll rather than watches: a handful of objects per service, and a poll needs no
 * reconnect logic; the signal stops it. The pure rules are in failures.ts.
 */
import type { CoreV1Api, KubernetesObjectApi, V1Pod } from '@kubernetes/client-node';
import { DevloopError } from '../../core/errors.js';
import { applyFailure, customResourceStatus, isCustomResource, oomMessage, probeFailure, serviceStatus, type AutopilotSettings, type EndpointSliceLike } from './failures.js';
import { refOf, type K8sObject } from './manifests.js';

/**
 * A rollout on a dev cluster is mostly done within seconds: polled every 150 ms for its first 15 s
 * (a handful of GETs per poll), then every 500 ms. A rollout that looks done is looked at once more
 * 300 ms later, to catch a container that counts as available the moment it starts, then crashes.
 */
const FAST_POLL_MS = 150;
const FAST_FOR_MS = 15_000;
const POLL_MS = 500;
const CONFIRM_MS = 300;
const LOG_LINES = 20;
const LOG_TRIES = 10;

interface Status { ready: boolean; waiting?: string; selector?: Record<string, string>; images?: string[]; note?: string; stuck?: string }

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
      const progressing = (s.conditions ?? []).find((c: { type: string }) => c.type === 'Progressing');
      const stuck = progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded'
        ? `${name} made no progress for its progressDeadlineSeconds (${o.spec?.progressDeadlineSeconds ?? 600}s): ${progressing.message?.replace(/\.$/, '') ?? 'ProgressDeadlineExceeded'}` : undefined;
      const updated = s.updatedReplicas ?? 0;
      if (stuck) return { ready: false, waiting: `${name}: ${updated} of ${want} replicas updated, ${s.availableReplicas ?? 0} available`, selector, images, stuck };
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

const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Pod', 'Job']);
/** How long a custom resource may go without a Ready/Available condition before it counts as ready. */
const CR_GRACE_MS = 5_000;

export interface ReadinessOptions {
  api: KubernetesObjectApi;
  core: CoreV1Api;
  service: string;
  objects: K8sObject[];
  signal: AbortSignal;
  onWaiting(message: string): void;
  /** Something worth a line in the service log (a re-push, a readiness guess). */
  onNote?(message: string): void;
  /**
   * Pushes `image` again when devloop built and pushed it (the registry lost it, or the push never
   * landed); resolves to the reference pushed, undefined when the image is not devloop's.
   */
  repush?(image: string): Promise<string | undefined>;
  /** Autopilot's settings when the service deploys under Autopilot: the OOM fix names the next valid size. */
  autopilot?: AutopilotSettings;
  /** Default CR_GRACE_MS. */
  customResourceGraceMs?: number;
  /**
   * Autopilot's node provisioner runs (autopilot/provisioner.ts): what an Unschedulable pod waits
   * for while a node is on its way, undefined when none will come (then it fails as without one).
   */
  awaitingNode?(pod: { metadata?: { uid?: string; namespace?: string; name?: string } }): string | undefined;
}

/** What one waitReady remembers between polls. */
interface Memory { logTries: Map<string, number>; repushed: Set<string>; noted: Set<string>; graceOver: boolean }

export async function waitReady(opts: ReadinessOptions): Promise<void> {
  const { signal } = opts;
  let last = '';
  const started = Date.now();
  const mem: Memory = { logTries: new Map(), repushed: new Set(), noted: new Set(), graceOver: false };
  let readyPolls = 0;
  for (;;) {
    signal.throwIfAborted();
    mem.graceOver = Date.now() - started >= (opts.customResourceGraceMs ?? CR_GRACE_MS);
    const waiting: string[] = [];
    const later: string[] = [];
    const notes: string[] = [];
    for (const o of opts.objects) {
      let st: Status;
      try {
        st = await objectStatus(opts, o as Obj, mem);
      } catch (err) {
        if (err instanceof DevloopError || signal.aborted) throw err;
        // The connection and the credentials can fail mid-rollout too; other answers are about the object itself.
        const f = applyFailure(err, o, 'while waiting for it to become ready', undefined, 'read');
        if (f.code !== 'K8S_UNREACHABLE' && f.code !== 'K8S_UNAUTHORIZED') throw err;
        throw new DevloopError(f.message, { code: f.code, service: opts.service, hint: f.hint, cause: err });
      }
      if (st.note) notes.push(st.note);
      // Workloads first: a Service waiting for endpoints mostly waits for their pods.
      if (!st.ready) (WORKLOADS.has(o.kind) ? waiting : later).push(st.waiting!);
    }
    waiting.push(...later);
    // Ready on two polls in a row: one more look at the pods before calling it healthy.
    if (waiting.length === 0 && ++readyPolls >= 2) {
      for (const n of notes) if (!mem.noted.has(n)) { mem.noted.add(n); opts.onNote?.(n); }
      return;
    }
    if (waiting.length > 0) readyPolls = 0;
    const message = waiting.join('; ');
    if (message && message !== last) opts.onWaiting(message);
    last = message;
    const pause = waiting.length === 0 ? CONFIRM_MS : Date.now() - started < FAST_FOR_MS ? FAST_POLL_MS : POLL_MS;
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, pause);
      function done() { clearTimeout(t); signal.removeEventListener('abort', done); resolve(); }
      signal.addEventListener('abort', done, { once: true });
    });
  }
}

async function objectStatus(opts: ReadinessOptions, o: Obj, mem: Memory): Promise<Status> {
  const ref = { apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.metadata.name, namespace: o.metadata.namespace } };
  if (WORKLOADS.has(o.kind)) {
    const live = await opts.api.read(ref) as Obj;
    const st = statusOf(live);
    // Pods are checked even when the rollout looks complete: a container without a readiness
    // probe counts as available the moment it starts, before it crashes.
    const selector = st.selector ?? statusSelector(live);
    const why = selector ? await podTrouble(opts, live, selector, st.images ?? templateImages(live), mem) : undefined;
    if (st.stuck) {
      throw new DevloopError(`${st.stuck}${why ? `; ${why}` : ''}`, {
        code: 'K8S_ROLLOUT_STUCK', service: opts.service,
        hint: why && /probe failed/.test(why) ? 'make the probe pass (fix the app, or the probe\'s path, port or initialDelaySeconds)' : `see "kubectl describe ${o.kind.toLowerCase()} ${o.metadata.name}${o.metadata.namespace ? ` -n ${o.metadata.namespace}` : ''}" and its pods' events`,
      });
    }
    if (st.ready) return st;
    return { ...st, waiting: why ? `${st.waiting!} (${why})` : st.waiting! };
  }
  if (o.kind === 'Service' && o.apiVersion === 'v1') {
    const early = serviceStatus(o, []);
    const selector = o.spec?.selector as Record<string, string> | undefined;
    if (early.ready || !selector) return { ready: true };
    const ns = o.metadata.namespace ?? 'default';
    const slices = (await opts.api.list('discovery.k8s.io/v1', 'EndpointSlice', ns, undefined, undefined, undefined, undefined, `kubernetes.io/service-name=${o.metadata.name}`)).items as EndpointSliceLike[];
    let st = serviceStatus(o, slices);
    if (!st.ready && slices.every((sl) => !sl.endpoints?.length)) {
      const labelSelector = Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(',');
      const pods = (await opts.core.listNamespacedPod({ namespace: ns, labelSelector })).items;
      st = serviceStatus(o, slices, pods.length);
    }
    return st;
  }
  if (isCustomResource(o.apiVersion)) return customResourceStatus(await opts.api.read(ref) as Obj, mem.graceOver);
  return { ready: true };
}

/** `127.0.0.1:5001` for `127.0.0.1:5001/x@sha256:..`, `docker.io` for `busybox` (the reference rules of the distribution spec). */
export function registryOf(image: string): string {
  const first = image.split('/')[0];
  return image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost') ? first : 'docker.io';
}

/** Throws for a failure that waiting will not heal; returns a short note for one that may. */
async function podTrouble(opts: ReadinessOptions, owner: Obj, selector: Record<string, string>, images: string[], mem: Memory): Promise<string | undefined> {
  const ns = owner.metadata.namespace ?? 'default';
  const labelSelector = Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(',');
  const pods = (await opts.core.listNamespacedPod({ namespace: ns, labelSelector })).items
    // Pods of an older template are on their way out; their trouble is not this rollout's.
    .filter((p) => !p.metadata?.deletionTimestamp && [...(p.spec?.containers ?? []), ...(p.spec?.initContainers ?? [])].every((c) => images.length === 0 || images.includes(c.image ?? '')));
  const owned = refOf({ kind: owner.kind, metadata: { name: owner.metadata.name } });
  let note: string | undefined;
  for (const pod of pods) {
    const podName = pod.metadata?.name ?? '?';
    let unready = false;
    for (const cs of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
      if (!cs.ready) unready = true;
      // Killed for memory and not back up: restarting into the same limit ends the same way.
      const oom = cs.state?.terminated?.reason === 'OOMKilled' || cs.lastState?.terminated?.reason === 'OOMKilled';
      if (oom && !cs.ready && !cs.state?.running) {
        const { message, hint } = oomMessage(owned, pod as never, cs.name, cs.restartCount, opts.autopilot);
        throw new DevloopError(message, { code: 'K8S_OOM_KILLED', service: opts.service, hint });
      }
      const w = cs.state?.waiting;
      if (!w) continue;
      if (w.reason === 'ImagePullBackOff' || w.reason === 'ErrImagePull' || w.reason === 'InvalidImageName') {
        const image = pod.spec?.containers?.find((c) => c.name === cs.name)?.image ?? pod.spec?.initContainers?.find((c) => c.name === cs.name)?.image ?? cs.image;
        const message = w.message ?? await lastEvent(opts.core, ns, podName, ['Failed']) ?? 'no message';
        if (opts.repush && image.includes('@sha256:') && !mem.repushed.has(image)) {
          mem.repushed.add(image);
          const pushed = await opts.repush(image);
          if (pushed) {
            opts.onNote?.(`${owned}: pod ${podName} could not pull ${image} (${w.reason}: ${message}); devloop built it, so it pushed it again${pushed !== image ? ` (as ${pushed}: redeploy to use that)` : ''}`);
            await replacePods(opts.core, ns, pods, image);
            return `pushed ${image} again after ${w.reason}; pulling it again`;
          }
        }
        // ErrImagePull once can be a registry hiccup; the kubelet backing off means it failed again.
        if (w.reason === 'ErrImagePull') return `pulling ${image} failed once: ${message}`;
        const again = mem.repushed.has(image) ? ', even after devloop pushed it again' : '';
        throw new DevloopError(`${owned}: pod ${podName} cannot pull image ${image} (${w.reason}) from registry ${registryOf(image)}${again}: ${message}`, {
          code: 'K8S_IMAGE_PULL', service: opts.service,
          hint: `check that ${image} exists in ${registryOf(image)} and that the cluster's nodes can reach that registry; an image devloop builds must be named by its service name in the manifest (image: ${opts.service}) to be replaced by the pushed reference`,
        });
      }
      if (w.reason === 'CrashLoopBackOff') {
        const logs = await previousLogs(opts.core, ns, podName, cs.name);
        // The log is the fix's best clue: give the kubelet a few polls to serve it before failing without.
        const tries = (mem.logTries.get(podName) ?? 0) + 1;
        mem.logTries.set(podName, tries);
        if (!logs && tries < LOG_TRIES) return `container ${cs.name} in CrashLoopBackOff, reading its log`;
        const exit = cs.lastState?.terminated;
        const probe = probeFailure(await podEvents(opts.core, ns, podName));
        const killedByProbe = probe && /^(Liveness|Startup) probe failed/.test(probe) ? `; the kubelet restarted it after: ${probe}` : '';
        throw new DevloopError(`${owned}: container ${cs.name} of pod ${podName} keeps crashing (CrashLoopBackOff, ${cs.restartCount} restarts, last exit code ${exit?.exitCode ?? '?'}${exit?.reason ? ` ${exit.reason}` : ''})${killedByProbe}${logs ? `; its last log lines:\n${logs}` : '; it wrote no log'}`, {
          code: 'K8S_CRASH_LOOP', service: opts.service,
          hint: killedByProbe
            ? `make the ${probe!.split(' ')[0].toLowerCase()} probe pass (fix the app, or the probe's path, port, initialDelaySeconds or failureThreshold)`
            : `fix what makes the container exit; "kubectl logs -n ${ns} ${podName} -c ${cs.name} --previous" shows its whole log`,
        });
      }
    }
    const sched = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    if (pod.status?.phase === 'Pending' && sched?.status === 'False' && sched.reason === 'Unschedulable') {
      const awaiting = opts.awaitingNode?.(pod);
      if (awaiting) { note ??= `pod ${podName}: ${awaiting}`; continue; }
      const message = await lastEvent(opts.core, ns, podName, ['FailedScheduling']) ?? sched.message ?? 'no message';
      throw new DevloopError(`${owned}: pod ${podName} cannot be scheduled: ${message}`, {
        code: 'K8S_UNSCHEDULABLE', service: opts.service,
        hint: 'lower the resource requests, or relax nodeSelector/affinity/tolerations so a node fits',
      });
    }
    // Running but not ready: a failing probe says why, in the kubelet's words.
    if (unready && !note && (pod.status?.containerStatuses ?? []).some((cs) => cs.state?.running)) {
      const probe = probeFailure(await podEvents(opts.core, ns, podName));
      if (probe) note = `pod ${podName}: ${probe}`;
    }
  }
  return note;
}

/**
 * Pods of a controller waiting on the kubelet's pull back-off (up to five minutes) are deleted
 * after a re-push: their replacements pull at once. A bare Pod has no controller to replace it,
 * so it waits for the kubelet's next try.
 */
async function replacePods(core: CoreV1Api, namespace: string, pods: V1Pod[], image: string): Promise<void> {
  for (const p of pods) {
    const pulling = [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]
      .some((cs) => /ImagePull|ErrImagePull/.test(cs.state?.waiting?.reason ?? '') && [...(p.spec?.containers ?? []), ...(p.spec?.initContainers ?? [])].some((c) => c.name === cs.name && c.image === image));
    if (!pulling || !p.metadata?.ownerReferences?.some((r) => r.controller)) continue;
    await core.deleteNamespacedPod({ name: p.metadata.name!, namespace, gracePeriodSeconds: 0 }).catch(() => { /* already gone */ });
  }
}

async function podEvents(core: CoreV1Api, namespace: string, pod: string) {
  return (await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${pod}` })).items;
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
