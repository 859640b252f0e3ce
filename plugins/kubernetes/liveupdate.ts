/**
 * Live update into the pods of a Kubernetes service (`shouldRebuild`), with the rules of the
 * local runtimes (plugins/shared/liveupdate.ts): every ready pod of the service (found by the
 * applied workloads' selectors) gets the changed files through the exec API as a tar stream (as
 * `kubectl cp` does: the image needs `sh` and `tar`), deletions removed in the same exec, then the
 * `run` steps. Anything that does not work out (no tar, exec refused, a pod gone, a step failing)
 * falls back to a rebuild, and the log says why.
 *
 * `restart` restarts the service's process inside the container, under the sh supervisor devloop
 * put it under when it applied the manifests (restart.ts); restarting the container instead
 * (killing its PID 1) would bring it back from the image, without the synced files, so a container
 * not under the supervisor (no /bin/sh in the image) rebuilds.
 *
 * Stale pods: a live update leaves the pods ahead of the image they run. A pod that comes up later
 * (a `kubectl delete pod`, an eviction, a crash that restarts the container) starts from that image
 * and would serve the old code. As Tilt does after a live-updated container is replaced, that
 * triggers a rebuild: the new image has the live-updated files and is rolled out. So from the
 * first live update of a deployment, its pods are polled (once a second, like the log follower)
 * until the next deployment; a live update that finds such a pod rebuilds instead.
 */
