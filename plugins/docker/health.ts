/**
 * Health checks of a container, seen from the host: `port` numbers in a service's `health` config
 * are the container's ports, so they are translated to the host ports they are published on;
 * `exec` checks run inside the container.
 *
 * TCP needs care: a published port is held by docker-proxy from the moment the container starts,
 * so a connection to it succeeds before the service listens; the proxy then closes it at once.
 * The TCP check therefore only passes when the connection stays open for a moment (or the server
 * speaks first).
 */
import net from 'node:net';
import type Docker from 'dockerode';
import type { HealthCheckConfig } from '../../core/devfile/types.js';
import { DevloopError } from '../../core/errors.js';
import { describeProbe, resolveHealthProbe, waitHealthy, type HealthProbe, type ProbeResult, type WaitHealthyOptions } from '../shared/health.js';
import { formatMs, sleep } from '../shared/time.js';
import { execIn } from './exec.js';
import type { PublishedPort } from './publish.js';

/** How long a proxied connection must stay open to count as accepted by the service. */
const HOLD_MS = 50;
const ATTEMPT_TIMEOUT_MS = 3_000;

export function containerProbe(health: HealthCheckConfig | undefined, servicePort: number | undefined, ports: PublishedPort[]): HealthProbe {
  const host = (containerPort: number | undefined) => ports.find((p) => p.containerPort === containerPort && p.protocol === 'tcp')?.hostPort ?? containerPort;
  const mainHost = servicePort ? host(servicePort) : undefined;
  if (health && 'http' in health && health.port) return resolveHealthProbe({ ...health, port: host(health.port) }, mainHost);
  if (health && 'tcp' in health && typeof health.tcp === 'number') return resolveHealthProbe({ ...health, tcp: host(health.tcp)! }, mainHost);
  return resolveHealthProbe(health, mainHost);
}

/** The `exec` dependency of the shared health helpers, run through the Docker exec API. */
export function execProbe(docker: Docker, container: Docker.Container) {
  return async (command: string | string[], signal: AbortSignal): Promise<ProbeResult> => {
    const r = await execIn(docker, container, command, { signal, tailLines: 3 });
    const last = r.output.at(-1);
    return { ok: r.exitCode === 0, message: `exit code ${r.exitCode}${r.exitCode !== 0 && last ? `: ${last}` : ''}` };
  };
}

/** The shared waitHealthy, with TCP checks that see through docker-proxy. */
export async function waitContainerHealthy(probe: HealthProbe, options: WaitHealthyOptions): Promise<void> {
  if (probe.kind !== 'tcp') return waitHealthy(probe, options);
  const interval = options.intervalMs ?? 250;
  const timeout = options.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeout;
  let delay = Math.min(20, interval);
  for (;;) {
    options.signal?.throwIfAborted();
    const result = await proxiedTcpProbe(probe.host, probe.port, options.signal);
    options.signal?.throwIfAborted();
    options.onProbe?.(result);
    if (result.ok) return;
    if (Date.now() + delay > deadline) {
      throw new DevloopError(`not healthy after ${formatMs(timeout)}: ${describeProbe(probe)}: ${result.message}`, {
        code: 'HEALTH_TIMEOUT',
        hint: 'check that the service listens on the port devloop gives it in $PORT, on 0.0.0.0 (127.0.0.1 inside a container is not reachable from outside it), or raise health.timeoutMs',
      });
    }
    await sleep(delay, options.signal);
    delay = Math.min(delay * 2, interval);
  }
}

export function proxiedTcpProbe(host: string, port: number, signal?: AbortSignal): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const attempt = signal ? AbortSignal.any([signal, AbortSignal.timeout(ATTEMPT_TIMEOUT_MS)]) : AbortSignal.timeout(ATTEMPT_TIMEOUT_MS);
    const socket = net.connect({ host, port, signal: attempt });
    let timer: NodeJS.Timeout | undefined;
    const done = (r: ProbeResult) => { clearTimeout(timer); socket.destroy(); resolve(r); };
    socket.once('connect', () => {
      timer = setTimeout(() => done({ ok: true, message: 'accepting connections' }), HOLD_MS);
    });
    socket.once('data', () => done({ ok: true, message: 'accepting connections' }));
    const closed = () => done({ ok: false, message: 'connection closed at once (the port is published, but nothing listens on it in the container yet)' });
    socket.once('end', closed);
    socket.once('close', closed);
    socket.once('error', (err: NodeJS.ErrnoException) => {
      done({ ok: false, message: err.code === 'ECONNREFUSED' ? 'connection refused' : err.code === 'ECONNRESET' ? 'connection reset (nothing listens in the container yet)' : err.name === 'AbortError' ? `no answer within ${formatMs(ATTEMPT_TIMEOUT_MS)}` : err.message });
    });
  });
}
