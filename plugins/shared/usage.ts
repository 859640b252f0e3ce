/**
 * CPU time and memory of what a runtime started: a container's cgroup (v1 as on this machine,
 * or v2), or a process group from /proc. Cheap enough to read on every metrics scrape. Anything
 * unreadable (another OS, a container already gone) is undefined, never an error.
 */
import { readFileSync, readdirSync } from 'node:fs';
import type { ResourceUsage } from '../../core/engine/contexts.js';

const PAGE_SIZE = 4096;
const CLOCK_TICKS = 100;

function readable(file: string): boolean {
  try { readFileSync(file); return true; } catch { return false; }
}

/** The cgroup files of a Docker container, found once per container: the layout depends on the daemon's cgroup driver. */
export function containerCgroup(id: string): { cpu?: string; memory?: string } {
  const cpu = [
    `/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`,
    `/sys/fs/cgroup/cpu,cpuacct/docker/${id}/cpuacct.usage`,
    `/sys/fs/cgroup/cpuacct/system.slice/docker-${id}.scope/cpuacct.usage`,
    `/sys/fs/cgroup/system.slice/docker-${id}.scope/cpu.stat`,
    `/sys/fs/cgroup/docker/${id}/cpu.stat`,
  ].find(readable);
  const memory = [
    `/sys/fs/cgroup/memory/docker/${id}/memory.usage_in_bytes`,
    `/sys/fs/cgroup/memory/system.slice/docker-${id}.scope/memory.usage_in_bytes`,
    `/sys/fs/cgroup/system.slice/docker-${id}.scope/memory.current`,
    `/sys/fs/cgroup/docker/${id}/memory.current`,
  ].find(readable);
  return { cpu, memory };
}

/** CPU seconds from a cgroup v1 `cpuacct.usage` (ns) or v2 `cpu.stat` (`usage_usec`). */
export function readCgroupCpu(file: string | undefined): number | undefined {
  if (!file) return undefined;
  try {
    const text = readFileSync(file, 'utf8');
    if (file.endsWith('cpuacct.usage')) return Number(text.trim()) / 1e9;
    const m = /usage_usec (\d+)/.exec(text);
    return m ? Number(m[1]) / 1e6 : undefined;
  } catch {
    return undefined;
  }
}

function readNumber(file: string | undefined): number | undefined {
  if (!file) return undefined;
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/** A reader of one container's use; the cgroup is looked up on the first read that finds it. */
export function containerUsage(id: string): () => ResourceUsage | undefined {
  let files: { cpu?: string; memory?: string } | undefined;
  return () => {
    if (!files?.cpu) files = containerCgroup(id);
    if (!files.cpu && !files.memory) return undefined;
    return { cpuSeconds: readCgroupCpu(files.cpu), memoryBytes: readNumber(files.memory) };
  };
}

/** utime+stime (and of reaped children) of one process, in seconds. */
export function processCpuSeconds(pid: number): number | undefined {
  return processStat(pid)?.cpuSeconds;
}

function processStat(pid: number): { pgrp: number; cpuSeconds: number; rssBytes: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command: state(0) ppid(1) pgrp(2) ... utime(11) stime(12) cutime(13) cstime(14) ... rss(21, pages).
    return {
      pgrp: Number(f[2]),
      cpuSeconds: (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLOCK_TICKS,
      rssBytes: Number(f[21]) * PAGE_SIZE,
    };
  } catch {
    return undefined;
  }
}

/** Every process's group, CPU and memory, read from /proc at most once per SCAN_MS. */
const SCAN_MS = 250;
let scan: { at: number; byGroup: Map<number, ResourceUsage> } | undefined;

function groups(): Map<number, ResourceUsage> | undefined {
  const now = Date.now();
  if (scan && now - scan.at < SCAN_MS) return scan.byGroup;
  let names: string[];
  try { names = readdirSync('/proc'); } catch { return undefined; }
  const byGroup = new Map<number, ResourceUsage>();
  for (const name of names) {
    if (name.charCodeAt(0) > 57) continue;
    const s = processStat(Number(name));
    if (!s) continue;
    const u = byGroup.get(s.pgrp) ?? { cpuSeconds: 0, memoryBytes: 0 };
    u.cpuSeconds! += s.cpuSeconds;
    u.memoryBytes! += s.rssBytes;
    byGroup.set(s.pgrp, u);
  }
  scan = { at: now, byGroup };
  return byGroup;
}

/**
 * The use of a process group (devloop starts each service as one): CPU of the group's live
 * processes, plus what their reaped children used; resident memory summed. A service that runs
 * `npm start` -> node is counted whole. One /proc scan serves every group asked for within
 * SCAN_MS (a scrape asks for each service in turn).
 */
export function processGroupUsage(pgid: number): ResourceUsage | undefined {
  return groups()?.get(pgid);
}
