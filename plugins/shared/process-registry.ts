/**
 * `<root>/.devloop/processes.json`: every process group devloop starts, so that processes left
 * behind by a devloop that crashed or was killed -9 can be found and stopped later (by the next
 * `devloop up`, or `devloop down`).
 *
 * A pid alone is not proof: pids are recycled. A recorded leader is only killed when its start
 * time (from /proc, or `ps` elsewhere) still matches; its descendants are found by the random
 * token devloop puts in their environment, which they inherit even if they leave the group.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { commandLine, environHas, processStartTime, processTable } from './procfs.js';
import { sleep } from './time.js';

export { processStartTime };

export const TOKEN_ENV = 'DEVLOOP_PROCESS_TOKEN';

export interface ProcessRecord {
  token: string;
  service: string;
  /** `service` (a running service), `build` (a build command), `run` (a live-update step). */
  role: string;
  pid: number;
  pgid: number;
  /** Opaque start time of `pid`: clock ticks since boot on Linux, `ps lstart` elsewhere. */
  startTime?: string;
  command: string;
  startedAt: string;
  /** The devloop that started it; its entries are left alone while it runs. */
  owner: { pid: number; startTime?: string };
}

export interface StaleProcess {
  service: string;
  pid: number;
  command: string;
}

export function registryFile(root: string): string {
  return path.join(root, '.devloop', 'processes.json');
}

export function newToken(): string {
  return randomUUID();
}

let selfStart: string | undefined | null = null;

function owner(): ProcessRecord['owner'] {
  if (selfStart === null) selfStart = processStartTime(process.pid);
  return { pid: process.pid, startTime: selfStart };
}

// Writes are queued per file so concurrent spawns in one devloop never lose each other's entries.
const queues = new Map<string, Promise<unknown>>();

function update(root: string, fn: (records: ProcessRecord[]) => ProcessRecord[]): Promise<void> {
  const file = registryFile(root);
  const next = (queues.get(file) ?? Promise.resolve()).then(async () => {
    const records = fn(await readRecords(root));
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(records, null, 2)}\n`);
    await rename(tmp, file);
  }).catch(() => {
    // The registry is a safety net; failing to write it must never fail a build or a deploy.
  });
  queues.set(file, next);
  return next;
}

export async function readRecords(root: string): Promise<ProcessRecord[]> {
  try {
    const parsed: unknown = JSON.parse(await readFile(registryFile(root), 'utf8'));
    return Array.isArray(parsed) ? (parsed as ProcessRecord[]) : [];
  } catch {
    return [];
  }
}

export function recordProcess(root: string, rec: Omit<ProcessRecord, 'owner' | 'startedAt' | 'startTime'>): Promise<void> {
  const full: ProcessRecord = { ...rec, startTime: processStartTime(rec.pid), startedAt: new Date().toISOString(), owner: owner() };
  return update(root, (records) => [...records.filter((r) => r.token !== rec.token), full]);
}

export function forgetProcess(root: string, token: string): Promise<void> {
  return update(root, (records) => records.filter((r) => r.token !== token));
}

/** Resolves once every queued registry write for `root` has landed. */
export async function registryIdle(root: string): Promise<void> {
  await queues.get(registryFile(root));
}

/**
 * Stops processes recorded by a devloop that is no longer running (or, with `all`, by any
 * devloop), and drops their entries. Returns what was found alive and stopped.
 */
export async function cleanupStaleProcesses(root: string, options: { all?: boolean; graceMs?: number } = {}): Promise<StaleProcess[]> {
  const records = await readRecords(root);
  if (records.length === 0) return [];
  const stale = records.filter((r) => options.all || !sameProcess(r.owner.pid, r.owner.startTime));
  const victims: Array<{ pid: number; startTime?: string; rec: ProcessRecord }> = [];
  const table = processTable();
  for (const rec of stale) {
    const leaderAlive = rec.startTime !== undefined && sameProcess(rec.pid, rec.startTime);
    if (leaderAlive) victims.push({ pid: rec.pid, startTime: rec.startTime, rec });
    for (const p of table) {
      if (p.pid === rec.pid || p.state === 'Z') continue;
      // Descendants start after their leader; only they can carry its token.
      if (rec.startTime !== undefined && Number(p.startTime) < Number(rec.startTime)) continue;
      if (environHas(p.pid, `${TOKEN_ENV}=${rec.token}`)) victims.push({ pid: p.pid, startTime: p.startTime, rec });
    }
  }
  for (const v of victims) signal(v.pid, 'SIGTERM');
  const deadline = Date.now() + (options.graceMs ?? 5_000);
  let alive = victims;
  while (alive.length && Date.now() < deadline) {
    await sleep(25);
    alive = alive.filter((v) => sameProcess(v.pid, v.startTime));
  }
  for (const v of alive) signal(v.pid, 'SIGKILL');
  const staleTokens = new Set(stale.map((r) => r.token));
  await update(root, (all) => all.filter((r) => !staleTokens.has(r.token)));
  return victims.map((v) => ({ service: v.rec.service, pid: v.pid, command: v.pid === v.rec.pid ? v.rec.command : commandLine(v.pid) ?? v.rec.command }));
}

function sameProcess(pid: number, startTime: string | undefined): boolean {
  if (startTime === undefined) {
    try { process.kill(pid, 0); return true; } catch { return false; }
  }
  return processStartTime(pid) === startTime;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try { process.kill(pid, sig); } catch { /* already gone */ }
}
