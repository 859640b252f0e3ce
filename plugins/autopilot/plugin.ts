/**
 * `devloop:autopilot`: every service devloop deploys goes through Autopilot admission first, as
 * the pod it would be on GKE. A denial stops the deploy with Warden's text and a fix in Devfile
 * terms; otherwise the CPU and memory Autopilot settles on become the local container's limits
 * (so a service that needs more than Autopilot gives fails here too), and the warnings and the
 * cost estimate go to the log, the TUI and `devloop status` (service/extra).
 */
import type { SimulationConfig } from '../../core/devfile/types.js';
import type { DeployContext } from '../../core/engine/contexts.js';
import { DevloopError } from '../../core/errors.js';
import type { DevloopPlugin } from '../../core/plugins/types.js';
import { admit, type AdmissionResult } from './admission.js';
import { CLASSES, DEFAULT_CLASS, GPUS, PERFORMANCE_FAMILIES, SPOT_GRACE_SECONDS, type KnownClass } from './data.js';
import { estimate, type Estimate } from './estimate.js';
import { CONSTRAINTS } from './messages.js';
import { formatQuantity, parseQuantity } from './quantity.js';
import { EXTENSION_KEY, servicePod } from './service-pod.js';
import type { ClusterSettings } from './settings.js';
import { API_SERVER_VALIDATION } from './warden.js';

export const PLUGIN_NAME = 'devloop:autopilot';

export interface AutopilotPluginOptions extends ClusterSettings {
  /**
   * Admit every service. Default: `simulation.autopilot.enabled` from the Devfile. Services with
   * an `autopilot` block or `runtime: 'autopilot'` are admitted either way.
   */
  enabled?: boolean;
}

/** What the plugin leaves in `ctx.data.autopilot` for later taps and deployers. */
export interface AutopilotDeployData {
  cpu: string;
  memory: string;
  warnings: string[];
  estimate?: Estimate;
  computeClass: string;
}

export function autopilotPlugin(options: AutopilotPluginOptions = {}): DevloopPlugin {
  return {
    name: PLUGIN_NAME,
    apply(engine) {
      // GKE's admission inside the cluster for Kubernetes services (webhook/), loaded with the first one.
      let webhooks: Promise<import('./webhook/index.js').AutopilotWebhooks> | undefined;
      const inCluster = () => (webhooks ??= import('./webhook/index.js').then((m) => new m.AutopilotWebhooks(engine.logger())));
      engine.hooks.beforeDeploy.tapPromise(PLUGIN_NAME, async (ctx) => {
        admitService(ctx, options);
        const sim = ctx.devfile.simulation?.autopilot ?? {};
        if (ctx.runtime === 'kubernetes' && (options.enabled ?? sim.enabled)) {
          // Without node auto-provisioning there is no plan to run beside nor nodes to simulate: pods go as written.
          const mode = sim.nodeAutoProvisioning === false ? undefined : sim.mode ?? 'run';
          await (await inCluster()).beforeDeploy(ctx, { gkeVersion: options.gkeVersion ?? sim.gkeVersion, bursting: options.bursting ?? sim.bursting, region: options.region ?? sim.region }, mode);
        }
      });
      // A webhook configuration a killed devloop left (failurePolicy Fail) blocks creates until removed.
      engine.hooks.cleanup.tapPromise(PLUGIN_NAME, async (ctx) => {
        if (Object.values(ctx.devfile.services).some((s) => (s.runtime ?? ctx.devfile.environments?.[ctx.mode]?.runtime) === 'kubernetes')) await (await inCluster()).cleanup(ctx);
      });
      engine.hooks.shutdown.tapPromise(PLUGIN_NAME, async () => { if (webhooks) await (await webhooks).shutdown(); });
    },
  };
}

export default autopilotPlugin;

/** The beforeDeploy tap, exported for tests that drive it without an engine. */
export function admitService(ctx: DeployContext, options: AutopilotPluginOptions = {}): AutopilotDeployData | undefined {
  const sim: NonNullable<SimulationConfig['autopilot']> = ctx.devfile.simulation?.autopilot ?? {};
  const on = options.enabled ?? sim.enabled ?? false;
  if (!on && !ctx.config.autopilot && ctx.runtime !== 'autopilot') return undefined;
  const settings: ClusterSettings = {
    gkeVersion: options.gkeVersion ?? sim.gkeVersion,
    bursting: options.bursting ?? sim.bursting,
    region: options.region ?? sim.region,
  };
  const pod = servicePod(ctx.service, ctx.config, { image: ctx.image, env: ctx.env });
  const result = admit(pod, settings);
  for (const w of result.warnings) ctx.logger.warn(w);
  if (!result.allowed) {
    throw new DevloopError(result.message!, { code: 'AUTOPILOT_DENIED', hint: hintFor(result, ctx.service), service: ctx.service });
  }
  const requests = (result.mutated.spec.containers[0].resources?.requests ?? {}) as Record<string, string>;
  const cpu = requests.cpu;
  const memory = requests.memory;
  const est = estimate(result, 1, settings.region ?? 'us-central1');
  const computeClass = result.placement!.computeClass;
  // The admitted pod itself stays out: it carries the service's env, secrets included.
  const data: AutopilotDeployData = { cpu, memory, warnings: result.warnings, estimate: est, computeClass };
  ctx.data.autopilot = data;
  ctx.config = { ...ctx.config, resources: { ...ctx.config.resources, cpu, memory } };
  ctx.dispatch({
    type: 'service/extra', service: ctx.service, plugin: 'autopilot',
    data: { vcpu: est?.vcpu ?? 0, memoryGiB: est?.memoryGiB ?? 0, usdPerHour: est?.usdPerHour ?? 0, warnings: result.warnings, computeClass, spot: result.placement!.spot, cpu, memory },
  });
  ctx.logger.info(`autopilot: admitted as ${computeClass}${result.placement!.spot ? ` on Spot (preemption gives it at most ${SPOT_GRACE_SECONDS}s to stop)` : ''} with cpu ${cpu}, memory ${memory}; about $${(est?.usdPerHour ?? 0).toFixed(4)}/h`);
  return data;
}

