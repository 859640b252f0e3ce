/** Helpers for tests that run the real CLI as a child process. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, realpathSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { BuildResult } from '../core/engine/contexts.js';
import type { DevloopPlugin } from '../core/plugins/types.js';

export const repoRoot = path.resolve(new URL('..', import.meta.url).pathname);
export const cliPath = path.join(repoRoot, 'bin', 'devloop.js');

export interface CliResult { code: number | null; stdout: string; stderr: string }

export function runCli(args: string[], options: { cwd: string; env?: Record<string, string>; timeoutMs?: number; input?: string }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], { cwd: options.cwd, env: { ...process.env, CI: 'true', NO_COLOR: '1', ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`devloop ${args.join(' ')} timed out\nstdout:\n${stdout}\nstderr:\n${stderr}`)); }, options.timeoutMs ?? 60_000);
    // 'close', not 'exit': under load the last output can arrive after the exit is reported.
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
    child.stdin.end(options.input ?? '');
  });
}

/** A long-running CLI (`up --output json`) whose JSON events can be awaited. */
export interface RunningCli {
  child: ChildProcess;
  events: Record<string, any>[];
  stderr(): string;
  waitFor(pred: (e: Record<string, any>) => boolean, timeoutMs?: number, what?: string): Promise<Record<string, any>>;
  exited: Promise<number | null>;
}

export function startCli(args: string[], options: { cwd: string; env?: Record<string, string> }): RunningCli {
  const child = spawn(process.execPath, [cliPath, ...args], { cwd: options.cwd, env: { ...process.env, CI: 'true', NO_COLOR: '1', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const events: Record<string, any>[] = [];
  const waiters: { pred: (e: Record<string, any>) => boolean; resolve(e: Record<string, any>): void }[] = [];
  let err = '';
  child.stderr!.on('data', (d) => { err += d; });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let e: Record<string, any>;
    try { e = JSON.parse(line); } catch { return; }
    events.push(e);
    for (const w of [...waiters]) if (w.pred(e)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(e); }
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return {
    child, events, exited,
    stderr: () => err,
    waitFor(pred, timeoutMs = 30_000, what = 'event') {
      const seen = events.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}; events:\n${events.map((e) => JSON.stringify(e)).slice(-30).join('\n')}\nstderr:\n${err}`)), timeoutMs);
        waiters.push({ pred, resolve: (e) => { clearTimeout(t); resolve(e); } });
      });
    },
  };
}

/** Copies `test/fixtures/<name>` to a fresh temp folder and returns its real path. */
export function copyFixture(name: string): string {
  const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), `devloop-${name}-`)));
  cpSync(path.join(repoRoot, 'test', 'fixtures', name), dir, { recursive: true });
  return dir;
}

export async function until<T>(fn: () => T | Promise<T>, timeoutMs = 10_000, what = 'condition'): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) { last = err; }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A plugin for builder tests: records what each build returned and deploys nothing (runtime `none`). */
export function buildSink(results: BuildResult[]): DevloopPlugin {
  return {
    name: 'sink',
    apply(e) {
      e.hooks.afterBuild.tap('sink', (ctx) => { results.push(ctx.result!); });
      e.hooks.deploy.for('none').tapPromise('sink', async () => ({ runtime: 'none', endpoints: [], stop: async () => {} }));
    },
  };
}

/** `p`, or a rejection naming `what` after `ms`: a wait that never settles fails its test in seconds. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms); });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** The docker CLI (against the test daemon), its trimmed stdout. */
export function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/**
 * Starts the test infrastructure (test/infra/up.sh) unless Docker answers and the base images
 * exist; `check` adds what else a suite needs (the registry, say).
 */
export function ensureDockerInfra(check: () => void = () => {}): void {
  try {
    docker('info');
    docker('image', 'inspect', 'devloop-test/node:20', 'devloop-test/busybox:latest');
    check();
  } catch {
    execFileSync('bash', [path.join(repoRoot, 'test', 'infra', 'up.sh')], { stdio: 'inherit' });
  }
}

/** Removes the images a suite built (`devloop-<prefix>-*`), best effort: another suite may use one. */
export function removeImages(prefix: string): void {
  const images = docker('images', '--format', '{{.Repository}}:{{.Tag}}').split('\n').filter((i) => i.startsWith(`devloop-${prefix}-`));
  if (images.length) try { docker('rmi', ...images); } catch { /* in use elsewhere */ }
}

/**
 * GET over node:http (not fetch: undici's fetch never settles when docker-proxy drops a
 * connection), a fresh connection each time. `timeoutMs` bounds a silent socket.
 */
export function httpGet(url: string, options: { headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<{ status: number; body: string }> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, headers: options.headers ?? {}, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.once('timeout', () => req.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    req.once('error', reject);
  });
}
