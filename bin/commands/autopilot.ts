/**
 * `devloop autopilot check` and `devloop autopilot simulate`: Autopilot admission and node
 * provisioning over plain Kubernetes manifests, no cluster and no Devfile needed.
 *
 * Inputs are read as `kubectl apply -f DIR` reads them (plugins/autopilot/manifests.ts): every file
 * is checked and one bad file does not stop the others. YAML that is not a Kubernetes object (a
 * Helm values.yaml, a docker-compose.yaml) is skipped with a `note:`; a syntax error or a field the
 * API server refuses is an `error: file:line:column: ...` and that input has no result; the yaml
 * library's warnings are `note:`s, never printed by the library. Notes and errors go to stderr
 * before the results; the results of everything else are printed as usual.
 *
 * Exit codes, highest first: 2 an input was invalid (syntax error, refused field, missing file,
 * bad flag), even if something else was also denied; else 1 something denied (or unschedulable);
 * else 0. Skipped files and notes do not change the exit code.
 *
 * `check -o json` always prints one object (CheckReport below), whatever the inputs:
 *   {
 *     gkeVersion, bursting, region, priceRegion,   // the cluster assumed
 *     summary: {
 *       workloads: { checked, admitted, denied },    // objects with a pod template
 *       otherObjects: { checked, denied },           // Services, ConfigMaps, ...
 *       usdPerHour,                                  // requests of admitted workloads
 *       clusterFeeHour,
 *     },
 *     entries: [{ kind, name, namespace, source, allowed, warnings, denials, hints,
 *                 adjustments: [{ container, field, resource, from?, to, reason }],
 *                 estimate (null when denied or without pods), mutated }],
 *     errors: [{ file, line?, column?, message }],  // invalid inputs (exit 2); no line for a whole file
 *     skipped: [{ file, line?, column?, reason }],  // not Kubernetes objects
 *     notes: [{ file, line, column, message }],
 *   }
 * (Before, it was a bare array of entries when the inputs were clean and an object otherwise.)
 * `simulate -o json` always carries `errors`, `skipped` and `notes` beside the plan and `denied`.
 */
import { admit, type AdmissionResult } from '../../plugins/autopilot/admission.js';
import { CLUSTER_FEE_HOUR, COMMITTED_USE_DISCOUNT, FREE_TIER_MONTHLY } from '../../plugins/autopilot/data.js';
import { estimate, priceRegion, usd, type Estimate } from '../../plugins/autopilot/estimate.js';
import { GiB } from '../../plugins/autopilot/quantity.js';
import type { Adjustment } from '../../plugins/autopilot/resources.js';
import { loadManifests, ManifestError, type ManifestNote, type ManifestObject, type SkippedInput } from '../../plugins/autopilot/manifests.js';
import { fmtGiB, plan, resolveTimings, type Plan, type PlanPod, type PlanSettings } from '../../plugins/autopilot/scheduler.js';
import { resolveSettings, VersionError, type ClusterSettings, type ResolvedSettings } from '../../plugins/autopilot/settings.js';
import type { K8sObject, PodSpec } from '../../plugins/autopilot/types.js';
import { isWorkload, nameOf, namespaceOf, podCount, podTemplate } from '../../plugins/autopilot/workload.js';
import { EXIT, parseDuration } from '../shared.js';

export interface AutopilotCliOptions {
  output: 'plain' | 'json';
  cwd: string;
  /** Where results go. Default: process.stdout. */
  write?: (text: string) => void;
  /** Where input errors go. Default: process.stderr. */
  writeError?: (text: string) => void;
  /** What `-` reads: text or a stream. Default: process.stdin. */
  stdin?: string | NodeJS.ReadableStream;
}

export interface AutopilotCheckFlags {
  /** `--bursting` / `--no-bursting`; default from the GKE version. */
  bursting?: boolean;
  /** `--gke-version <version>` */
  gkeVersion?: string;
  /** `--region <region>` (prices, zones). */
  region?: string;
}

export interface AutopilotSimulateFlags extends AutopilotCheckFlags {
  /** `--provisioning <realistic|fast>` */
  provisioning?: 'realistic' | 'fast';
  /** `--scale-down-delay <duration>`: how long an empty node lives (30s, 10m). */
  scaleDownDelay?: string;
  /** `--until <duration>`: stop the simulation at this time. */
  until?: string;
}

