/**
 * A service on Cloud Run in production: the Knative `Service` that `gcloud run services replace`
 * takes, with every value written out (no reliance on Cloud Run's defaults, so a diff shows what
 * changes). Each setting is read from the most specific place that has it:
 *
 * | field | from, first found |
 * | --- | --- |
 * | minScale | scaling.min, replicas, cloudRun.minScale, 0 |
 * | maxScale | scaling.max, cloudRun.maxScale, 100 |
 * | containerConcurrency | scaling.concurrency, cloudRun.containerConcurrency, 80 (1 below one CPU, as Cloud Run requires) |
 * | timeoutSeconds | scaling.timeoutSeconds, cloudRun.timeoutSeconds, 300 |
 * | cpu / memory | environments' resources, cloudRun.cpu/memory, services.<name>.resources, 1 / 512Mi |
 *
 * Probes from `health`: http -> startupProbe and livenessProbe (httpGet); tcp -> startupProbe only
 * (Cloud Run takes no TCP liveness probe); exec -> none, with a note (Cloud Run has no exec
 * probes), so Cloud Run's default TCP startup probe applies. `PORT` and the other variables Cloud
 * Run reserves are left out, with a note: Cloud Run sets them. A `cloudRun.service` file is not
 * read: the render is built from the Devfile's fields (noted).
 */
import type { ServiceConfig } from '../../core/devfile/types.js';
import { parseQuantity } from '../autopilot/quantity.js';
import { ANNOTATIONS, API_VERSION, CONCURRENCY, DEFAULT_CPU, DEFAULT_MEMORY, KIND, LOCATION_LABEL, PORT, RESERVED_ENV, SCALE, TIMEOUT_SECONDS } from '../cloud-run/data.js';
import { k8sMemory, type ProductionSettings } from './render-settings.js';

export function cloudRunService(name: string, svc: ServiceConfig, ps: ProductionSettings, image: string, notes: string[]): object {
  const cr = svc.cloudRun ?? {};
  if (cr.service) notes.push(`${name}: cloudRun.service (${cr.service}) is not read; the Cloud Run YAML is built from the Devfile's fields`);
  const cpu = String(ps.resources.cpu ?? cr.cpu ?? svc.resources?.cpu ?? DEFAULT_CPU);
  const memory = k8sMemory(String(ps.resources.memory ?? cr.memory ?? svc.resources?.memory ?? DEFAULT_MEMORY));
  let belowOne = false;
  try { belowOne = Number(parseQuantity(cpu).nano) < 1e9; } catch { /* validation names the bad amount */ }
  const port = svc.port ?? PORT.default;

  const env: object[] = [];
  for (const key of Object.keys({ ...ps.env, ...ps.secrets }).sort()) {
    if (RESERVED_ENV.includes(key)) {
      notes.push(`${name}: env ${key} is left out of the Cloud Run YAML: Cloud Run sets it`);
      continue;
    }
    const ref = ps.secrets[key];
    env.push(ref ? { name: key, valueFrom: { secretKeyRef: { name: ref.secret, key: ref.version ?? 'latest' } } } : { name: key, value: ps.env[key] });
  }

  const annotations: Record<string, string> = {
    [ANNOTATIONS.minScale]: String(ps.scaling.min ?? ps.replicas ?? cr.minScale ?? SCALE.minDefault),
    [ANNOTATIONS.maxScale]: String(ps.scaling.max ?? cr.maxScale ?? SCALE.maxDefault),
  };
  if (cr.cpuThrottling !== undefined) annotations[ANNOTATIONS.cpuThrottling] = String(cr.cpuThrottling);

  const probes = probesOf(name, svc, port, notes);
  const labels = ps.region ? { [LOCATION_LABEL]: ps.region } : undefined;
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name, ...(ps.project ? { namespace: ps.project } : {}), ...(labels ? { labels } : {}) },
    spec: {
      template: {
        metadata: { annotations },
        spec: {
          containerConcurrency: ps.scaling.concurrency ?? cr.containerConcurrency ?? (belowOne ? CONCURRENCY.defaultBelowOneCpu : CONCURRENCY.default),
          timeoutSeconds: ps.scaling.timeoutSeconds ?? cr.timeoutSeconds ?? TIMEOUT_SECONDS.default,
          containers: [{
            image,
            ports: [{ name: PORT.defaultName, containerPort: port }],
            ...(env.length ? { env } : {}),
            resources: { limits: { cpu, memory } },
            ...probes,
          }],
        },
      },
      traffic: [{ latestRevision: true, percent: 100 }],
    },
  };
}

function probesOf(name: string, svc: ServiceConfig, port: number, notes: string[]): Record<string, object> {
  const h = svc.health;
  if (!h) return {};
  const timing = {
    ...(h.intervalMs !== undefined ? { periodSeconds: Math.max(1, Math.ceil(h.intervalMs / 1000)) } : {}),
    ...(h.timeoutMs !== undefined ? { timeoutSeconds: Math.max(1, Math.ceil(h.timeoutMs / 1000)) } : {}),
  };
  if ('http' in h) {
    const probe = { httpGet: { path: h.http, port: h.port ?? port }, ...timing };
    return { startupProbe: probe, livenessProbe: structuredClone(probe) };
  }
  if ('tcp' in h) return { startupProbe: { tcpSocket: { port: h.tcp === true ? port : h.tcp }, ...timing } };
  notes.push(`${name}: health.exec has no Cloud Run equivalent; Cloud Run's default TCP startup probe applies`);
  return {};
}
