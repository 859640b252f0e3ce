/**
 * The cluster settings admission depends on, and GKE version arithmetic. Everything version-
 * dependent is derived here once, so `admit` stays a pure function of (object, settings).
 */
import {
  ACCELERATOR_CLASS_MIN_VERSION, ACCELERATOR_IMPLIED_VERSION, ARM_C4A_VERSION, AUTOPILOT_ARM_CLASS_VERSION, BURSTING_MIN_VERSION, CRONJOB_MUTATION_VERSION,
  DEFAULT_GKE_VERSION, DEFAULT_REGION, LARGE_EPHEMERAL_VERSION, NEW_WARNING_FORMAT_VERSION,
} from './data.js';

export interface ClusterSettings {
  /** GKE version of the control plane, e.g. `1.30.2-gke.1394000` or `1.31`. Default DEFAULT_GKE_VERSION. */
  gkeVersion?: string;
  /**
   * Pod bursting. Default: on from BURSTING_MIN_VERSION. Set it to false for a newer cluster
   * whose nodes lack cgroup v2; an explicit value always wins.
   */
  bursting?: boolean;
  /** Region, for prices and zones. Default us-central1. */
  region?: string;
  /** The request verb checked against managed namespaces. Default `create`. */
  verb?: string;
}

export interface ResolvedSettings {
  gkeVersion: string;
  bursting: boolean;
  region: string;
  verb: string;
  /** The mutator prints the newer warning shape (see NEW_WARNING_FORMAT_VERSION). */
  newWarningFormat: boolean;
  /** CronJob templates are mutated rather than only validated. */
  mutatesCronJobs: boolean;
  /** A GPU request alone selects the Accelerator class. */
  acceleratorImplied: boolean;
  /** The Accelerator class exists (it must be named explicitly below acceleratorImplied). */
  acceleratorClass: boolean;
  /** Performance and Accelerator pods may exceed 10Gi of ephemeral storage (LARGE_EPHEMERAL_VERSION). */
  largeEphemeral: boolean;
  /** General-purpose Arm pods get C4A nodes, T2A before (ARM_C4A_VERSION). */
  armC4a: boolean;
  /** The built-in `autopilot-arm` ComputeClass exists (AUTOPILOT_ARM_CLASS_VERSION). */
  autopilotArmClass: boolean;
}

export class VersionError extends Error {
  constructor(version: string) {
    super(`GKE version "${version}" is not of the form 1.30 or 1.30.2-gke.1394000`);
    this.name = 'VersionError';
  }
}

const VERSION = /^v?(\d+)\.(\d+)(?:\.(\d+))?(?:-gke\.(\d+))?$/;

/** [major, minor, patch, gke build]; missing parts count as 0. */
export function parseGkeVersion(version: string): [number, number, number, number] {
  const m = VERSION.exec(version.trim());
  if (!m) throw new VersionError(version);
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0), Number(m[4] ?? 0)];
}

export function compareGkeVersions(a: string, b: string): number {
  const x = parseGkeVersion(a);
  const y = parseGkeVersion(b);
  for (let i = 0; i < 4; i++) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
  return 0;
}

const atLeast = (version: string, min: string) => compareGkeVersions(version, min) >= 0;

const cache = new Map<string, ResolvedSettings>();

/** Fills defaults and derives the version gates. Throws VersionError for a malformed version. */
export function resolveSettings(settings: ClusterSettings = {}): ResolvedSettings {
  const key = `${settings.gkeVersion}|${settings.bursting}|${settings.region}|${settings.verb}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const gkeVersion = settings.gkeVersion ?? DEFAULT_GKE_VERSION;
  const resolved: ResolvedSettings = Object.freeze({
    gkeVersion,
    bursting: settings.bursting ?? atLeast(gkeVersion, BURSTING_MIN_VERSION),
    region: settings.region ?? DEFAULT_REGION,
    verb: settings.verb ?? 'create',
    newWarningFormat: atLeast(gkeVersion, NEW_WARNING_FORMAT_VERSION),
    mutatesCronJobs: atLeast(gkeVersion, CRONJOB_MUTATION_VERSION),
    acceleratorImplied: atLeast(gkeVersion, ACCELERATOR_IMPLIED_VERSION),
    acceleratorClass: atLeast(gkeVersion, ACCELERATOR_CLASS_MIN_VERSION),
    largeEphemeral: atLeast(gkeVersion, LARGE_EPHEMERAL_VERSION),
    armC4a: atLeast(gkeVersion, ARM_C4A_VERSION),
    autopilotArmClass: atLeast(gkeVersion, AUTOPILOT_ARM_CLASS_VERSION),
  });
  if (cache.size > 64) cache.clear();
  cache.set(key, resolved);
  return resolved;
}