/** One object of `check --output json`. */
export interface CheckEntry {
  kind: string;
  name: string;
  namespace: string;
  allowed: boolean;
  warnings: string[];
  denials: { constraint: string; message: string }[];
  /** devloop's advice on a denial (what GKE would need to admit it). */
  hints: string[];
  /** Each value admission set or changed, with the rule in words. */
  adjustments: Adjustment[];
  mutated: K8sObject;
  /** null for objects without pods, and for denied ones: a denied workload costs nothing. */
  estimate: Estimate | null;
  source: string;
}

/** The whole of `check --output json` (shape in the header comment). */
export interface CheckReport {
  gkeVersion: string;
  bursting: boolean;
  region: string;
  priceRegion: string;
  summary: {
    workloads: { checked: number; admitted: number; denied: number };
    otherObjects: { checked: number; denied: number };
    usdPerHour: number;
    clusterFeeHour: number;
  };
  entries: CheckEntry[];
  errors: { file: string; line?: number; column?: number; message: string }[];
  skipped: SkippedInput[];
  notes: ManifestNote[];
}

/** Annotations (on the workload or its pod template) that shape `simulate`'s timeline. */
export const START_AFTER = 'autopilot.devloop.dev/start-after';
export const RUN_FOR = 'autopilot.devloop.dev/run-for';

export class InputError extends Error {}

export async function autopilotCheck(opts: AutopilotCliOptions, files: string[], flags: AutopilotCheckFlags = {}): Promise<number> {
  const io = streams(opts);
  let input: Loaded;
  try { input = await load(opts, files, flags); } catch (err) { return inputError(err, io); }
  const { objects, settings } = input;
  const problems = reportProblems(input, io);
  const entries: CheckEntry[] = [];
  const results: AdmissionResult[] = [];
  // Counted from the object as written: a workload denied before its pod was read (a DaemonSet in
  // kube-system) is still a workload.
  const isPodOwner: boolean[] = [];
  for (const m of objects) {
    const r = admit(m.object, settings);
    results.push(r);
    isPodOwner.push(podTemplate(m.object) !== undefined);
    entries.push({
      kind: String(m.object.kind), name: nameOf(m.object), namespace: namespaceOf(m.object), allowed: r.allowed, warnings: r.warnings,
      denials: r.denials, hints: r.hints, adjustments: r.adjustments, mutated: r.mutated,
      estimate: (r.allowed && estimate(r, podCount(m.object), settings.region)) || null, source: `${m.source.file}:${m.source.line}`,
    });
  }
  const denied = entries.filter((e) => !e.allowed).length;
  const code = input.errors.length ? EXIT.usage : denied ? EXIT.failed : EXIT.ok;
  const workloads = isPodOwner.filter(Boolean).length;
  const deniedWorkloads = entries.filter((e, i) => !e.allowed && isPodOwner[i]).length;
  const others = entries.length - workloads;
  const deniedOthers = denied - deniedWorkloads;
  const total = usd(entries.reduce((sum, e) => sum + (e.estimate?.usdPerHour ?? 0), 0));
  const prices = priceRegion(settings.region);
  if (opts.output === 'json') {
    const report: CheckReport = {
      gkeVersion: settings.gkeVersion, bursting: settings.bursting, region: settings.region, priceRegion: prices,
      summary: {
        workloads: { checked: workloads, admitted: workloads - deniedWorkloads, denied: deniedWorkloads },
        otherObjects: { checked: others, denied: deniedOthers },
        usdPerHour: total,
        clusterFeeHour: CLUSTER_FEE_HOUR,
      },
      entries, ...problems,
    };
    io.out(`${JSON.stringify(report, null, 2)}\n`);
    return code;
  }
  const lines: string[] = [];
  entries.forEach((e, i) => {
    const r = results[i];
    if (!isPodOwner[i] && e.allowed) return;
    const req = r.podRequests && r.placement;
    const pods = podCount(objects[i].object);
    const what = !req ? ''
      : e.estimate && (e.estimate.billing === 'pod' || e.estimate.machineType) ? `  ${r.placement!.computeClass}${e.estimate.spot ? ' Spot' : ''}, ${podsText(pods)}: ${round(e.estimate.vcpu)} vCPU, ${round(e.estimate.memoryGiB)} GiB, $${e.estimate.usdPerHour.toFixed(4)}/h${e.estimate.billing === 'node' ? ` (${e.estimate.machineType} node)` : ''}`
        : `  ${r.placement!.computeClass}${r.placement!.spot ? ' Spot' : ''}, ${podsText(pods)}: ${round((r.podRequests!.cpuMilli * pods) / 1000)} vCPU, ${round((r.podRequests!.memoryBytes * pods) / GiB)} GiB, ${e.allowed ? 'no price (no machine fits)' : 'no price: denied'}`;
    lines.push(`${e.allowed ? 'admitted' : 'DENIED  '}  ${e.kind} ${e.namespace}/${e.name}${what}  [${e.source}]`);
    for (const w of e.warnings) lines.push(`    Warning: ${w}`);
    for (const a of r.adjustments) lines.push(`    ${a.container} ${a.field}.${a.resource}: ${a.from ?? '(unset)'} -> ${a.to}  (${a.reason})`);
    if (!e.allowed) for (const l of r.message!.split('\n')) lines.push(`    ${l}`);
    for (const h of e.hints) lines.push(`    hint: ${h}`);
  });
  lines.push('');
  lines.push(`${workloads} workload${workloads === 1 ? '' : 's'}: ${workloads - deniedWorkloads} admitted, ${deniedWorkloads} denied. ` +
    `${others} object${others === 1 ? '' : 's'} without pods${deniedOthers ? `: ${deniedOthers} denied` : ''}.`);
  lines.push(`GKE ${settings.gkeVersion}, bursting ${settings.bursting ? 'on' : 'off'}. Requests of admitted workloads: about $${total.toFixed(4)}/h in ${settings.region}` +
    `${prices !== settings.region ? ` (priced at ${prices} rates)` : ''}, plus the $${CLUSTER_FEE_HOUR.toFixed(2)}/h cluster fee.`);
  lines.push(...notChecked(input));
  io.out(`${lines.join('\n')}\n`);
  return code;
}