/** What to change in Devfile.ts, per denial. */
export function hintFor(result: AdmissionResult, service: string): string {
  const at = `services.${service}`;
  const ext = `${at}.extensions['${EXTENSION_KEY}']`;
  const hints = new Set<string>();
  const cls = result.placement?.computeClass ?? DEFAULT_CLASS;
  for (const d of result.denials) {
    switch (d.constraint) {
      case CONSTRAINTS.podLimits: {
        const m = /Total (cpu|memory|ephemeral-storage) requested .* maximum of '([^']+)'/.exec(d.message);
        if (m && m[1] === 'ephemeral-storage') hints.add(`lower ${ext}.ephemeralStorage to at most ${m[2]}`);
        else if (m) {
          const field = m[1] === 'cpu' ? 'cpu' : 'memory';
          const gpu = result.placement?.gpu;
          const bigger = gpu || result.placement?.billing === 'node' ? undefined : biggerClass(cls, field, m[2]);
          const alt = gpu ? `, or raise ${at}.autopilot.gpu.count (more GPUs allow more ${field})` : bigger ? `, or set ${at}.autopilot.computeClass to '${bigger.name}' (up to ${bigger.max})` : '';
          hints.add(`lower ${at}.resources.${field} to at most ${m[2]}${alt}`);
        } else if (/pod anti affinity/.test(d.message)) hints.add(`raise ${at}.resources.cpu to at least 500m: pods with pod anti-affinity need it`);
        else hints.add(`set ${at}.resources so requests equal limits`);
        break;
      }
      case CONSTRAINTS.privilege: hints.add(`remove securityContext.privileged from ${ext}`); break;
      case CONSTRAINTS.hostNamespaces: hints.add(`remove hostNetwork, hostPID and hostIPC from ${ext}`); break;
      case CONSTRAINTS.hostPath: hints.add(`mount hostPath volumes read-only (readOnly: true) and only under /var/log/ in ${ext}, or use an emptyDir`); break;
      case CONSTRAINTS.hostPort: hints.add(`drop hostPort from the container ports; use a Service instead`); break;
      case CONSTRAINTS.capabilities: hints.add(`remove the capabilities Autopilot does not allow from ${ext}.securityContext.capabilities.add`); break;
      case CONSTRAINTS.nodeSelector:
        if (/arm64/.test(d.message)) hints.add(`set ${at}.autopilot.computeClass to 'Scale-Out', or remove it (Arm needs Scale-Out, Performance or no compute class)`);
        else if (/machine.family/.test(d.message)) hints.add(`add 'cloud.google.com/machine-family' (one of ${PERFORMANCE_FAMILIES.join(', ')}) to ${ext}.nodeSelector`);
        else hints.add(`remove the restricted key from ${ext}.nodeSelector / affinity`);
        break;
      case CONSTRAINTS.gpu:
        hints.add(/toleration/.test(d.message) ? `remove the nvidia.com/gpu toleration from ${ext}.tolerations, or request a GPU with ${at}.autopilot.gpu`
          : `set ${at}.autopilot.gpu to { type, count } with type one of ${Object.keys(GPUS).join(', ')} and a count that type supports`);
        break;
      case CONSTRAINTS.managedNamespaces: hints.add(`set ${ext}.namespace to a namespace of your own`); break;
      case API_SERVER_VALIDATION: hints.add(`write ${at}.resources as Kubernetes quantities, e.g. cpu: '500m', memory: '512Mi'`); break;
      default: hints.add(`change ${at} so Autopilot admits it`);
    }
  }
  return [...hints].join('; ');
}

function biggerClass(current: string, field: 'cpu' | 'memory', max: string): { name: string; max: string } | undefined {
  const limit = parseQuantity(max).nano;
  for (const name of ['Balanced', 'Scale-Out'] as KnownClass[]) {
    if (name === current) continue;
    const m = CLASSES[name].max!.x86;
    const value = field === 'cpu' ? BigInt(m.cpu) * 1_000_000n : BigInt(m.memory) * 1_000_000_000n;
    if (value > limit) return { name, max: `${formatQuantity({ nano: BigInt(m.cpu) * 1_000_000n, format: 'DecimalSI' })} vCPU, ${formatQuantity({ nano: BigInt(m.memory) * 1_000_000_000n, format: 'BinarySI' })}` };
  }
  return undefined;
}
