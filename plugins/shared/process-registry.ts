/**
 * `<root>/.devloop/processes.json`: every process group devloop starts, so that processes left
 * behind by a devloop that crashed or was killed -9 can be found and stopped later (by the next
 * `devloop up`, or `devloop down`).
 *
 * A pid alone is not proof: pids are recycled, and the file can be edited. A process is only
 * killed when it started no earlier than the recorded leader AND carries the record's random
 * token in its environment (which descendants inherit even if they leave the group); the leader
 * passes the same two checks. Without /proc (macOS) neither can be made, and nothing is killed.
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
 *
 * The file is only a hint and may have been edited by anyone: nothing is signalled on its word
 * alone. A process is stopped only when it started no earlier than the recorded leader (pid
 * recycling) AND carries the record's token exactly in its environment; the leader itself must
 * pass both like any descendant. A record without a start time cannot be checked and is dropped
 * unused, with a line in `log`.
 */
export async function cleanupStaleProcesses(root: string, options: { all?: boolean; graceMs?: number; log?: (message: string) => void } = {}): Promise<StaleProcess[]> {
  const records = await readRecords(root);
  if (records.length === 0) return [];
  const log = options.log ?? ((m: string) => process.stderr.write(`devloop: ${m}\n`));
  const stale = records.filter((r) => typeof r !== 'object' || r === null || options.all || !ownerRunning(r.owner));
  const victims: Array<{ pid: number; startTime: string; rec: ProcessRecord }> = [];
  const table = processTable();
  for (const rec of stale) {
    if (!checkable(rec)) {
      const r = (rec ?? {}) as Partial<ProcessRecord>;
      log(`ignored an entry of ${path.relative(root, registryFile(root))} (pid ${String(r.pid)}${r.service ? `, ${String(r.service)}` : ''}) with no start time or token: devloop cannot tell its processes from unrelated ones, so it stopped none`);
      continue;
    }
    const entry = `${TOKEN_ENV}=${rec.token}`;
    for (const p of table) {
      if (p.state === 'Z' || p.pid === process.pid) continue;
      // Descendants start after their leader; an older process with the token is not ours.
      if (!(Number(p.startTime) >= Number(rec.startTime))) continue;
      if (environHas(p.pid, entry)) victims.push({ pid: p.pid, startTime: p.startTime, rec });
    }
  }
  for (const v of victims) signal(v.pid, 'SIGTERM');
  const deadline = Date.now() + (options.graceMs ?? 5_000);
  let alive = victims;
  while (alive.length && Date.now() < deadline) {
    await sleep(25);
    alive = alive.filter((v) => processStartTime(v.pid) === v.startTime);
  }
  for (const v of alive) if (processStartTime(v.pid) === v.startTime) signal(v.pid, 'SIGKILL');
  const staleTokens = new Set(stale.map((r) => (r as Partial<ProcessRecord> | null)?.token));
  await update(root, (all) => all.filter((r) => typeof r === 'object' && r !== null && !staleTokens.has(r.token)));
  return victims.map((v) => ({ service: v.rec.service, pid: v.pid, command: v.pid === v.rec.pid ? v.rec.command : commandLine(v.pid) ?? v.rec.command }));
}

/** A record both checks can be applied to: a token and a start time as this module writes them. */
function checkable(rec: ProcessRecord): boolean {
  return typeof rec === 'object' && rec !== null && typeof rec.token === 'string' && rec.token.length > 0 &&
    typeof rec.startTime === 'string' && rec.startTime.length > 0;
}

function ownerRunning(owner: ProcessRecord['owner'] | undefined): boolean {
  if (!owner || !Number.isInteger(owner.pid) || owner.pid <= 0) return false;
  if (owner.startTime === undefined) {
    try { process.kill(owner.pid, 0); return true; } catch { return false; }
  }
  return processStartTime(owner.pid) === owner.startTime;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try { process.kill(pid, sig); } catch { /* already gone */ }
}
