/**
 * Health checks for the local runtimes. A `HealthProbe` is the resolved form of a service's
 * `health` config; `waitHealthy` polls it until it passes.
 *
 * Timing: `intervalMs` is the pause between attempts, after the first two seconds when they
 * come every 20 ms (a service up in 80 ms is seen as up at about 80 ms, not an interval later);
 * `timeoutMs` is how long the service may take to become healthy in all, after which the wait
 * fails naming the last probe result. Each attempt is capped at a few seconds so a server that
 * accepts the connection and never answers cannot hang the wait.
 *
 * A 4xx from an HTTP check ends the wait at once (HEALTH_HTTP_4XX): the service is up and
 * answering, so the path is wrong (404) or needs credentials the probe does not send (401/403),
 * and waiting cannot change that. 5xx keeps waiting: a starting service may answer 503. 408 and
 * 429 (slow, busy) are transient and keep waiting too.
 */
import http from 'node:http';
import net from 'node:net';
import type { HealthCheckConfig } from '../../core/devfile/types.js';
import { DevloopError } from '../../core/errors.js';
import { LOCALHOST } from './ports.js';
import { formatMs, sleep } from './time.js';

export type HealthProbe =
  | { kind: 'http'; url: string; expectStatus?: number }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'exec'; command: string | string[] }
  | { kind: 'running' };

export interface ProbeResult {
  ok: boolean;
  /** What was seen, in words: "HTTP 503", "connection refused", "exit code 1". */
  message: string;
  /** The HTTP status, for `http` probes that got an answer. */
  status?: number;
}

export interface ProbeDeps {
  /** Runs an `exec` check where the service runs (host, container...). Resolves to success or not. */
  exec?: (command: string | string[], signal: AbortSignal) => Promise<boolean | ProbeResult>;
  /** For the `running` probe: whether the service's process is (still) up. */
  isRunning?: () => boolean;
}

export const DEFAULT_INTERVAL_MS = 250;
export const DEFAULT_TIMEOUT_MS = 60_000;
const ATTEMPT_TIMEOUT_MS = 3_000;
const FIRST_DELAY_MS = 20;
const FAST_PHASE_MS = 2_000;

