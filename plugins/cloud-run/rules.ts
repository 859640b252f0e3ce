/**
 * Cloud Run's rules for a service (from `data.ts`): CPU/memory pairs, concurrency, timeouts,
 * scaling bounds, ports, env, probes, traffic. Each source (the YAML file, the Devfile's inline
 * options) says where each field is, so a message names the field as the user wrote it.
 */
import type { ConfigIssue } from '../../core/errors.js';
import { ANNOTATIONS, BELOW_ONE_CPU, CONCURRENCY, CPU, DNS_LABEL, DNS_LABEL_MAX, formatBytes, MAX_ENV_VARS, MEMORY, PORT, PROBE_LIMITS, RESERVED_ENV, rowForCpu, cpuForMemory, SERVICE_NAME_MAX, TIMEOUT_SECONDS } from './data.js';
import type { CloudRunSpec, Probe } from './types.js';
import type { Draft } from './spec.js';
import { child } from './yaml-tree.js';

// ---------------------------------------------------------------------------------------------
// Cloud Run's rules

/** The fields the rules name; each source (YAML, inline options) says where they are. */
export type Field =
  | 'name' | 'revisionName' | 'containerConcurrency' | 'timeoutSeconds' | 'cpu' | 'memory' | 'minScale' | 'maxScale'
  | 'cpuThrottling' | 'executionEnvironment' | 'containerPort' | 'portName' | 'env' | 'startupProbe' | 'livenessProbe' | 'traffic';

export interface Where {
  paths: Record<Field, string>;
  /** The path of each env var's name, in `template.env` order (default `env[i].name`). */
  envPaths: string[];
  /** How the message for a user-set PORT names the port setting. */
  portHint: string;
  /** Whether the author wrote this field (else it is a default). */
  given: (path: string) => boolean;
}

export function yamlWhere(container: string, d?: Draft): Where {
  const tmpl = 'spec.template.metadata.annotations';
  const paths: Record<Field, string> = {
    name: 'metadata.name',
    revisionName: 'spec.template.metadata.name',
    containerConcurrency: 'spec.template.spec.containerConcurrency',
    timeoutSeconds: 'spec.template.spec.timeoutSeconds',
    cpu: `${container}.resources.limits.cpu`,
    memory: `${container}.resources.limits.memory`,
    minScale: d?.minScalePath ?? child(tmpl, ANNOTATIONS.minScale),
    maxScale: d?.maxScalePath ?? child(tmpl, ANNOTATIONS.maxScale),
    cpuThrottling: child(tmpl, ANNOTATIONS.cpuThrottling),
    executionEnvironment: child(tmpl, ANNOTATIONS.executionEnvironment),
    containerPort: `${container}.ports[0].containerPort`,
    portName: `${container}.ports[0].name`,
    env: `${container}.env`,
    startupProbe: `${container}.startupProbe`,
    livenessProbe: `${container}.livenessProbe`,
    traffic: 'spec.traffic',
  };
  const given = new Set<string>();
  if (d) {
    if (d.maxScalePath) given.add(d.maxScalePath);
    if (d.minScalePath) given.add(d.minScalePath);
  }
  return { paths, envPaths: d?.envPaths ?? [], portHint: 'ports[0].containerPort', given: d ? (p) => given.has(p) : () => true };
}

export const isWhole = (n: number): boolean => Number.isInteger(n);
export const PROBE_KEYS: Record<Probe['kind'], string> = { tcp: 'tcpSocket', http: 'httpGet', grpc: 'grpc' };
export const DNS_RULE = 'must use only lowercase letters, digits and dashes, start with a letter and not end with a dash';

