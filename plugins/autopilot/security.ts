/**
 * Warden's security constraints: privileged containers, host namespaces, hostPath, host ports,
 * capabilities and restricted node-selection keys. Pure checks over the pod spec.
 */
import path from 'node:path';
import { ALLOWED_CAPABILITIES, ALLOWED_HOSTPATH_PREFIXES, RESTRICTED_NODE_SELECTOR_KEYS } from './data.js';
import { CONSTRAINTS, MSG } from './messages.js';
import type { Denial } from './placement.js';
import type { Container, NodeSelectorTerm, PodSpec } from './types.js';

const ALLOWED_CAPS = new Set(ALLOWED_CAPABILITIES);
const RESTRICTED_KEYS = new Set(RESTRICTED_NODE_SELECTOR_KEYS);

/** Init containers first, as GKE lists them ([seen] "[secret-init, redis]"). */
export function allContainers(spec: PodSpec): Container[] {
  return [...(spec.initContainers ?? []), ...spec.containers];
}

export function securityDenials(spec: PodSpec): Denial[] {
  const out: Denial[] = [];
  const containers = allContainers(spec);
  for (const c of containers) {
    if (c.securityContext?.privileged === true) out.push({ constraint: CONSTRAINTS.privilege, message: MSG.privileged(c.name) });
  }
  for (const field of ['hostNetwork', 'hostPID', 'hostIPC'] as const) {
    if (spec[field] === true) out.push({ constraint: CONSTRAINTS.hostNamespaces, message: MSG.hostNamespace(field) });
  }
  const hostPaths = new Map<string, string>();
  for (const v of spec.volumes ?? []) if (v?.hostPath && typeof v.hostPath.path === 'string') hostPaths.set(v.name, v.hostPath.path);
  for (const c of containers) {
    for (const m of c.volumeMounts ?? []) {
      const p = hostPaths.get(m.name);
      if (p === undefined) continue;
      // A writable mount is reported as such whatever its path ([seen] chaos-daemon: /sys and
      // /lib/modules written -> only "accessed in write mode"); a read-only one outside the prefixes by path.
      if (m.readOnly !== true) out.push({ constraint: CONSTRAINTS.hostPath, message: MSG.hostPathWrite(m.name, c.name) });
      else if (!hostPathAllowed(p)) out.push({ constraint: CONSTRAINTS.hostPath, message: MSG.hostPathPrefix(m.name, c.name, p) });
    }
  }
  for (const c of containers) {
    const ports = (c.ports ?? []).map((p) => p?.hostPort).filter((p): p is number => typeof p === 'number' && p !== 0);
    if (ports.length) out.push({ constraint: CONSTRAINTS.hostPort, message: MSG.hostPorts(c.name, ports) });
  }
  for (const c of containers) {
    const bad = (c.securityContext?.capabilities?.add ?? []).filter((cap) => !ALLOWED_CAPS.has(String(cap).replace(/^CAP_/, '')));
    if (bad.length) out.push({ constraint: CONSTRAINTS.capabilities, message: MSG.capabilities(bad, c.name) });
  }
  for (const key of Object.keys(spec.nodeSelector ?? {})) {
    if (RESTRICTED_KEYS.has(key)) out.push({ constraint: CONSTRAINTS.nodeSelector, message: MSG.restrictedKey(key, 'node selector') });
  }
  const na = spec.affinity?.nodeAffinity;
  const terms: NodeSelectorTerm[] = [
    ...(na?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []),
    ...(na?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((p) => p.preference),
  ];
  const seen = new Set<string>();
  for (const term of terms) {
    for (const e of term?.matchExpressions ?? []) {
      if (RESTRICTED_KEYS.has(e.key) && !seen.has(e.key)) {
        seen.add(e.key);
        out.push({ constraint: CONSTRAINTS.nodeSelector, message: MSG.restrictedKey(e.key, 'node affinity') });
      }
    }
  }
  return out;
}

/** `/var/log` itself and anything under it after normalising `..`. */
export function hostPathAllowed(p: string): boolean {
  const norm = path.posix.normalize(p.endsWith('/') ? p : `${p}/`);
  return ALLOWED_HOSTPATH_PREFIXES.some((prefix) => norm.startsWith(prefix));
}
