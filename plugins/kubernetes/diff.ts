/**
 * What `devloop deploy --diff` prints: the live object against the server's dry-run of the apply,
 * both without the fields the server keeps for itself (managedFields, resourceVersion, status, ...)
 * so only what the apply would change shows, as a unified diff of their YAML. Pure.
 */
import { stringify } from 'yaml';

const SERVER_METADATA = ['managedFields', 'resourceVersion', 'generation', 'uid', 'creationTimestamp'];

/** A copy of `o` without what the server owns: what a diff compares. */
export function forDiff(o: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(o);
  delete copy.status;
  const meta = copy.metadata as Record<string, unknown> | undefined;
  if (meta) for (const k of SERVER_METADATA) delete meta[k];
  return copy;
}

/** YAML with sorted keys, so the same object always prints the same lines. */
export function diffYaml(o: Record<string, unknown> | undefined): string {
  return o ? stringify(o, { sortMapEntries: true, lineWidth: 0 }) : '';
}

type Op = { kind: ' ' | '-' | '+'; line: string };

/** Line edit script by longest common subsequence (objects are hundreds of lines, not thousands). */
function editScript(a: string[], b: string[]): Op[] {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) { endA--; endB--; }
  const x = a.slice(start, endA);
  const y = b.slice(start, endB);
  const n = x.length;
  const m = y.length;
  // lcs[i][j]: length of the LCS of x[i..] and y[j..].
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const ops: Op[] = a.slice(0, start).map((line) => ({ kind: ' ', line }));
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) { ops.push({ kind: ' ', line: x[i] }); i++; j++; }
    // Deletions before insertions, as diff(1) prints a changed line.
    else if (i < n && (j === m || lcs[i + 1][j] >= lcs[i][j + 1])) { ops.push({ kind: '-', line: x[i] }); i++; }
    else { ops.push({ kind: '+', line: y[j] }); j++; }
  }
  for (const line of a.slice(endA)) ops.push({ kind: ' ', line });
  return ops;
}

const lines = (text: string) => (text === '' ? [] : text.replace(/\n$/, '').split('\n'));

/**
 * A unified diff (`--- from`, `+++ to`, `@@ -l,n +l,n @@` hunks with `context` lines around each
 * change), or '' when the texts are the same. An empty `from` shows everything as added.
 */
export function unifiedDiff(from: string, to: string, fromLabel: string, toLabel: string, context = 3): string {
  const ops = editScript(lines(from), lines(to));
  if (!ops.some((o) => o.kind !== ' ')) return '';
  const out = [`--- ${fromLabel}`, `+++ ${toLabel}`];
  // Positions in a and b before each op, to number the hunks.
  const posA: number[] = [];
  const posB: number[] = [];
  let pa = 0;
  let pb = 0;
  for (const o of ops) { posA.push(pa); posB.push(pb); if (o.kind !== '+') pa++; if (o.kind !== '-') pb++; }
  const changed = ops.map((o, k) => (o.kind !== ' ' ? k : -1)).filter((k) => k >= 0);
  let h = 0;
  while (h < changed.length) {
    const first = changed[h];
    let last = first;
    while (h + 1 < changed.length && changed[h + 1] - last <= 2 * context + 1) last = changed[++h];
    h++;
    const lo = Math.max(0, first - context);
    const hi = Math.min(ops.length - 1, last + context);
    const hunk = ops.slice(lo, hi + 1);
    const countA = hunk.filter((o) => o.kind !== '+').length;
    const countB = hunk.filter((o) => o.kind !== '-').length;
    const startA = countA ? posA[lo] + 1 : posA[lo];
    const startB = countB ? posB[lo] + 1 : posB[lo];
    out.push(`@@ -${startA},${countA} +${startB},${countB} @@`);
    for (const o of hunk) out.push(`${o.kind}${o.line}`);
  }
  return `${out.join('\n')}\n`;
}