import { lstat, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { Writable, type Readable } from 'node:stream';
import type { V1Pod, V1Status } from '@kubernetes/client-node';
import type { ChangeContext } from '../../core/engine/contexts.js';
import type { Engine } from '../../core/engine/engine.js';
import { packEntries, type TarEntry } from '../docker/tar.js';
import { LineSplitter, LineTail } from '../shared/lines.js';
import { PerServiceQueue, planLiveUpdate, type LiveUpdateCopy } from '../shared/liveupdate.js';
import { formatMs } from '../shared/time.js';
import { apiError } from './apply.js';
import { podSelectors, shortPodName } from './logs.js';
import { ANNOTATION_SUPERVISED, RESTART_GRACE_S, restartInPod } from './restart.js';
import type { KubeDeployment } from './runtime.js';

const POLL_MS = 1_000;

/** One container instance: a pod (by uid) and the id of its container's current run. */
export interface Instance {
  pod: string;
  uid: string;
  container: string;
  containerID?: string;
  /** The container runs under the restart supervisor (restart.ts). */
  supervised: boolean;
}

/** What the live updates since the last deploy of a service did to its pods. */
interface Drift {
  /** Instances that received every live update since the deploy, by pod uid. */
  updated: Map<string, string | undefined>;
  /** Files live-updated since the deploy, root-relative. */
  files: Set<string>;
  /** Set once a replaced pod triggered the rebuild: one trigger per deployment. */
  triggered?: boolean;
}

/** Pure: the container devloop built the image of (by the image the manifests were given), else the first. */
export function chooseContainer(pod: V1Pod, image: string | undefined): string | undefined {
  const containers = pod.spec?.containers ?? [];
  return (image ? containers.find((c) => c.image === image) : undefined)?.name ?? containers[0]?.name;
}

/** Pure: the pods a live update goes to: not being deleted, Ready, the chosen container running. */
export function readyInstances(pods: V1Pod[], image: string | undefined): Instance[] {
  const out: Instance[] = [];
  for (const pod of pods) {
    if (pod.metadata?.deletionTimestamp) continue;
    if (!pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) continue;
    const container = chooseContainer(pod, image);
    const cs = pod.status?.containerStatuses?.find((s) => s.name === container);
    if (!container || !cs?.state?.running) continue;
    const supervised = pod.metadata?.annotations?.[ANNOTATION_SUPERVISED] === container;
    out.push({ pod: pod.metadata?.name ?? '', uid: pod.metadata?.uid ?? '', container, containerID: cs.containerID, supervised });
  }
  return out;
}

/**
 * Pure: the first pod that does not have the live-updated files: a pod the updates never reached,
 * or whose container started again since (a new container starts from the image). Pods being
 * deleted are on their way out and do not count.
 */
export function staleInstance(pods: V1Pod[], image: string | undefined, updated: ReadonlyMap<string, string | undefined>): V1Pod | undefined {
  return pods.find((pod) => {
    if (pod.metadata?.deletionTimestamp) return false;
    const uid = pod.metadata?.uid ?? '';
    if (!updated.has(uid)) return true;
    const container = chooseContainer(pod, image);
    const id = pod.status?.containerStatuses?.find((s) => s.name === container)?.containerID;
    return id !== undefined && id !== updated.get(uid);
  });
}

/**
 * Pure: the exec command that unpacks the archive on stdin at `/` and removes `deletions`. `-o`:
 * files belong to the container's user (the exec runs as it), so a non-root service can still
 * rewrite them, as with the Docker runtime. No archive (only deletions): no tar needed.
 */
export function syncCommand(hasArchive: boolean, deletions: string[]): string[] {
  const rm = 'if [ $# -gt 0 ]; then rm -rf -- "$@"; fi';
  return ['sh', '-c', hasArchive ? `tar -xof - -C / && ${rm}` : rm, 'devloop-sync', ...deletions];
}

/** Pure: why an exec that failed to start or exited non-zero failed, in words a user can act on. */
export function execFailure(what: string, exitCode: number | undefined, message: string, output: string[]): string {
  const text = `${message}\n${output.join('\n')}`;
  const missing = /executable file not found|no such file or directory|not found/i.exec(text) && (exitCode === 127 || exitCode === 126 || exitCode === undefined || /executable file not found/.test(text));
  if (missing) {
    const tool = /"?(sh|tar|rm)"?:? (?:executable file )?not found/.exec(text)?.[1] ?? 'sh or tar';
    return `${what}: the container has no \`${tool}\` (live update into pods copies files with sh and tar, as kubectl cp does; add them to the image, e.g. FROM a busybox- or debian-based image)`;
  }
  if (/Unexpected server response: 404/.test(message)) return `${what}: the pod is gone (404)`;
  if (/Unexpected server response: 403/.test(message)) return `${what}: exec refused (403): the kube context's user may not create pods/exec in this namespace`;
  const last = output.slice(-3).join(' / ');
  return `${what} failed${exitCode !== undefined ? ` with exit code ${exitCode}` : ''}${message ? `: ${message}` : ''}${last ? ` (output: ${last})` : ''}`;
}

export interface PodExecResult {
  exitCode: number;
  output: string[];
}

/**
 * Runs a command in a pod's container through the exec API (websocket). Resolves with the exit
 * code once the API server sends the status; a connection that fails or closes without a status
 * rejects (the pod is gone, exec is refused).
 */
export async function execInPod(
  kc: import('@kubernetes/client-node').KubeConfig, namespace: string, pod: string, container: string, command: string[],
  options: { stdin?: Readable; signal?: AbortSignal; onLine?: (line: string, stream: 'stdout' | 'stderr') => void; tailLines?: number } = {},
): Promise<PodExecResult> {
  options.signal?.throwIfAborted();
  const { Exec } = await import('@kubernetes/client-node');
  const tail = new LineTail(options.tailLines ?? 30);
  const sink = (name: 'stdout' | 'stderr') => {
    const split = new LineSplitter((line) => { tail.push(line); options.onLine?.(line, name); });
    return new Writable({ write(chunk: Buffer, _enc, cb) { split.push(chunk); cb(); }, final(cb) { split.end(); cb(); } });
  };
  let status: V1Status | undefined;
  const ws = await new Exec(kc).exec(namespace, pod, container, command, sink('stdout'), sink('stderr'), options.stdin ?? null, false, (s) => { status = s; });
  const onAbort = () => ws.close();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once('close', () => resolve());
      ws.once('error', (err: Error) => reject(err));
      options.stdin?.once('error', (err) => { ws.close(); reject(err); });
    });
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  options.signal?.throwIfAborted();
  if (!status) throw new Error(`exec into pod ${pod} ended without an exit status (the pod may be gone)`);
  if (status.status === 'Success') return { exitCode: 0, output: tail.lines() };
  const code = status.details?.causes?.find((c) => c.reason === 'ExitCode')?.message;
  if (code !== undefined && status.reason === 'NonZeroExitCode') return { exitCode: Number(code), output: tail.lines() };
  // The command could not start (no such binary, container not running): no exit code of its own.
  throw Object.assign(new Error(status.message ?? 'exec failed'), { output: tail.lines() });
}

/** The tar entries for the copies (files read now; a missing file is a deletion), with absolute destinations. */
export async function syncEntries(root: string, copies: LiveUpdateCopy[], workdir: string): Promise<{ entries: TarEntry[]; deletions: string[] }> {
  const entries: TarEntry[] = [];
  const deletions: string[] = [];
  const add = async (abs: string, dest: string): Promise<void> => {
    const st = await lstat(abs).catch(() => undefined);
    if (!st) { deletions.push(dest); return; }
    const base = { name: dest.replace(/^\/+/, ''), mode: st.mode, mtime: st.mtime };
    if (st.isSymbolicLink()) entries.push({ ...base, type: 'symlink', linkname: await readlink(abs) });
    else if (st.isFile()) entries.push({ ...base, type: 'file', source: abs });
    else if (st.isDirectory()) {
      entries.push({ ...base, type: 'directory' });
      for (const child of await readdir(abs)) await add(path.join(abs, child), path.posix.join(dest, child));
    }
  };
  for (const c of copies) await add(path.join(root, c.from), path.posix.isAbsolute(c.to) ? c.to : path.posix.join(workdir, c.to));
  return { entries, deletions };
}