const podsText = (n: number) => `${n} pod${n === 1 ? '' : 's'}`;

export async function autopilotSimulate(opts: AutopilotCliOptions, files: string[], flags: AutopilotSimulateFlags = {}): Promise<number> {
  const io = streams(opts);
  let input: Loaded;
  let planSettings: PlanSettings;
  try {
    input = await load(opts, files, flags);
    if (flags.provisioning && flags.provisioning !== 'realistic' && flags.provisioning !== 'fast') throw new InputError(`--provisioning: expected realistic or fast, got "${flags.provisioning}"`);
    const timings = flags.scaleDownDelay ? { ...resolveTimings(flags.provisioning), scaleDownDelayS: seconds(flags.scaleDownDelay, '--scale-down-delay') } : flags.provisioning;
    planSettings = { region: input.settings.region, provisioning: timings, until: flags.until ? seconds(flags.until, '--until') : undefined, cluster: input.settings };
  } catch (err) { return inputError(err, io); }
  const problems = reportProblems(input, io);

  const pods: PlanPod[] = [];
  const denied: { kind: string; name: string; namespace: string; source: string; denials: { constraint: string; message: string }[]; message: string }[] = [];
  for (const m of input.objects) {
    if (!isWorkload(m.object)) continue;
    const r = admit(m.object, input.settings);
    if (!r.allowed) {
      denied.push({ kind: String(m.object.kind), name: nameOf(m.object), namespace: namespaceOf(m.object), source: `${m.source.file}:${m.source.line}`, denials: r.denials, message: r.message! });
      continue;
    }
    const template = podTemplate(r.mutated);
    if (!template) continue;
    try { pods.push(...expand(m.object, r, template.spec, template.metadata.labels ?? {})); } catch (err) { return inputError(err, io); }
  }
  const result = plan(pods, planSettings);
  const unschedulable = result.placements.filter((p) => p.status === 'unschedulable').length;
  const code = input.errors.length ? EXIT.usage : denied.length || unschedulable ? EXIT.failed : EXIT.ok;
  if (opts.output === 'json') {
    io.out(`${JSON.stringify({ ...result, denied, ...problems }, null, 2)}\n`);
    return code;
  }
  const rest = notChecked(input);
  io.out(`${[...renderPlan(result, input.settings, denied), ...(rest.length ? ['', ...rest] : [])].join('\n')}\n`);
  return code;
}

// ---------------------------------------------------------------------------------------------

export interface Loaded {
  objects: ManifestObject[];
  settings: ResolvedSettings;
  /** Inputs that were invalid: reported, not checked; exit 2. */
  errors: ManifestError[];
  /** Files (or documents) that are not Kubernetes objects. */
  skipped: SkippedInput[];
  /** The yaml library's warnings, located. */
  notes: ManifestNote[];
}

