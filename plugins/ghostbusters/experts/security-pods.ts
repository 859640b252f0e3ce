/**
 * Pod security in Kubernetes and Cloud Run YAML: privileged containers, hostPath volumes, and
 * containers that run as root. A Cloud Run (Knative) service has no runAsNonRoot to set, so only
 * an explicit runAsUser 0 counts there; a Kubernetes container without runAsNonRoot (on it or
 * its pod) or a non-zero runAsUser runs as whatever user its image names, root for most images.
 */
import type { Node } from 'yaml';
import type { Finding } from '../types.js';
import { get, isKnative, items, pair, podSpecPath, readYaml, scalar, startOf } from './yaml-nodes.js';

export function podSecurity(file: string, text: string): Finding[] {
  const yaml = readYaml(text);
  if (!yaml) return [];
  const out: Finding[] = [];
  const add = (ruleId: string, offset: number, message: string, severity: Finding['severity'] = 'error', confidence: Finding['confidence'] = 'high') =>
    out.push({ ruleId, expert: 'security', severity, confidence, file, ...yaml.at(offset), message });
  for (const doc of yaml.docs) {
    const root = doc.contents as Node | null;
    const kind = scalar(get(root, 'kind'));
    const apiVersion = scalar(get(root, 'apiVersion'));
    const specPath = podSpecPath(kind, apiVersion);
    if (!specPath) continue;
    const spec = get(root, ...specPath);
    const name = String(scalar(get(root, 'metadata', 'name')) ?? '?');
    const podCtx = get(spec, 'securityContext');
    const podUser = pair(podCtx, 'runAsUser');
    if (podUser && scalar(podUser.value) === 0) add('security/run-as-root', startOf(podUser.key as Node), `${kind} ${name}: the pod runs as root (runAsUser: 0)`);
    for (const v of items(get(spec, 'volumes'))) {
      const host = pair(v, 'hostPath');
      if (host) add('security/host-path', startOf(host.key as Node), `${kind} ${name}: volume ${String(scalar(get(v, 'name')))} mounts the node's ${String(scalar(get(host.value, 'path')) ?? 'filesystem')} (hostPath); use an emptyDir, a ConfigMap or a PersistentVolumeClaim`);
    }
    const containers = ['initContainers', 'containers', 'ephemeralContainers'].flatMap((k) => items(get(spec, k)));
    for (const c of containers) {
      const cname = String(scalar(get(c, 'name')) ?? '?');
      const ctx = get(c, 'securityContext');
      const priv = pair(ctx, 'privileged');
      if (priv && scalar(priv.value) === true) add('security/privileged-container', startOf(priv.key as Node), `${kind} ${name}: container ${cname} is privileged (full access to the node)`);
      const user = pair(ctx, 'runAsUser');
      if (user && scalar(user.value) === 0) { add('security/run-as-root', startOf(user.key as Node), `${kind} ${name}: container ${cname} runs as root (runAsUser: 0)`); continue; }
      if (isKnative(apiVersion) || (podUser && scalar(podUser.value) === 0)) continue;
      const nonRoot = scalar(get(ctx, 'runAsNonRoot')) === true || scalar(get(podCtx, 'runAsNonRoot')) === true;
      const someUser = Number(scalar(user?.value) ?? scalar(podUser?.value) ?? 0) > 0;
      if (!nonRoot && !someUser) {
        add('security/run-as-root', startOf(c), `${kind} ${name}: container ${cname} may run as root: set securityContext.runAsNonRoot: true (and a non-zero runAsUser)`, 'warning', 'medium');
      }
    }
  }
  return out;
}