export class KubeLiveUpdate {
  private readonly drift = new WeakMap<KubeDeployment, Drift>();
  /** Working directory by pod uid/container (relative sync targets are relative to it). */
  private readonly workdirs = new Map<string, Promise<string>>();
  private readonly queue = new PerServiceQueue();
  private updates = 0;

  constructor(private engine: Engine, private plugin: string) {}

  /** `shouldRebuild` for a Kubernetes deployment: false when applied in place, undefined to rebuild. */
  apply(ctx: ChangeContext, deployment: KubeDeployment): Promise<false | undefined> {
    return this.queue.run(ctx.service, () => this.update(ctx, deployment));
  }

  private async update(ctx: ChangeContext, deployment: KubeDeployment): Promise<false | undefined> {
    const started = Date.now();
    const rel = ctx.changedFiles.map((f) => path.relative(ctx.root, f).split(path.sep).join('/'));
    const plan = planLiveUpdate(ctx.config.liveUpdate, rel);
    if (plan.action === 'rebuild') {
      ctx.logger.info(`live update does not apply (${plan.reason}); rebuilding`);
      return undefined;
    }
    if (this.engine.deployment(ctx.service) !== deployment) return undefined;
    const { kc } = deployment.clients;
    const image = deployment.image;
    try {
      const pods = await this.pods(deployment);
      const drift = this.drift.get(deployment);
      const stale = drift && staleInstance(pods, image, drift.updated);
      if (stale) {
        ctx.logger.info(`live update does not apply (pod ${shortPodName(stale)} came up from the last built image, without ${describeFiles(drift.files)}); rebuilding`);
        return undefined;
      }
      const targets = readyInstances(pods, image);
      if (targets.length === 0) {
        ctx.logger.info('live update skipped: no ready pod of the service to update; rebuilding');
        return undefined;
      }
      const unsupervised = plan.restart ? targets.find((t) => !t.supervised) : undefined;
      if (unsupervised) {
        ctx.logger.info(`live update does not apply (a \`restart\` step, and the container of pod ${unsupervised.pod} does not run under devloop's restart supervisor: its image has no /bin/sh, or its command is unknown; restarting the container would lose the synced files); rebuilding`);
        return undefined;
      }
      const namespaceOf = new Map(pods.map((p) => [p.metadata?.uid ?? '', p.metadata?.namespace ?? 'default']));
      const steps = ctx.steps;
      let deleted = 0;
      await Promise.all(targets.map(async (t) => {
        const ns = namespaceOf.get(t.uid)!;
        const needsWorkdir = plan.copies.some((c) => !path.posix.isAbsolute(c.to));
        const workdir = needsWorkdir ? await this.workdir(deployment, ns, t) : '/';
        const { entries, deletions } = await syncEntries(ctx.root, plan.copies, workdir);
        deleted = deletions.length;
        if (!entries.length && !deletions.length) return;
        const command = syncCommand(entries.length > 0, deletions);
        const r = await execInPod(kc, ns, t.pod, t.container, command, { stdin: entries.length ? packEntries(entries) : undefined, signal: ctx.signal })
          .catch((err) => { throw new Error(execFailure(`copying into pod ${t.pod}`, undefined, apiError(err).message, (err as { output?: string[] }).output ?? [])); });
        if (r.exitCode !== 0) throw new Error(execFailure(`copying into pod ${t.pod}`, r.exitCode, '', r.output));
      }));
      steps.push({ name: 'sync', ms: Date.now() - started });
      const runStart = Date.now();
      for (const command of plan.runs) {
        ctx.logger.info(`live update: run \`${command}\`${targets.length > 1 ? ` in ${targets.length} pods` : ''}`);
        const results = await Promise.all(targets.map((t) => execInPod(kc, namespaceOf.get(t.uid)!, t.pod, t.container, ['sh', '-c', command], {
          signal: ctx.signal, onLine: (line, stream) => ctx.logger.output(targets.length > 1 ? `[${t.pod}] ${line}` : line, stream),
        }).catch((err) => ({ exitCode: -1, output: [apiError(err).message] }))));
        const failed = results.findIndex((r) => r.exitCode !== 0);
        if (failed !== -1) {
          const r = results[failed];
          ctx.logger.warn(`live update step \`${command}\` failed in pod ${targets[failed].pod}${r.exitCode > 0 ? ` with exit code ${r.exitCode}` : ''}; rebuilding. Its last output:\n${r.output.map((l) => `  ${l}`).join('\n') || '  (none)'}`);
          return undefined;
        }
      }
      if (plan.runs.length) steps.push({ name: 'run', ms: Date.now() - runStart });
      if (plan.restart) {
        const restartStart = Date.now();
        await Promise.all(targets.map((t) => {
          const ns = namespaceOf.get(t.uid)!;
          return restartInPod(kc, ns, t.pod, t.container, (command) => execInPod(kc, ns, t.pod, t.container, command, { signal: ctx.signal }), (RESTART_GRACE_S + 5) * 1000);
        }));
        steps.push({ name: 'restart', ms: Date.now() - restartStart });
      }
      this.record(ctx, deployment, targets, rel);
      const ms = Date.now() - started;
      const synced = plan.copies.length - deleted;
      const parts = [`synced ${synced} file${synced === 1 ? '' : 's'}`];
      if (deleted) parts.push(`deleted ${deleted}`);
      if (plan.runs.length) parts.push(`ran ${plan.runs.length} step${plan.runs.length === 1 ? '' : 's'}`);
      if (plan.restart) parts.push('restarted the process');
      ctx.logger.info(`live update: ${parts.join(', ')} in ${targets.length} pod${targets.length === 1 ? '' : 's'} in ${formatMs(ms)}, no rebuild`);
      ctx.dispatch({ type: 'service/extra', service: ctx.service, plugin: this.plugin, data: { liveUpdates: ++this.updates, lastLiveUpdate: { at: Date.now(), files: rel, durationMs: ms, pods: targets.map((t) => t.pod) } } });
      return false;
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      ctx.logger.warn(`live update failed (${err instanceof Error ? err.message : apiError(err).message}); rebuilding`);
      return undefined;
    }
  }