export async function load(opts: AutopilotCliOptions, files: string[], flags: AutopilotCheckFlags): Promise<Loaded> {
  const settings = resolveSettings({ gkeVersion: flags.gkeVersion, bursting: flags.bursting, region: flags.region } satisfies ClusterSettings);
  let inputs = files;
  if (!inputs.length) {
    const piped = opts.stdin !== undefined || !process.stdin.isTTY;
    if (!piped) throw new InputError('give the manifests to read: files, folders, or - for stdin (e.g. kustomize build . | devloop autopilot check -)');
    inputs = ['-'];
  }
  return { ...await loadManifests(inputs, { cwd: opts.cwd, stdin: opts.stdin }), settings };
}

/** Prints the notes, skips and errors (stderr) before the results; returns them for JSON. */
export function reportProblems(input: Loaded, io: ReturnType<typeof streams>) {
  const where = (x: { file: string; line?: number; column?: number }) => (x.line === undefined ? x.file : `${x.file}:${x.line}:${x.column}`);
  const text = [
    ...input.skipped.map((s) => `note: ${where(s)}: ${s.reason}; skipped`),
    ...input.notes.map((n) => `note: ${where(n)}: ${n.message}`),
    ...input.errors.map((e) => `error: ${e.message}`),
  ];
  if (text.length) io.err(`${text.join('\n')}\n`);
  return {
    errors: input.errors.map((e) => (e.line > 0 ? { file: e.file, line: e.line, column: e.column, message: e.reason } : { file: e.file, message: e.message })),
    skipped: input.skipped,
    notes: input.notes,
  };
}

/** The summary line for what has no result: invalid and skipped inputs. */
function notChecked(input: Loaded): string[] {
  const parts: string[] = [];
  const invalid = new Set(input.errors.map((e) => e.file)).size;
  if (invalid) parts.push(`${invalid} invalid file${invalid === 1 ? '' : 's'} (errors above)`);
  const n = input.skipped.length;
  const word = input.skipped.every((s) => s.line === undefined) ? 'file' : 'document';
  if (n) parts.push(`${n} ${word}${n === 1 ? '' : 's'} skipped (not Kubernetes objects)`);
  return parts.length ? [`Not checked: ${parts.join(', ')}.`] : [];
}

function expand(obj: K8sObject, r: AdmissionResult, spec: PodSpec, labels: Record<string, string>): PlanPod[] {
  const notes = { ...(obj.metadata?.annotations ?? {}), ...(podTemplate(obj)?.metadata.annotations ?? {}) };
  const start = notes[START_AFTER] ? seconds(notes[START_AFTER], `annotation ${START_AFTER} on ${obj.kind} ${nameOf(obj)}`) : 0;
  const runFor = notes[RUN_FOR] ? seconds(notes[RUN_FOR], `annotation ${RUN_FOR} on ${obj.kind} ${nameOf(obj)}`) : undefined;
  const base = {
    namespace: namespaceOf(obj), labels, spec, requests: r.podRequests, placement: r.placement, owner: `${obj.kind} ${namespaceOf(obj)}/${nameOf(obj)}`,
    arriveAt: start, runForS: runFor, priority: typeof spec.priority === 'number' ? spec.priority : undefined,
    // The pod's own annotations: safe-to-evict there makes it extended-duration for scale-down.
    annotations: podTemplate(obj)?.metadata.annotations,
  };
  if (obj.kind === 'DaemonSet') return [{ ...base, name: nameOf(obj), daemonSet: true }];
  const n = podCount(obj);
  if (obj.kind === 'Pod') return [{ ...base, name: nameOf(obj) }];
  return Array.from({ length: n }, (_, i) => ({ ...base, name: `${nameOf(obj)}-${i}` }));
}

