/**
 * Self time per function from a V8 `.cpuprofile` (what the inspector's Profiler.stop returns), and
 * the table `devloop profile` prints. Pure: where a function's source is (source maps, paths
 * relative to the project) is the caller's `locate`.
 */

export interface CallFrame {
  functionName: string;
  scriptId: string;
  url: string;
  /** 0-based, as CDP gives it. */
  lineNumber: number;
  /** 0-based. */
  columnNumber: number;
}

export interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame; hitCount?: number; children?: number[] }[];
  startTime: number;
  endTime: number;
  /** The node id each sample was taken in. */
  samples?: number[];
  /** Microseconds before each sample (the first: since startTime). */
  timeDeltas?: number[];
}

export interface SelfTime {
  callFrame: CallFrame;
  /** Microseconds. */
  selfUs: number;
}

export interface ProfileSummary {
  /** Microseconds the profile covers. */
  totalUs: number;
  /** Not idle: running JavaScript, the engine (program) or the garbage collector. */
  busyUs: number;
  /** Most self time first; `(idle)` and `(root)` left out: they are not work. */
  functions: SelfTime[];
}

const NOT_WORK = new Set(['(idle)', '(root)']);

/**
 * Each sample lasts until the next one (as DevTools counts it); the last one, and a profile
 * without samples, fall back to hitCount times the mean interval. Functions are merged by name,
 * script and line: V8 has one node per call path, and the question is which function is hot.
 */
export function summarize(profile: CpuProfile): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfById = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const totalUs = Math.max(0, profile.endTime - profile.startTime);
  if (samples.length > 0 && deltas.length === samples.length) {
    const mean = totalUs / samples.length;
    for (let i = 0; i < samples.length; i++) {
      const us = i + 1 < deltas.length ? Math.max(0, deltas[i + 1]) : mean;
      selfById.set(samples[i], (selfById.get(samples[i]) ?? 0) + us);
    }
  } else {
    const hits = profile.nodes.reduce((sum, n) => sum + (n.hitCount ?? 0), 0);
    const mean = hits > 0 ? totalUs / hits : 0;
    for (const n of profile.nodes) if (n.hitCount) selfById.set(n.id, n.hitCount * mean);
  }
  const merged = new Map<string, SelfTime>();
  let busyUs = 0;
  for (const [id, us] of selfById) {
    const frame = byId.get(id)?.callFrame;
    if (!frame || NOT_WORK.has(frame.functionName)) continue;
    busyUs += us;
    const key = `${frame.functionName}\0${frame.url}\0${frame.lineNumber}`;
    const seen = merged.get(key);
    if (seen) seen.selfUs += us;
    else merged.set(key, { callFrame: frame, selfUs: us });
  }
  const functions = [...merged.values()].sort((a, b) => b.selfUs - a.selfUs);
  return { totalUs, busyUs, functions };
}

export interface Located {
  /** Shown as is: a project-relative path, `node:internal/...`, or empty. */
  file: string;
  /** 1-based; undefined when the frame has no script. */
  line?: number;
}

/** The rows `devloop profile` prints: self ms, self % of the whole profile, function, file:line. */
export function formatTop(summary: ProfileSummary, locate: (frame: CallFrame) => Located, limit = 10): string[] {
  const pct = (us: number) => (summary.totalUs > 0 ? (100 * us) / summary.totalUs : 0);
  const rows = summary.functions.slice(0, limit).map((f) => {
    const where = locate(f.callFrame);
    return [
      (f.selfUs / 1000).toFixed(1),
      `${pct(f.selfUs).toFixed(1)}%`,
      f.callFrame.functionName || '(anonymous)',
      where.file ? `${where.file}${where.line ? `:${where.line}` : ''}` : '',
    ];
  });
  const header = ['self ms', 'self %', 'function', 'location'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  // Numbers right-aligned, names and places left-aligned.
  const line = (r: string[]) => r.map((c, i) => (i < 2 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}
