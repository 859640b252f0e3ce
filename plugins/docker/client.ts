/**
 * The Docker Engine API client devloop uses: one dockerode instance per plugin, whose API version
 * is negotiated with the daemon on first use (the daemon here may be a Debian 20.10 speaking at
 * most 1.41, or a recent one that no longer accepts old versions at all).
 *
 * dockerode is loaded on that first use, not with this file: it pulls in ssh2, gRPC and
 * protobufjs (0.3 s before `up` could start its first build). The questions asked on every start
 * (is a daemon there, are there containers to clean up, where is its data) go over a plain HTTP
 * request on the local socket instead, so a project with no service on Docker never loads it.
 */
import { access } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
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
  readonly address: string;
  private info?: Promise<DaemonInfo>;
  private client?: Docker;
  private loading?: Promise<Docker>;
  /** The local socket when the daemon is reached through one (the plain requests use it), else undefined. */
  private readonly socketPath?: () => Promise<string>;

  constructor(private readonly options: Docker.DockerOptions = {}) {
    this.address = daemonAddress(options);
    this.socketPath = localSocket(options);
  }

  /**
   * The dockerode client, once connect() (or a reachable() that found the daemon) has loaded it.
   * Every use follows one of those: the daemon is asked whether it is there before anything else.
   */
  get docker(): Docker {
    if (!this.client) throw new Error('DockerDaemon.docker read before connect() loaded the Docker client: await daemon.connect() (or reachable()) first');
    return this.client;
  }

  /** Loads dockerode and makes the client, once. */
  load(): Promise<Docker> {
    this.loading ??= import('dockerode').then(({ default: Docker }) => {
      // No `version` here: requests stay unversioned (the daemon's own version) until negotiate()
      // has asked the daemon what it speaks.
      this.client = new Docker(this.options);
      return this.client;
    });
    return this.loading;
  }

  /**
   * Whether a daemon answers, without loading dockerode when it is on a local socket (GET /_ping).
   * Anything else (TCP, TLS, ssh) is asked through the client, as connect() does.
   */
  async ping(timeoutMs = PING_TIMEOUT_MS): Promise<boolean> {
    // Once connected, the remembered answer costs nothing.
    if (this.info || !this.socketPath) return (await this.reachable(timeoutMs)) !== undefined;
    try {
      return (await this.plainGet('/_ping', timeoutMs)).status === 200;
    } catch {
      return false;
    }
  }

  /**
   * A GET answered with JSON, over the local socket when there is one (no dockerode), else asked
   * through the client with `viaClient`. Unversioned, so the daemon answers in its own API
   * version. Undefined when no daemon answers; an error when one answers with an error.
   */
  async getJson<T>(requestPath: string, viaClient: (docker: Docker) => Promise<T>, timeoutMs = DAEMON_CALL_MS): Promise<T | undefined> {
    if (!this.socketPath) return (await this.reachable()) ? viaClient(this.docker) : undefined;
    let res: { status: number; body: string };
    try {
      res = await this.plainGet(requestPath, timeoutMs);
    } catch (err) {
      if (daemonGone(this.address, err)) return undefined;
      throw err;
    }
    if (res.status !== 200) throw new Error(`the Docker daemon at ${this.address} answered GET ${requestPath} with HTTP ${res.status}: ${res.body.trim().slice(0, 300)}`);
    return JSON.parse(res.body) as T;
  }

  private async plainGet(requestPath: string, timeoutMs: number): Promise<{ status: number; body: string }> {
    const socketPath = await this.socketPath!();
    return new Promise((resolve, reject) => {
      const req = http.get({ socketPath, path: requestPath, signal: AbortSignal.timeout(timeoutMs), headers: { host: 'docker' } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => { body += chunk; });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      });
      req.on('error', reject);
    });
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
    await this.load();
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

/**
 * The unix socket the client would dial, as docker-modem chooses it (socketPath, else a
 * `unix://` DOCKER_HOST, else the default socket when DOCKER_HOST is unset); undefined for
 * anything else, which the plain requests leave to dockerode.
 */
function localSocket(options: Docker.DockerOptions): (() => Promise<string>) | undefined {
  if (options.socketPath) return () => Promise.resolve(options.socketPath!);
  if (options.host || options.protocol === 'ssh' || process.platform === 'win32') return undefined;
  const env = process.env.DOCKER_HOST;
  if (env && !env.startsWith('unix://')) return undefined;
  if (env && env.length > 'unix://'.length) return () => Promise.resolve(env.slice('unix://'.length));
  // docker-modem's default: Docker Desktop's socket in the home folder when there is one.
  let found: Promise<string> | undefined;
  return () => found ??= access(path.join(os.homedir(), '.docker', 'run', 'docker.sock')).then((): string => path.join(os.homedir(), '.docker', 'run', 'docker.sock'), () => '/var/run/docker.sock');
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