function renderPlan(p: Plan, s: ResolvedSettings, denied: { kind: string; namespace: string; name: string; source: string; message: string }[]): string[] {
  const out: string[] = [];
  const t = p.settings.timings;
  out.push(`Node plan for ${p.settings.region} (GKE ${s.gkeVersion}, bursting ${s.bursting ? 'on' : 'off'}; nodes boot in ${t.nodeBootS}s, GPU nodes ${t.gpuNodeBootS}s, empty nodes go after ${t.scaleDownDelayS}s)`);
  out.push('');
  const rows: string[][] = [['NODE', 'MACHINE', 'CLASS', 'ZONE', 'PODS', 'VCPU (peak/alloc)', 'MEMORY (peak/alloc)', 'NODE $/H', 'LIFETIME']];
  for (const n of p.nodes) {
    const a = n.allocatable;
    const cls = `${n.computeClass}${n.spot ? ' Spot' : ''}${n.arch === 'arm64' ? ' Arm' : ''}${n.gpu ? ` ${n.gpu.count}x${n.gpu.type}` : ''}`;
    rows.push([n.name, n.machineType, cls, n.zone, String(n.pods.length),
      `${round2(n.peak.cpuMilli / 1000)}/${round2(a.cpuMilli / 1000)} (${pct(n.peak.cpuMilli, a.cpuMilli)})`,
      `${fmtGiB(n.peak.memoryBytes)}/${fmtGiB(a.memoryBytes)} (${pct(n.peak.memoryBytes, a.memoryBytes)})`,
      n.billing === 'node' ? `$${n.usdPerHour.toFixed(4)}` : 'pod-billed',
      `${n.createdAt}s-${n.removedAt !== undefined ? `${n.removedAt}s` : ''}`]);
  }
  out.push(...table(rows));
  out.push('');
  out.push('Pods per node:');
  for (const n of p.nodes) out.push(`  ${n.name}: ${n.pods.join(', ') || '(none)'}`);
  const stuck = p.placements.filter((x) => x.status === 'unschedulable' || x.status === 'pending');
  for (const x of stuck) out.push(`  ${x.pod}: ${x.status.toUpperCase()}: ${x.reason}`);
  out.push('');
  out.push('Timeline:');
  // Bindings (and evictions) at the same instant on the same node read as one line.
  const bound = new Map<string, string[]>();
  for (const e of p.timeline) {
    if (e.type === 'pod-bound' || e.type === 'pod-evicted') {
      const k = `${e.type}|${e.t}|${e.node}`;
      if (!bound.has(k)) { bound.set(k, []); out.push(`@@${k}`); }
      bound.get(k)!.push(e.pod!);
      continue;
    }
    out.push(`  t=${`${e.t}s`.padEnd(7)} ${e.type.padEnd(13)} ${e.detail}`);
  }
  for (let i = 0; i < out.length; i++) {
    if (!out[i].startsWith('@@')) continue;
    const [type, tt, node] = out[i].slice(2).split('|');
    const list = bound.get(out[i].slice(2))!;
    out[i] = `  t=${`${tt}s`.padEnd(7)} ${type.padEnd(13)} ${list.length} pod${list.length === 1 ? '' : 's'} ${type === 'pod-bound' ? 'on' : 'from'} ${node}: ${list.join(', ')}${type === 'pod-evicted' ? ' (scale-down of an underused node)' : ''}`;
  }
  out.push('');
  const c = p.costPerHour;
  out.push(`Cost per hour at peak: $${c.total.toFixed(4)} = pods $${c.pods.toFixed(4)} (requests x ${p.settings.region} prices) + nodes $${c.nodes.toFixed(4)} (Accelerator/Performance VMs + premium) + cluster fee $${c.clusterFee.toFixed(2)}`);
  if (p.costAtEnd.total !== c.total) out.push(`Cost per hour at the end: $${p.costAtEnd.total.toFixed(4)}`);
  const compute = c.pods + c.nodes;
  out.push(`Committed use takes ${COMMITTED_USE_DISCOUNT.oneYear * 100}% (1 year) or ${COMMITTED_USE_DISCOUNT.threeYears * 100}% (3 years) off pods and nodes: $${(compute * (1 - COMMITTED_USE_DISCOUNT.oneYear)).toFixed(4)} or $${(compute * (1 - COMMITTED_USE_DISCOUNT.threeYears)).toFixed(4)}/h; ` +
    `the free tier credits $${FREE_TIER_MONTHLY.toFixed(2)} a month against the cluster fee.`);
  if (denied.length) {
    out.push('');
    out.push('Denied at admission (not scheduled):');
    for (const d of denied) {
      out.push(`  ${d.kind} ${d.namespace}/${d.name} [${d.source}]`);
      for (const l of d.message.split('\n')) out.push(`    ${l}`);
    }
  }
  return out;
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd());
}

const pct = (a: number, b: number) => `${b ? Math.round((a / b) * 100) : 0}%`;
const round = (n: number) => Math.round(n * 1000) / 1000;
const round2 = (n: number) => Math.round(n * 100) / 100;

export function seconds(text: string, what: string): number {
  try { return parseDuration(text, what) / 1000; } catch (err) { throw new InputError((err as Error).message); }
}

export function streams(opts: AutopilotCliOptions) {
  return {
    out: opts.write ?? ((t: string) => { process.stdout.write(t); }),
    err: opts.writeError ?? ((t: string) => { process.stderr.write(t); }),
  };
}

export function inputError(err: unknown, io: ReturnType<typeof streams>): number {
  if (err instanceof ManifestError || err instanceof VersionError || err instanceof InputError) {
    io.err(`error: ${err.message}\n`);
    return EXIT.usage;
  }
  throw err;
}