/** The probe for a service: its `health` config, else TCP on its port, else "process running". */
export function resolveHealthProbe(health: HealthCheckConfig | undefined, port: number | undefined, host = LOCALHOST): HealthProbe {
  if (!health) return port ? { kind: 'tcp', host, port } : { kind: 'running' };
  if ('http' in health) {
    if (/^https?:\/\//.test(health.http)) return { kind: 'http', url: health.http, expectStatus: health.expectStatus };
    const p = health.port ?? port;
    if (!p) {
      throw new DevloopError(`health.http "${health.http}" needs a port, and the service declares none`, {
        code: 'HEALTH_CONFIG',
        hint: 'set the service\'s `port`, or `health.port`, or give a full URL in `health.http`',
      });
    }
    const path = health.http.startsWith('/') ? health.http : `/${health.http}`;
    return { kind: 'http', url: `http://${host}:${p}${path}`, expectStatus: health.expectStatus };
  }
  if ('tcp' in health) {
    const p = health.tcp === true ? port : health.tcp;
    if (!p) {
      throw new DevloopError('health.tcp is `true` but the service declares no port', { code: 'HEALTH_CONFIG', hint: 'set the service\'s `port`, or give `health.tcp` a port number' });
    }
    return { kind: 'tcp', host, port: p };
  }
  return { kind: 'exec', command: health.exec };
}

export function healthTiming(health: HealthCheckConfig | undefined): { intervalMs: number; timeoutMs: number } {
  return { intervalMs: health?.intervalMs ?? DEFAULT_INTERVAL_MS, timeoutMs: health?.timeoutMs ?? DEFAULT_TIMEOUT_MS };
}

export function describeProbe(probe: HealthProbe): string {
  switch (probe.kind) {
    case 'http': return `GET ${probe.url}`;
    case 'tcp': return `TCP ${probe.host}:${probe.port}`;
    case 'exec': return `\`${Array.isArray(probe.command) ? probe.command.join(' ') : probe.command}\``;
    case 'running': return 'process running';
  }
}

/** One attempt. Never throws: a failure is a result. */
export async function probeOnce(probe: HealthProbe, deps: ProbeDeps = {}, signal?: AbortSignal, attemptTimeoutMs = ATTEMPT_TIMEOUT_MS): Promise<ProbeResult> {
  const attempt = signal ? AbortSignal.any([signal, AbortSignal.timeout(attemptTimeoutMs)]) : AbortSignal.timeout(attemptTimeoutMs);
  try {
    switch (probe.kind) {
      case 'http': return await httpProbe(probe.url, probe.expectStatus, attempt);
      case 'tcp': return await tcpProbe(probe.host, probe.port, attempt);
      case 'running': {
        const up = deps.isRunning ? deps.isRunning() : true;
        return { ok: up, message: up ? 'running' : 'not running' };
      }
      case 'exec': {
        if (!deps.exec) return { ok: false, message: 'this runtime cannot run exec health checks' };
        const r = await deps.exec(probe.command, attempt);
        return typeof r === 'boolean' ? { ok: r, message: r ? 'exit code 0' : 'non-zero exit code' } : r;
      }
    }
  } catch (err) {
    return { ok: false, message: describeNetError(err, attemptTimeoutMs) };
  }
}

export interface WaitHealthyOptions extends ProbeDeps {
  signal?: AbortSignal;
  intervalMs?: number;
  /** Overall deadline; `Infinity` waits for as long as the signal allows. */
  timeoutMs?: number;
  /** Called after every attempt, e.g. to show "waiting for GET ...: HTTP 503". */
  onProbe?: (result: ProbeResult) => void;
}

/** Resolves once the probe passes; rejects with HEALTH_HTTP_4XX at a 4xx that waiting cannot fix, HEALTH_TIMEOUT past the deadline, or the abort reason. */
export async function waitHealthy(probe: HealthProbe, options: WaitHealthyOptions = {}): Promise<void> {
  const interval = options.intervalMs ?? DEFAULT_INTERVAL_MS;
  const timeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const started = Date.now();
  const deadline = started + timeout;
  for (;;) {
    options.signal?.throwIfAborted();
    const left = deadline - Date.now();
    const result = await probeOnce(probe, options, options.signal, Math.max(1, Math.min(ATTEMPT_TIMEOUT_MS, left)));
    options.signal?.throwIfAborted();
    options.onProbe?.(result);
    if (result.ok) return;
    const wrongPath = clientErrorOf(probe, result);
    if (wrongPath) throw wrongPath;
    // Most services come up within a second or two: poll briskly then, and settle to the
    // interval after, so a fast service is seen as up within ~20 ms of listening.
    const delay = Date.now() - started < FAST_PHASE_MS ? Math.min(FIRST_DELAY_MS, interval) : interval;
    if (Date.now() + delay > deadline) {
      throw new DevloopError(`not healthy after ${formatMs(timeout)}: ${describeProbe(probe)}: ${result.message}`, {
        code: 'HEALTH_TIMEOUT',
        hint: probe.kind === 'tcp' || probe.kind === 'http'
          ? 'check that the service listens on the port devloop gives it in $PORT (on 0.0.0.0 or 127.0.0.1), or raise health.timeoutMs'
          : 'check the service log above, or raise health.timeoutMs',
      });
    }
    await sleep(delay, options.signal);
  }
}

/** Transient 4xx answers: the service is slow or busy, which may pass. */
const TRANSIENT_4XX = new Set([408, 429]);

/** HEALTH_HTTP_4XX when an HTTP check got a 4xx that waiting cannot fix (a wrong path, an auth wall), else undefined. */
export function clientErrorOf(probe: HealthProbe, result: ProbeResult): DevloopError | undefined {
  const status = result.status;
  if (probe.kind !== 'http' || result.ok || status === undefined || status < 400 || status > 499 || TRANSIENT_4XX.has(status)) return undefined;
  const u = new URL(probe.url);
  const where = `${u.pathname}${u.search}`;
  const expected = probe.expectStatus !== undefined ? ` (expected ${probe.expectStatus})` : '';
  if (status === 401 || status === 403) {
    return new DevloopError(`GET ${where} answered ${status}${expected}: the path needs authentication; set health.http to a path your service serves without it`, {
      code: 'HEALTH_HTTP_4XX',
      hint: `the service answers on ${u.host}, but health checks send no credentials (as Cloud Run's and Kubernetes' probes do not): serve a health route such as /healthz outside the auth check, or use health: { tcp: true }`,
    });
  }
  return new DevloopError(`GET ${where} answered ${status}${expected}: set health.http to a path your service serves`, {
    code: 'HEALTH_HTTP_4XX',
    hint: `the service answers on ${u.host}, so it listens on its port, but it does not serve ${where}${status === 405 ? ' to GET' : ''}: point health.http at a route that answers GET with 2xx, or use health: { tcp: true } to check only that the port accepts connections`,
  });
}

function httpProbe(url: string, expectStatus: number | undefined, signal: AbortSignal): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    // No keep-alive agent: a pooled socket would keep the service's connection count up and
    // delay its graceful shutdown.
    const req = http.get(url, { agent: false, signal, headers: { 'user-agent': 'devloop-health', connection: 'close' } }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      const ok = expectStatus !== undefined ? status === expectStatus : status >= 200 && status < 400;
      resolve({ ok, status, message: `HTTP ${status}${ok || expectStatus === undefined ? '' : ` (expected ${expectStatus})`}` });
    });
    req.once('error', reject);
  });
}

function tcpProbe(host: string, port: number, signal: AbortSignal): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, signal });
    socket.once('connect', () => { socket.destroy(); resolve({ ok: true, message: 'accepting connections' }); });
    socket.once('error', reject);
  });
}

function describeNetError(err: unknown, attemptTimeoutMs: number): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ECONNREFUSED') return 'connection refused';
  if (e?.code === 'ECONNRESET') return 'connection reset';
  if (e?.name === 'AbortError' || e?.name === 'TimeoutError') return `no answer within ${formatMs(attemptTimeoutMs)}`;
  return e instanceof Error ? e.message : String(err);
}