/** Every rule, on the finished spec. Fields in `failed` were reported while reading and are skipped. */
export function checkSpec(spec: CloudRunSpec, w: Where, failed: ReadonlySet<string>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const P = w.paths;
  const bad = (path: string, message: string) => issues.push({ path, message });
  const ok = (...paths: string[]) => paths.every((p) => !failed.has(p));
  const t = spec.template;

  // The service and revision names.
  if (ok(P.name)) {
    if (spec.name === '') bad(P.name, 'missing; name the service');
    else if (!DNS_LABEL.test(spec.name)) bad(P.name, `${DNS_RULE}, got ${JSON.stringify(spec.name)}`);
    else if (spec.name.length > SERVICE_NAME_MAX) bad(P.name, `must be at most ${SERVICE_NAME_MAX} characters, got ${spec.name.length}`);
  }
  const prefix = `${spec.name}-`;
  const checkRevision = (path: string, name: string) => {
    if (!name.startsWith(prefix)) bad(path, `must start with the service name and a dash (${JSON.stringify(prefix)}), got ${JSON.stringify(name)}`);
    else if (!DNS_LABEL.test(name)) bad(path, `${DNS_RULE}, got ${JSON.stringify(name)}`);
    else if (name.length > DNS_LABEL_MAX) bad(path, `must be at most ${DNS_LABEL_MAX} characters, got ${name.length}`);
  };
  if (t.name !== undefined && ok(P.revisionName, P.name)) checkRevision(P.revisionName, t.name);

  // Requests.
  const cpuOk = ok(P.cpu) && checkCpu();
  function checkCpu(): boolean {
    const milli = t.cpu * 1000;
    const inRange = (t.cpu >= CPU.fractionMin && t.cpu <= CPU.fractionMax && Math.abs(milli - Math.round(milli)) < 1e-6) || CPU.whole.includes(t.cpu);
    if (!inRange) bad(P.cpu, `must be from ${CPU.fractionMin} to ${CPU.fractionMax} (in steps of 0.001), or ${CPU.whole.slice(0, -1).join(', ')} or ${CPU.whole.at(-1)}, got ${t.cpuText}`);
    return inRange;
  }
  const belowOne = cpuOk && t.cpu < 1;
  if (ok(P.containerConcurrency)) {
    const c = t.containerConcurrency;
    if (!isWhole(c)) bad(P.containerConcurrency, `must be a whole number, got ${c}`);
    else if (c < CONCURRENCY.min || c > CONCURRENCY.max) bad(P.containerConcurrency, `must be from ${CONCURRENCY.min} to ${CONCURRENCY.max}, got ${c}`);
    else if (belowOne && c !== BELOW_ONE_CPU.concurrency) {
      bad(P.containerConcurrency, `must be 1 when cpu is below 1 (cpu is ${t.cpuText}), got ${c}; set containerConcurrency to 1 or cpu to 1`);
    }
  }
  if (ok(P.timeoutSeconds)) {
    const s = t.timeoutSeconds;
    if (!isWhole(s)) bad(P.timeoutSeconds, `must be a whole number of seconds, got ${s}`);
    else if (s < TIMEOUT_SECONDS.min || s > TIMEOUT_SECONDS.max) bad(P.timeoutSeconds, `must be from ${TIMEOUT_SECONDS.min} to ${TIMEOUT_SECONDS.max} seconds, got ${s}`);
  }

  // Memory, alone and against the CPU.
  const gen2 = t.executionEnvironment === 'gen2';
  if (ok(P.memory) && ok(P.executionEnvironment)) {
    const m = t.memoryBytes;
    const min = gen2 ? MEMORY.minGen2 : MEMORY.minGen1;
    if (m > MEMORY.max) bad(P.memory, `must be at most ${formatBytes(MEMORY.max)}, got ${t.memoryText}`);
    else if (m < min) {
      bad(P.memory, gen2
        ? `must be at least ${formatBytes(min)} with the gen2 execution environment, got ${t.memoryText}; raise it or use gen1`
        : `must be at least ${formatBytes(min)}, got ${t.memoryText}`);
    } else if (cpuOk) {
      const row = rowForCpu(t.cpu);
      if (m > row.max) {
        const need = cpuForMemory(m);
        bad(P.memory, `${t.memoryText} needs at least ${need} CPU, but cpu is ${t.cpuText} (at most ${formatBytes(row.max)}); raise cpu to ${need} or lower memory to ${formatBytes(row.max)}`);
      } else if (row.min !== undefined && m < row.min) {
        bad(P.memory, `${t.cpuText} CPU needs at least ${formatBytes(row.min)} of memory, got ${t.memoryText}; raise memory to ${formatBytes(row.min)} or lower cpu`);
      }
    }
  }

  // Below 1 CPU: request-based CPU and gen1 only (concurrency is checked above).
  if (belowOne && ok(P.cpuThrottling) && !t.cpuThrottling) {
    bad(P.cpuThrottling, `CPU must be allocated only during requests when cpu is below 1 (cpu is ${t.cpuText}); remove this setting or set cpu to 1 or more`);
  }
  if (belowOne && gen2 && ok(P.executionEnvironment)) {
    bad(P.executionEnvironment, `cpu below 1 needs the gen1 execution environment (cpu is ${t.cpuText}); use gen1 or set cpu to 1 or more`);
  }

  // Instance bounds.
  const minOk = ok(P.minScale) && checkScale(P.minScale, t.minScale, 0);
  const maxOk = ok(P.maxScale) && checkScale(P.maxScale, t.maxScale, 1);
  function checkScale(path: string, n: number, least: number): boolean {
    if (isWhole(n) && n >= least) return true;
    bad(path, least === 0 ? `must be a whole number of instances (0 or more), got ${n}` : `must be a whole number of instances, at least ${least}, got ${n}`);
    return false;
  }
  if (minOk && maxOk && t.minScale > t.maxScale) {
    const max = w.given(P.maxScale) ? `maxScale (${t.maxScale})` : `the default maxScale (${t.maxScale})`;
    bad(P.minScale, `is ${t.minScale}, more than ${max}; lower minScale or raise maxScale`);
  }

  // The port.
  if (ok(P.containerPort)) {
    const n = t.port.containerPort;
    if (!isWhole(n) || n < PORT.min || n > PORT.max) bad(P.containerPort, `must be from ${PORT.min} to ${PORT.max}, got ${n}`);
  }
  if (ok(P.portName) && !(PORT.names as readonly string[]).includes(t.port.name)) {
    bad(P.portName, `must be "http1" (HTTP/1) or "h2c" (end-to-end HTTP/2), got ${JSON.stringify(t.port.name)}`);
  }

  // Env.
  if (t.env.length > MAX_ENV_VARS) bad(P.env, `has ${t.env.length} variables; Cloud Run allows at most ${MAX_ENV_VARS}`);
  const seen = new Map<string, string>();
  t.env.forEach((e, i) => {
    const path = w.envPaths[i] ?? `${P.env}[${i}].name`;
    if (e.name === '') bad(path, 'must not be empty');
    else if (e.name.includes('=')) bad(path, `must not contain "=", got ${JSON.stringify(e.name)}`);
    else if (e.name === 'PORT') bad(path, `PORT is set by Cloud Run from the container port; remove it and set ${w.portHint} instead`);
    else if (RESERVED_ENV.includes(e.name)) bad(path, `${e.name} is set by Cloud Run; remove it`);
    else if (seen.has(e.name)) bad(path, `${JSON.stringify(e.name)} is set twice (also at ${seen.get(e.name)}); remove one`);
    if (!seen.has(e.name)) seen.set(e.name, path);
  });

  // Probes.
  checkProbe('startupProbe', t.startupProbe, PROBE_LIMITS.startup);
  if (t.livenessProbe) checkProbe('livenessProbe', t.livenessProbe, PROBE_LIMITS.liveness);
  function checkProbe(which: 'startupProbe' | 'livenessProbe', p: Probe, limits: { maxSeconds: number; kinds: readonly string[] }): void {
    const base = P[which];
    if (!ok(base)) return;
    const handler = `${base}.${PROBE_KEYS[p.kind]}`;
    if (!limits.kinds.includes(p.kind)) {
      bad(base, `${which === 'livenessProbe' ? 'liveness' : 'startup'} probes use ${limits.kinds.map((k) => PROBE_KEYS[k as Probe['kind']]).join(' or ')} on Cloud Run; ${PROBE_KEYS[p.kind]} is for startup probes`);
    }
    const range = (field: keyof Probe, least: number) => {
      const n = p[field] as number;
      const path = `${base}.${field}`;
      if (!ok(path)) return false;
      if (isWhole(n) && n >= least && n <= limits.maxSeconds) return true;
      bad(path, `must be a whole number from ${least} to ${limits.maxSeconds}, got ${n}`);
      return false;
    };
    range('initialDelaySeconds', 0);
    const period = range('periodSeconds', 1);
    const timeout = range('timeoutSeconds', 1);
    if (period && timeout && p.timeoutSeconds > p.periodSeconds) {
      bad(`${base}.timeoutSeconds`, `must not be more than periodSeconds (${p.periodSeconds}), got ${p.timeoutSeconds}`);
    }
    if (ok(`${base}.failureThreshold`) && !(isWhole(p.failureThreshold) && p.failureThreshold >= 1)) {
      bad(`${base}.failureThreshold`, `must be a whole number, at least 1, got ${p.failureThreshold}`);
    }
    // A probe on the container port (the default) is covered by the containerPort rule.
    if (p.port !== t.port.containerPort && ok(`${handler}.port`) && !(isWhole(p.port) && p.port >= PORT.min && p.port <= PORT.max)) {
      bad(`${handler}.port`, `must be from ${PORT.min} to ${PORT.max}, got ${p.port}`);
    }
    if (p.kind === 'http') {
      if (p.path !== undefined && ok(`${handler}.path`) && !p.path.startsWith('/')) bad(`${handler}.path`, `must start with "/", got ${JSON.stringify(p.path)}`);
      if (t.port.name === 'h2c') bad(handler, 'HTTP probes need an HTTP/1 port, but the port is h2c; use a grpc or tcpSocket probe, or name the port http1');
    }
  }

  // Traffic.
  const tags = new Map<string, string>();
  let sum = 0;
  let sumOk = ![...failed].some((p) => p.startsWith(`${P.traffic}[`));
  spec.traffic.forEach((target, i) => {
    const base = `${P.traffic}[${i}]`;
    const latest = target.latestRevision === true;
    const named = target.revisionName !== undefined;
    if (ok(`${base}.latestRevision`, `${base}.revisionName`) && latest === named) {
      bad(base, 'set exactly one of revisionName or latestRevision: true');
    } else if (named && ok(`${base}.revisionName`, P.name)) {
      checkRevision(`${base}.revisionName`, target.revisionName!);
    }
    if (ok(`${base}.percent`)) {
      if (!isWhole(target.percent) || target.percent < 0 || target.percent > 100) {
        bad(`${base}.percent`, `must be a whole number from 0 to 100, got ${target.percent}`);
        sumOk = false;
      }
    }
    sum += target.percent;
    if (target.tag !== undefined && ok(`${base}.tag`)) {
      const path = `${base}.tag`;
      if (!DNS_LABEL.test(target.tag)) bad(path, `${DNS_RULE}, got ${JSON.stringify(target.tag)}`);
      else if (target.tag.length > DNS_LABEL_MAX) bad(path, `must be at most ${DNS_LABEL_MAX} characters, got ${target.tag.length}`);
      else if (tags.has(target.tag)) bad(path, `tag ${JSON.stringify(target.tag)} is used twice (also at ${tags.get(target.tag)}); tags must be unique`);
      else tags.set(target.tag, path);
    }
  });
  if (sumOk && sum !== 100) bad(P.traffic, `percents add up to ${sum}; they must add up to exactly 100`);

  return issues;
}
