/**
 * `devloop release`: the pure part. Parses the flags into a plan, and derives the canary
 * Deployment from the stable one the production render made (plugins/production/render.ts).
 *
 * Canary by replicas (the pattern of the Kubernetes docs' "canary deployments"): a second
 * Deployment `<svc>-canary` runs the new image with the pod labels the Service selects, except one
 * (the admission label, admissionLabel()), plus `devloop.dev/release-track: canary` in its own
 * selector. Its pods therefore start outside the Service: no user request reaches a canary pod
 * before the gate has passed it; run.ts then adds the withheld label to each gated pod, and from
 * then on the Service spreads traffic over stable and canary pods in proportion to their counts.
 * Neither Deployment's ReplicaSets are adopted by the other (a ReplicaSet is owned by the
 * Deployment that made it).
 */
import { DevloopError } from '../../core/errors.js';
import type { K8sObject } from '../kubernetes/manifests.js';

export type Strategy = 'rolling' | 'canary' | 'blue-green';
export const STRATEGIES: readonly Strategy[] = ['rolling', 'canary', 'blue-green'];
export const TRACK_LABEL = 'devloop.dev/release-track';
/** Blue-green: the pod label (and, once blue-green is used, Service selector key) that says which side serves. */
export const COLOR_LABEL = 'devloop.dev/release-color';
export type Color = 'blue' | 'green';
export const DEFAULT_STEPS = [25, 50, 100];
export const DEFAULT_MAX_ERROR_RATIO = 0.05;

export function parseStrategy(v: string | undefined): Strategy {
  const s = v ?? 'rolling';
  if (!(STRATEGIES as readonly string[]).includes(s)) {
    throw new DevloopError(`unknown --strategy "${s}"`, { code: 'BAD_FLAGS', exitCode: 2, hint: `--strategy is one of ${STRATEGIES.join(', ')}` });
  }
  return s as Strategy;
}

/** `25,50,100`: rising percentages of the stable replica count the canary runs at, the last one 100 at most. */
export function parseSteps(v: string | undefined): number[] {
  if (v === undefined) return [...DEFAULT_STEPS];
  const steps = v.split(',').map((s) => Number(s.trim()));
  const bad = steps.some((n, i) => !Number.isInteger(n) || n < 1 || n > 100 || (i > 0 && n <= steps[i - 1]));
  if (!steps.length || bad) {
    throw new DevloopError(`--steps "${v}" is not a rising list of percentages from 1 to 100`, { code: 'BAD_FLAGS', exitCode: 2, hint: '--steps 25,50,100 runs the canary at a quarter, half, then as many pods as stable' });
  }
  return steps;
}

export function parseRatio(v: string | undefined): number {
  if (v === undefined) return DEFAULT_MAX_ERROR_RATIO;
  const n = Number(v);
  if (!(n >= 0 && n <= 1)) throw new DevloopError(`--max-error-ratio "${v}" is not a number from 0 to 1`, { code: 'BAD_FLAGS', exitCode: 2, hint: '--max-error-ratio 0.05 fails a gate when more than 5% of its requests fail' });
  return n;
}

/** `svc=REF` pairs; a service built from source must be given by digest so the release is reproducible. */
export function parseImages(pairs: string[], services: Record<string, { build?: unknown }>, file: string): Map<string, string> {
  const images = new Map<string, string>();
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0 || eq === pair.length - 1) throw new DevloopError(`--image "${pair}" is not service=reference`, { code: 'BAD_FLAGS', exitCode: 2, hint: '--image api=REGISTRY/api@sha256:...' });
    const [name, ref] = [pair.slice(0, eq), pair.slice(eq + 1)];
    if (!services[name]) throw new DevloopError(`--image names "${name}", which is no service in ${file}`, { code: 'UNKNOWN_SERVICE', exitCode: 2, hint: `services are: ${Object.keys(services).join(', ') || '(none)'}` });
    if (!/@sha256:[0-9a-f]{64}$/.test(ref)) {
      throw new DevloopError(`--image ${name}=${ref} is not a digest reference`, { code: 'RELEASE_IMAGE_NOT_DIGEST', exitCode: 2, hint: 'a release names images by digest so it means the same thing tomorrow: push it and pass REGISTRY/NAME@sha256:... (docker inspect --format "{{index .RepoDigests 0}}" IMAGE)' });
    }
    images.set(name, ref);
  }
  return images;
}

