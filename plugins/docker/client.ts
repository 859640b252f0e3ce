/**
 * The Docker Engine API client devloop uses: one dockerode instance per plugin, whose API version
 * is negotiated with the daemon on first use (the daemon here may be a Debian 20.10 speaking at
 * most 1.41, or a recent one that no longer accepts old versions at all).
 */
import Docker from 'dockerode';
import { DevloopError } from '../../core/errors.js';

/** The newest API version this code is written against; a newer daemon is spoken to in this one. */
export const MAX_API_VERSION = '1.47';
const PING_TIMEOUT_MS = 1_500;

export interface DaemonInfo {
  /** The daemon's own ID (`docker info`), stable across restarts: tells two daemons apart. */
  id: string;
  apiVersion: string;
  serverVersion: string;
  /** Where it was reached, for messages: `unix:///var/run/docker.sock`, `tcp://...`. */
  address: string;
}

export class DockerDaemon {
  readonly docker: Docker;
  readonly address: string;
  private info?: Promise<DaemonInfo>;

  constructor(options: Docker.DockerOptions = {}) {
    // No `version` here: requests stay unversioned (the daemon's own version) until negotiate()
    // has asked the daemon what it speaks.
    this.docker = new Docker(options);
    this.address = daemonAddress(options);
  }

  /**
   * Pings the daemon and settles the API version. Memoised on success only, so a daemon started
   * after devloop is found on the next call.
   */
  connect(timeoutMs = PING_TIMEOUT_MS): Promise<DaemonInfo> {
    if (!this.info) {
      const attempt = this.negotiate(timeoutMs);
      this.info = attempt;
      attempt.catch(() => { if (this.info === attempt) this.info = undefined; });
    }
    return this.info;
  }

  /** Like connect(), but resolves to undefined instead of throwing. */
  async reachable(timeoutMs = PING_TIMEOUT_MS): Promise<DaemonInfo | undefined> {
    try { return await this.connect(timeoutMs); } catch { return undefined; }
  }

  private async negotiate(timeoutMs: number): Promise<DaemonInfo> {
    const signal = AbortSignal.timeout(timeoutMs);
    let version: Docker.DockerVersion;
    let info: { ID?: string };
    try {
      version = (await this.docker.version({ abortSignal: signal } as never)) as unknown as Docker.DockerVersion;
      const apiVersion = minVersion(version.ApiVersion, MAX_API_VERSION);
      (this.docker.modem as unknown as { version?: string }).version = `v${apiVersion}`;
      info = (await this.docker.info({ abortSignal: signal } as never)) as unknown as { ID?: string };
    } catch (err) {
      throw unreachable(this.address, err);
    }
    return {
      id: info.ID || version.Version,
      apiVersion: minVersion(version.ApiVersion, MAX_API_VERSION),
      serverVersion: version.Version,
      address: this.address,
    };
  }
}

export function daemonAddress(options: Docker.DockerOptions = {}): string {
  if (options.socketPath) return `unix://${options.socketPath}`;
  if (options.host) return `${options.protocol ?? 'http'}://${options.host}${options.port ? `:${options.port}` : ''}`;
  return process.env.DOCKER_HOST || 'unix:///var/run/docker.sock';
}

export function unreachable(address: string, cause: unknown): DevloopError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new DevloopError(`Docker daemon unreachable at ${address}: ${why}`, {
    code: 'DOCKER_UNAVAILABLE',
    cause,
    hint: `${RESTART_DAEMON} (or point DOCKER_HOST at a running daemon), check that \`docker info\` answers, then save a file to retry`,
  });
}

const RESTART_DAEMON = 'start the Docker daemon (`sudo systemctl start docker`, or run `dockerd`; Docker Desktop: open it)';
/** Socket errors that mean nothing answers at the daemon's address any more. */
const GONE_CODES = new Set(['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT']);

/**
 * A request to the daemon that failed because the daemon is not there (its socket refuses or is
 * gone, the connection was cut), as a DevloopError saying so and how to bring it back; undefined
 * for any other error. Without this, a raw `connect ENOENT /var/run/docker.sock` reaches the user
 * as a plugin failure to "report to its authors".
 */
export function daemonGone(address: string, err: unknown, service?: string): DevloopError | undefined {
  // A DevloopError already says what failed ("cannot create the container"); its cause may
  // still be the vanished daemon, which matters more.
  if (err instanceof DevloopError) return err.code === 'DOCKER_GONE' || err.cause === undefined ? undefined : daemonGone(address, err.cause, service);
  const e = err as { code?: unknown; syscall?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const message = typeof e?.message === 'string' ? e.message : '';
  // ENOENT and ETIMEDOUT are also file and build errors: only a failed connect counts for them.
  const gone = (code && GONE_CODES.has(code) && (e?.syscall === 'connect' || code === 'ECONNRESET' || code === 'EPIPE')) || /socket hang up/.test(message);
  if (!gone) return undefined;
  return new DevloopError(`the Docker daemon at ${address} is gone (${code ?? message}): devloop cannot reach it`, {
    code: 'DOCKER_GONE',
    service,
    cause: err,
    hint: `${RESTART_DAEMON}, check that \`docker info\` answers, then run \`devloop deploy ${service ?? '<service>'}\``,
  });
}

/** Wraps a hook handler so that a vanished daemon is reported as such (see daemonGone). */
export function daemonErrors<C extends { service?: string }, R>(daemon: { address: string }, fn: (ctx: C) => Promise<R>): (ctx: C) => Promise<R> {
  return async (ctx) => {
    try {
      return await fn(ctx);
    } catch (err) {
      throw daemonGone(daemon.address, err, ctx.service) ?? err;
    }
  };
}

/** How long one request to the daemon may take (not the streams that follow a container). */
export const DAEMON_CALL_MS = 15_000;

/** dockerode options that bound a request: aborted after `ms`, or with `signal`. */
export function bounded(ms = DAEMON_CALL_MS, signal?: AbortSignal): { abortSignal: AbortSignal } {
  const timeout = AbortSignal.timeout(ms);
  return { abortSignal: signal ? AbortSignal.any([signal, timeout]) : timeout };
}

/** "1.41" vs "1.47" -> the older. */
export function minVersion(a: string, b: string): string {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? a : b;
  }
  return a;
}

/** dockerode puts the HTTP status on its errors; 404 is "no such container/image". */
export function statusOf(err: unknown): number | undefined {
  const code = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** The daemon's own words from a dockerode error (its JSON `message`), else the error's message. */
export function daemonMessage(err: unknown): string {
  const json = (err as { json?: { message?: unknown } } | null)?.json;
  if (json && typeof json.message === 'string') return json.message;
  const reason = (err as { reason?: unknown } | null)?.reason;
  const msg = err instanceof Error ? err.message : String(err);
  return typeof reason === 'string' && !msg ? reason : msg.replace(/^\(HTTP code \d+\) [a-z ]+ - /, '').trim();
}
