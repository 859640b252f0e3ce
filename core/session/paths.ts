/** Where a running `devloop up` keeps its session files, under the project's `.devloop/`. */
import path from 'node:path';

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