/** Canary replicas at each step: the percentage of the stable count, rounded up, at least one. */
export function canaryReplicas(steps: number[], stableReplicas: number): number[] {
  return steps.map((p) => Math.max(1, Math.ceil((p / 100) * Math.max(1, stableReplicas))));
}

type Deployment = K8sObject & { spec: { replicas?: number; selector: { matchLabels: Record<string, string> }; template: { metadata?: { labels?: Record<string, string> }; spec: { containers: { image: string }[] } } } };

/**
 * The Service selector label a canary pod is born without and gets once its gate passed. Not
 * `app.kubernetes.io/name` when there is another one, so `kubectl get pods -l
 * app.kubernetes.io/name=web` still lists the canary pods; otherwise the first key by name.
 */
export function admissionLabel(serviceSelector: Record<string, string>): { key: string; value: string } {
  const keys = Object.keys(serviceSelector).filter((k) => k !== TRACK_LABEL).sort();
  const key = keys.find((k) => k !== 'app.kubernetes.io/name') ?? keys[0];
  if (key === undefined) {
    throw new DevloopError('the Service has an empty selector: a canary cannot be kept out of it', { code: 'RELEASE_NO_SELECTOR', exitCode: 2, hint: 'release with --strategy rolling, or give the Service a selector' });
  }
  return { key, value: serviceSelector[key] };
}

/**
 * The canary of a rendered stable Deployment: its pod labels without `withhold` (the admission
 * label: its pods start outside the Service), plus the track label, `replicas` pods.
 */
export function canaryDeployment(stable: K8sObject, replicas: number, withhold: string): K8sObject {
  const d = structuredClone(stable) as Deployment;
  const track = { [TRACK_LABEL]: 'canary' };
  const without = (l: Record<string, string> | undefined) => Object.fromEntries(Object.entries(l ?? {}).filter(([k]) => k !== withhold));
  d.metadata = { ...d.metadata, name: `${stable.metadata.name}-canary`, labels: { ...d.metadata.labels, ...track } };
  d.spec.replicas = replicas;
  d.spec.selector = { matchLabels: { ...without(d.spec.selector.matchLabels), ...track } };
  d.spec.template.metadata = { ...d.spec.template.metadata, labels: { ...without(d.spec.template.metadata?.labels), ...track } };
  return d;
}

export function imageOfDeployment(d: unknown): string | undefined {
  return (d as Deployment | undefined)?.spec?.template?.spec?.containers?.[0]?.image;
}

/** The rendered Deployment with an earlier pod template: what `kubectl rollout undo` would leave. */
export function withTemplate(rendered: K8sObject, template: unknown): K8sObject {
  const d = structuredClone(rendered) as Deployment;
  d.spec.template = structuredClone(template) as Deployment['spec']['template'];
  return d;
}

/**
 * One side of a blue-green service. Blue is the rendered Deployment itself (its selector is
 * immutable, so it stays without the color; its pods carry `devloop.dev/release-color: blue`), green
 * is `<name>-green`, whose selector includes the color. `template` is the pod template to run (the
 * rendered one for a new release, the side's live one to scale it), `replicas` its pod count.
 */
export function sideDeployment(rendered: K8sObject, color: Color, template: unknown, replicas: number): K8sObject {
  const d = structuredClone(rendered) as Deployment;
  const mark = { [COLOR_LABEL]: color };
  const t = structuredClone(template) as Deployment['spec']['template'];
  d.spec.template = { ...t, metadata: { ...t.metadata, labels: { ...t.metadata?.labels, ...mark } } };
  d.spec.replicas = replicas;
  d.metadata = { ...d.metadata, labels: { ...d.metadata.labels, ...mark } };
  if (color === 'green') {
    d.metadata.name = `${rendered.metadata.name}-green`;
    d.spec.selector = { matchLabels: { ...d.spec.selector.matchLabels, ...mark } };
  }
  return d;
}

export const otherColor = (c: Color | undefined): Color => (c === 'green' ? 'blue' : 'green');
export const sideName = (rendered: K8sObject, c: Color) => (c === 'green' ? `${rendered.metadata.name}-green` : rendered.metadata.name);