  private async pods(deployment: KubeDeployment): Promise<V1Pod[]> {
    const pods: V1Pod[] = [];
    for (const { namespace, selector } of podSelectors(deployment.objects)) {
      pods.push(...(await deployment.clients.core.listNamespacedPod({ namespace, labelSelector: selector })).items);
    }
    return pods;
  }

  private workdir(deployment: KubeDeployment, namespace: string, t: Instance): Promise<string> {
    const key = `${t.uid}/${t.container}/${t.containerID}`;
    let w = this.workdirs.get(key);
    if (!w) {
      // An exec starts in the container's working directory (the image's WORKDIR or the manifest's workingDir).
      w = execInPod(deployment.clients.kc, namespace, t.pod, t.container, ['sh', '-c', 'pwd'], { tailLines: 1 }).then((r) => {
        if (r.exitCode !== 0 || !r.output[0]?.startsWith('/')) throw new Error(execFailure(`reading the working directory of pod ${t.pod}`, r.exitCode, '', r.output));
        return r.output[0];
      }, (err) => { throw new Error(execFailure(`reading the working directory of pod ${t.pod}`, undefined, apiError(err).message, (err as { output?: string[] }).output ?? [])); });
      w.catch(() => this.workdirs.delete(key));
      this.workdirs.set(key, w);
    }
    return w;
  }

  /** The pods that have the files now; the first live update of a deployment starts watching for replaced ones. */
  private record(ctx: ChangeContext, deployment: KubeDeployment, targets: Instance[], files: string[]): void {
    let drift = this.drift.get(deployment);
    const first = !drift;
    drift ??= { updated: new Map(), files: new Set() };
    drift.updated = new Map(targets.map((t) => [t.uid, t.containerID]));
    for (const f of files) drift.files.add(f);
    this.drift.set(deployment, drift);
    if (first) void this.watch(ctx, deployment, drift);
  }

  /** Until the next deployment: a pod that comes up without the live-updated files triggers a rebuild. */
  private async watch(ctx: ChangeContext, deployment: KubeDeployment, drift: Drift): Promise<void> {
    const { engine } = this;
    const current = () => engine.deployment(ctx.service) === deployment && !engine.signal.aborted;
    while (current() && !drift.triggered) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS).unref());
      if (!current()) return;
      let pods: V1Pod[];
      try {
        // Not while a live update is changing `updated`.
        await this.queue.idle(ctx.service);
        pods = await this.pods(deployment);
      } catch {
        continue; // the API server is away for a moment: the next poll looks again
      }
      const stale = staleInstance(pods, deployment.image, drift.updated);
      if (!stale || !current()) continue;
      drift.triggered = true;
      const files = [...drift.files];
      engine.logger(ctx.service).info(`pod ${shortPodName(stale)} came up from the last built image, without the live-updated ${describeFiles(drift.files)}; rebuilding so that every pod runs them`);
      engine.trigger(ctx.service, { reason: 'pod-replaced', files });
    }
  }
}

function describeFiles(files: Set<string>): string {
  const list = [...files];
  return list.length <= 3 ? list.join(', ') : `${list.slice(0, 3).join(', ')} and ${list.length - 3} more`;
}
