/** Talks to a running `devloop up` through its control socket. */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { EngineState } from '../store/state.js';
import { sessionPaths } from './paths.js';
import type { SessionInfo } from './server.js';

/** The running session of this project, or undefined (a stale session file is removed). */
export async function findSession(root: string): Promise<SessionInfo | undefined> {
  const paths = sessionPaths(root);
  if (!existsSync(paths.sessionFile)) return undefined;
  let info: SessionInfo;
  try {
    info = JSON.parse(readFileSync(paths.sessionFile, 'utf8')) as SessionInfo;
  } catch {
    return undefined;
  }
  if (!isAlive(info.pid)) {
    rmSync(paths.sessionFile, { force: true });
    return undefined;
  }
  try {
    await request(info.socket, 'GET', '/state', 2000);
    return info;
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function request(socket: string, method: string, path: string, timeoutMs = 10_000, body?: unknown): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? undefined : { 'content-type': 'application/json' };
    const req = http.request({ socketPath: socket, method, path, timeout: timeoutMs, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        try { resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }); } catch (err) { reject(err); }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`devloop session did not answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

export async function sessionState(info: SessionInfo): Promise<EngineState> {
  return (await request(info.socket, 'GET', '/state')).body as EngineState;
}
