/**
 * Where a running `devloop up` keeps its session files, under the project's `.devloop/`. Logs
 * there hold whatever services print, so the folder is private to its owner: 0700, files 0600.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

export interface SessionPaths {
  dir: string;
  /** `{ pid, startedAt, socket, devfile }` of the running session. */
  sessionFile: string;
  /** Unix socket of the control server (`status`, `deploy`, `down` talk to it). */
  socket: string;
  /** One JSON-lines file per service, plus `_devloop.jsonl` for project messages. */
  logsDir: string;
}

export function sessionPaths(root: string): SessionPaths {
  const dir = path.join(root, '.devloop');
  return {
    dir,
    sessionFile: path.join(dir, 'session.json'),
    socket: path.join(dir, 'control.sock'),
    logsDir: path.join(dir, 'logs'),
  };
}

export const PROJECT_LOG = '_devloop';

export function logFile(root: string, service: string | undefined): string {
  return path.join(sessionPaths(root).logsDir, `${service ?? PROJECT_LOG}.jsonl`);
}

/**
 * Creates a folder 0700, or narrows an existing one to 0700: `.devloop/` from an older devloop,
 * or made by a plugin's `mkdir -p` with the umask's 0755, must not stay readable to other users.
 */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  chmodSync(dir, PRIVATE_DIR_MODE);
}

/** `.devloop/` of a project, private; returns its path. */
export function ensureSessionDir(root: string): string {
  const { dir } = sessionPaths(root);
  ensurePrivateDir(dir);
  return dir;
}
