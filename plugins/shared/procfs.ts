/**
 * What Linux's /proc says about processes. Elsewhere these return undefined/empty and callers
 * fall back to signals alone.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

export const HAS_PROC = existsSync('/proc/self/stat');

export interface ProcStat {
  pid: number;
  /** `R`, `S`, `Z` (zombie: dead, waiting to be reaped), ... */
  state: string;
  pgrp: number;
  /** Clock ticks since boot, as text: compared only for equality or order. */
  startTime: string;
}

export function readStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pid, state: fields[0], pgrp: Number(fields[2]), startTime: fields[19] };
  } catch {
    return undefined;
  }
}

let lastTable: ProcStat[] = [];

/**
 * Every process. When /proc cannot be listed (out of file descriptors), the last table read is
 * returned rather than none: an empty one would tell supervision that every group had died.
 */
export function processTable(): ProcStat[] {
  if (!HAS_PROC) return [];
  const out: ProcStat[] = [];
  let names: string[];
  try { names = readdirSync('/proc'); } catch { return lastTable; }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s) out.push(s);
  }
  lastTable = out;
  return out;
}

/**
 * The start time of a live process, or undefined when it is gone (a zombie counts as gone) or
 * cannot be read.
 */
export function processStartTime(pid: number): string | undefined {
  if (HAS_PROC) {
    const s = readStat(pid);
    return s && s.state !== 'Z' ? s.startTime : undefined;
  }
  try {
    const out = execFileSync('ps', ['-o', 'lstart=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return out || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether any live (non-zombie) process is in group `pgid`. Zombies matter: where PID 1 reaps
 * orphans slowly (or never, in some containers), a dead grandchild keeps `kill(-pgid, 0)`
 * succeeding long after everything in the group has exited.
 */
export function groupHasLiveMember(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (!HAS_PROC) return true;
  return processTable().some((p) => p.pgrp === pgid && p.state !== 'Z');
}

/**
 * The environment a process started with, as `VAR=value` entries, or undefined when it cannot be
 * read (gone, another user's). Entries are compared whole: a token must never match as a prefix
 * or a substring of some other value.
 */
export function environEntries(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
  } catch {
    return undefined;
  }
}

/** Whether the process's environment holds exactly `entry` (`VAR=value`). */
export function environHas(pid: number, entry: string): boolean {
  return environEntries(pid)?.includes(entry) ?? false;
}

/**
 * Live processes started no earlier than `since` (a start time from this module) whose
 * environment holds exactly `entry`. Descendants inherit the environment even after leaving
 * their process group (`setsid`, a daemon's double fork), so this finds what signalling a group
 * misses.
 */
export function processesWithEnv(entry: string, since?: string): ProcStat[] {
  const floor = since === undefined ? -Infinity : Number(since);
  return processTable().filter((p) => p.state !== 'Z' && !(Number(p.startTime) < floor) && p.pid !== process.pid && environHas(p.pid, entry));
}

export function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ') || undefined;
  } catch {
    return undefined;
  }
}
