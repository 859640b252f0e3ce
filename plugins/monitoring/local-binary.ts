/**
 * A monitoring part (Prometheus, Alertmanager) run as a local binary: found on PATH by its
 * usual names, started as its own process group (recorded, so a crashed devloop's leftovers are
 * stopped by the next `up` or `down`), its output kept in `.devloop/monitoring/<part>.log`, and
 * ready once its readiness URL answers 200. A part that dies later is reported once with the end
 * of its log; devloop and the services keep running.
 */
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { DevloopError } from '../../core/errors.js';
import { describeExit, spawnGroup, terminateGroup, type GroupProcess } from '../shared/process-group.js';
import { sleep } from '../shared/time.js';

/** The first of `names` found in PATH (or given as a path), else undefined. */
export function findBinary(names: string[]): string | undefined {
  for (const name of names) {
    if (name.includes('/')) { if (existsSync(name)) return name; continue; }
    for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
      if (dir && existsSync(path.join(dir, name))) return path.join(dir, name);
    }
  }
  return undefined;
}

export interface LocalPart {
  name: string;
  pid: number;
  /** The last lines it printed (for messages). */
  tail(): string[];
  exited: GroupProcess['exited'];
  stop(): Promise<void>;
}

export interface StartPartOptions {
  /** `prometheus`, `alertmanager`: names the log file and the messages. */
  name: string;
  argv: string[];
  root: string;
  logFile: string;
  /** GET until 200. */
  readyUrl: string;
  readyTimeoutMs?: number;
  /** Called once if it exits while it should be running. */
  onCrash(message: string): void;
}

const TAIL_LINES = 20;

export async function startLocalPart(o: StartPartOptions): Promise<LocalPart> {
  await mkdir(path.dirname(o.logFile), { recursive: true });
  const log = createWriteStream(o.logFile, { flags: 'a' });
  const tail: string[] = [];
  const proc = await spawnGroup(o.argv, {
    cwd: o.root,
    env: process.env,
    record: { root: o.root, service: 'monitoring', role: o.name },
    onLine: (line) => {
      log.write(`${line}\n`);
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
    },
  });
  let stopping = false;
  void proc.exited.then((info) => {
    log.end();
    if (!stopping) o.onCrash(`${o.name} (pid ${proc.pid}) ${describeExit(info)}; its last lines:\n${tail.slice(-5).map((l) => `  ${l}`).join('\n')}\n(full log: ${o.logFile})`);
  });
  const part: LocalPart = {
    name: o.name,
    pid: proc.pid,
    tail: () => [...tail],
    exited: proc.exited,
    stop: async () => {
      stopping = true;
      await terminateGroup(proc.pid, 5_000);
      await proc.exited;
    },
  };
  const deadline = Date.now() + (o.readyTimeoutMs ?? 20_000);
  for (;;) {
    if (!proc.running) {
      stopping = true;
      const info = await proc.exited;
      throw new DevloopError(`${o.name} ${describeExit(info)} before it was ready: ${tail.slice(-3).join(' | ') || '(no output)'}`, {
        code: 'MONITORING_START_FAILED', hint: `see ${o.logFile}; run \`${o.argv.join(' ')}\` yourself to see why`,
      });
    }
    try {
      const res = await fetch(o.readyUrl, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (res.status === 200) return part;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      await part.stop();
      throw new DevloopError(`${o.name} did not become ready at ${o.readyUrl} within ${Math.round((o.readyTimeoutMs ?? 20_000) / 1000)} s`, {
        code: 'MONITORING_START_FAILED', hint: `see ${o.logFile}`,
      });
    }
    await sleep(100);
  }
}
