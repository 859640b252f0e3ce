// What the `devloop release` suites against the local test cluster share: running the CLI (from
// DEVLOOP_CLI when set, a private build), a suite's set-up and tear-down, steady traffic to a
// Service with its outcome counted, and the tiny busybox httpd test images (v1 / v2 answer
// "hello v1" / "hello v2" on /, "bad" answers 500 there through a CGI script while its TCP
// readiness probe passes).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { cliPath, docker, ensureDockerInfra } from './helpers.js';
import { missing, type scratch } from './k8s-helpers.js';

export const cli = process.env.DEVLOOP_CLI ? path.resolve(process.env.DEVLOOP_CLI) : cliPath;

export function devloop(args: string[], cwd: string, env: Record<string, string> = {}, timeoutMs = 120_000): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd, env: { ...process.env, CI: 'true', NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`devloop ${args.join(' ')} timed out\n${stdout}\n${stderr}`)); }, timeoutMs);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr, ms: Date.now() - started }); });
  });
}

/** One GET: the body of a 2xx, else the status, or "error" with the reason. */
function get(url: string): Promise<{ status: number; body: string; error?: string }> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: 3_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body.trim() }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ status: 0, body: '', error: `${new Date().toISOString()} ${err.message}` }));
  });
}

/** Requests to `url` one after another until stopped: how many answered 2xx, 5xx, other, or not at all, and the 2xx bodies. */
export function traffic(url: string) {
  const counts = { ok: 0, http5xx: 0, otherStatus: 0, connectionErrors: 0 };
  const bodies: Record<string, number> = {};
  const failures: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const r = await get(url);
      if (r.error) { counts.connectionErrors++; failures.push(r.error); } else if (r.status >= 200 && r.status < 300) { counts.ok++; bodies[r.body] = (bodies[r.body] ?? 0) + 1; } else if (r.status >= 500) counts.http5xx++; else counts.otherStatus++;
      await new Promise((res) => setTimeout(res, 20));
    }
  })();
  return { async stop() { running = false; await loop; return { ...counts, bodies: { ...bodies }, failures: [...failures], total: counts.ok + counts.http5xx + counts.otherStatus + counts.connectionErrors }; } };
}

/** Ten requests, one after another: their bodies (or the status / "error"). */
export async function answers(url: string): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < 10; i++) { const r = await get(url); out.push(r.error ? 'error' : r.status === 200 ? r.body : String(r.status)); }
  return out;
}

/** Builds and pushes `repo:TAG` for each tag; their digest references. */
export function buildTestImages<T extends string>(repo: string, tags: readonly T[], tmp: () => string): Record<T, string> {
  const out = {} as Record<T, string>;
  for (const tag of tags) {
    const ctx = tmp();
    mkdirSync(path.join(ctx, 'www', 'cgi-bin'), { recursive: true });
    writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM devloop-test/busybox:latest\nCOPY www /www\nCMD ["httpd", "-f", "-p", "8080", "-h", "/www"]\n');
    // busybox httpd runs cgi-bin/index.cgi for "/" when there is no index.html: a server that answers 500.
    if (tag === 'bad') writeFileSync(path.join(ctx, 'www', 'cgi-bin', 'index.cgi'), '#!/bin/sh\nprintf "HTTP/1.0 500 Internal Server Error\\r\\nContent-Type: text/plain\\r\\n\\r\\nbad\\n"\n', { mode: 0o755 });
    else writeFileSync(path.join(ctx, 'www', 'index.html'), `hello ${tag}\n`);
    docker('build', '-q', '-t', `${repo}:${tag}`, ctx);
    docker('push', '-q', `${repo}:${tag}`);
    out[tag] = docker('image', 'inspect', '--format', '{{index .RepoDigests 0}}', `${repo}:${tag}`);
    assert.match(out[tag], /@sha256:[0-9a-f]{64}$/);
  }
  return out;
}

const TAGS = ['v1', 'v2', 'bad'] as const;

/** A suite's before(): its namespace, a project folder with `devfile` as Devfile.ts, and the v1 / v2 / bad images pushed to `repo`. */
export function setUpRelease(s: ReturnType<typeof scratch>, repo: string, devfile: string): { dir: string; images: Record<(typeof TAGS)[number], string> } {
  if (missing) throw new Error(missing);
  ensureDockerInfra(() => { execFileSync('curl', ['-sf', 'http://127.0.0.1:5001/v2/']); });
  s.create();
  const dir = s.tmp();
  writeFileSync(path.join(dir, 'Devfile.ts'), devfile);
  return { dir, images: buildTestImages(repo, TAGS, () => s.tmp()) };
}

/** Its after(): the images and the namespace go. */
export function tearDownRelease(s: ReturnType<typeof scratch>, repo: string): void {
  try { docker('rmi', '-f', ...TAGS.map((tag) => `${repo}:${tag}`)); } catch { /* already gone */ }
  s.cleanup();
}
