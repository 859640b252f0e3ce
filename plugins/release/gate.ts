/**
 * The gate between two canary steps: the canary's pods are Ready and none restarted, and a burst
 * of HTTP requests to the pods this step added, while they are still outside the Service (plan.ts),
 * answers 2xx often enough.
 *
 * Not done yet: the issue asks for the gate to read the monitoring plugin's Prometheus metrics
 * (the request error ratio of the canary's pods over the step). What is used instead is a burst
 * of requests devloop sends itself to the service's HTTP health path (or `/` when its health
 * check is not HTTP), counting non-2xx answers and connection errors. The burst goes through a
 * port-forward to the gated pods by name, one connection to each in turn: a port-forward reaches a
 * pod, never the Service, so the burst is the only traffic those pods have had when the gate
 * decides whether to admit them.
 */
import http from 'node:http';
import net from 'node:net';
import type { CoreV1Api, KubeConfig, V1Pod } from '@kubernetes/client-node';
import type { Logger } from '../../core/engine/contexts.js';
import type { GateResult } from './record.js';

export const BURST_REQUESTS = 40;
const CONCURRENCY = 4;
const REQUEST_TIMEOUT_MS = 5_000;

export interface GateTarget {
  namespace: string;
  /** Label selector (kubectl syntax) of every canary pod: their readiness and restarts gate the step. */
  canary: string;
  /** Label selector of the pods the burst goes to: those not admitted to the Service yet. */
  isolated: string;
  /** The Service's target port: a number or a container port name. */
  port: number | string;
  path: string;
  maxErrorRatio: number;
}

type Pods = { ready: number; notReady: number; restarts: number; names: string[] };

/** Ready pods matching a label selector, their names and restarts; the count of pods that are not Ready. */
export async function podHealth(core: CoreV1Api, namespace: string, labelSelector: string): Promise<Pods & { pods: V1Pod[] }> {
  const pods = (await core.listNamespacedPod({ namespace, labelSelector })).items.filter((p) => !p.metadata?.deletionTimestamp);
  const isReady = (p: V1Pod) => !!p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  const restarts = pods.reduce((n, p) => n + (p.status?.containerStatuses ?? []).reduce((m, c) => m + (c.restartCount ?? 0), 0), 0);
  const ready = pods.filter(isReady);
  return { ready: ready.length, notReady: pods.length - ready.length, restarts, names: ready.map((p) => p.metadata!.name!).sort(), pods: ready };
}

/**
 * The gate; `pods` in its result names the pods the burst went to (the isolated ones, or every
 * canary pod when this step added none), which run.ts admits to the Service when it passed.
 */
export async function runGate(kc: KubeConfig, core: CoreV1Api, t: GateTarget, logger: Logger): Promise<GateResult> {
  const before = await podHealth(core, t.namespace, t.canary);
  const isolated = await podHealth(core, t.namespace, t.isolated);
  // A step that added no pod (the same count as the last one) re-checks the admitted ones.
  const targets = isolated.pods.length ? isolated.pods : before.pods;
  const pods = targets.map((p) => p.metadata!.name!).sort();
  const base = { readyPods: before.ready, restarts: before.restarts, requests: 0, errors: 0, ratio: 0, path: t.path, pods };
  if (before.restarts > 0) return { ...base, passed: false, reason: `canary pods restarted ${before.restarts} time(s)` };
  if (before.ready === 0 || before.notReady > 0 || isolated.notReady > 0) return { ...base, passed: false, reason: `${before.notReady + isolated.notReady} canary pod(s) not Ready` };
  const fwd = await forwardToPods(kc, t.namespace, targets, t.port, logger);
  let errors = 0;
  let sent = 0;
  // Stops as soon as the gate cannot pass any more: each further request is one more answer
  // nobody needs from a canary already known to be bad.
  const allowed = Math.floor(t.maxErrorRatio * BURST_REQUESTS);
  try {
    const worker = async () => {
      while (sent < BURST_REQUESTS && errors <= allowed) {
        sent++;
        if (!(await ok(`${fwd.url}${t.path}`))) errors++;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  } finally {
    await fwd.close();
  }
  const after = await podHealth(core, t.namespace, t.canary);
  // Over the whole burst: a gate stopped early has failed whatever the rest would have answered.
  const ratio = errors / BURST_REQUESTS;
  const result = { ...base, readyPods: after.ready, restarts: after.restarts, requests: sent, errors, ratio };
  if (after.restarts > 0) return { ...result, passed: false, reason: `canary pods restarted ${after.restarts} time(s) during the burst` };
  const gone = pods.filter((n) => !after.names.includes(n));
  if (gone.length) return { ...result, passed: false, reason: `canary pod(s) ${gone.join(', ')} stopped being Ready during the burst` };
  if (ratio > t.maxErrorRatio) {
    const stopped = sent < BURST_REQUESTS ? `, stopped after ${sent} of ${BURST_REQUESTS}` : '';
    return { ...result, passed: false, reason: `${errors} of ${sent} requests to ${t.path} on the canary failed${stopped}: more than --max-error-ratio ${t.maxErrorRatio} allows (${allowed} of ${BURST_REQUESTS})` };
  }
  return { ...result, passed: true };
}

/**
 * A 127.0.0.1 port forwarded to these pods by name, each new connection to the next one.
 * (plugins/kubernetes/forward.ts picks a pod by label equality, which cannot say "not admitted yet".)
 */
async function forwardToPods(kc: KubeConfig, namespace: string, pods: V1Pod[], port: number | string, logger: Logger): Promise<{ url: string; close(): Promise<void> }> {
  const { PortForward } = await import('@kubernetes/client-node');
  const pf = new PortForward(kc);
  const sockets = new Set<net.Socket>();
  let next = 0;
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    const pod = pods[next++ % pods.length];
    const name = pod.metadata!.name!;
    const target = typeof port === 'number' ? port : pod.spec?.containers.flatMap((c) => c.ports ?? []).find((p) => p.name === port)?.containerPort;
    // A connection that cannot be forwarded is closed unanswered: the burst counts it as an error.
    if (!target) { logger.warn(`gate: pod ${name} has no container port named "${port}"`); socket.destroy(); return; }
    pf.portForward(namespace, name, [target], socket, null, socket).then((ws) => {
      const conn = typeof ws === 'function' ? ws() : ws;
      socket.once('close', () => conn?.close());
      conn?.once('close', () => socket.end());
    }, (err: unknown) => {
      logger.warn(`gate: port-forward to pod ${name}:${target} in ${namespace} failed: ${err instanceof Error ? err.message : String(err)}`);
      socket.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', () => resolve()); });
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return {
    url,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A 2xx answer within the timeout. */
function ok(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: REQUEST_TIMEOUT_MS, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
  });
}
