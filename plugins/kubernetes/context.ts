/**
 * Which cluster, and whether devloop may touch it. A context is local when its name says so
 * (kind-, k3d-, minikube, docker-desktop, devloop-local) or its API server is on a loopback
 * address (unless the name is a cloud provider's: a tunnel); any other needs the Devfile's `kubernetes.allowContexts`, checked before a single
 * request is sent, so a mistyped context never reaches a production cluster.
 */
import { existsSync } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';
import type { DevfileConfig } from '../../core/devfile/types.js';
import { DevloopError } from '../../core/errors.js';

const LOCAL_NAMES = [/^kind-/, /^k3d-/, /^minikube/, /^docker-desktop$/, /^docker-for-desktop$/, /^devloop-local$/];

export function isLoopbackServer(server: string): boolean {
  let host: string;
  try { host = new URL(server).hostname; } catch { return false; }
  host = host.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Names the cloud tools give their contexts. Such a context is never local, even on a loopback
 * server: that is a tunnel (IAP, SSH, a proxy) to the real cluster, not a cluster on this machine.
 */
const CLOUD_NAMES = [/^gke_/, /^arn:aws:eks:/, /^arn:aws-[a-z-]+:eks:/];

export function isLocalContext(name: string, server: string | undefined): boolean {
  if (CLOUD_NAMES.some((re) => re.test(name))) return false;
  return LOCAL_NAMES.some((re) => re.test(name)) || (server !== undefined && isLoopbackServer(server));
}

export interface ClusterTarget {
  kc: KubeConfig;
  context: string;
  server: string;
  /** The context's namespace, else `default`. */
  namespace: string;
  local: boolean;
}

/**
 * The context asked for, and where the ask came from (for messages): `--context` (the CLI puts it in
 * DEVLOOP_KUBE_CONTEXT, so the engine's plugins see it too), then the Devfile, then none (the
 * kubeconfig's current context).
 */
export function wantedContext(devfile: Pick<DevfileConfig, 'kubernetes' | 'cluster'>, env: NodeJS.ProcessEnv = process.env): { name?: string; source: string } {
  const flag = env.DEVLOOP_KUBE_CONTEXT?.trim();
  if (flag) return { name: flag, source: `--context "${flag}"` };
  if (devfile.kubernetes?.context) return { name: devfile.kubernetes.context, source: `kubernetes.context "${devfile.kubernetes.context}"` };
  if (devfile.cluster?.kubeContext) return { name: devfile.cluster.kubeContext, source: `cluster.kubeContext "${devfile.cluster.kubeContext}"` };
  return { source: 'the kubeconfig\'s current-context' };
}

/** Where the kubeconfig is read from, for messages. */
export const kubeconfigPath = () => process.env.KUBECONFIG ?? '~/.kube/config';

/** What a target is before the allow-list is checked: `devloop render` and `doctor` need it without refusing. */
export interface PickedContext extends ClusterTarget {
  allowed: boolean;
}

/** Loads the kubeconfig (KUBECONFIG, else ~/.kube/config) and picks the context, without checking it may be used. */
export async function pickContext(devfile: DevfileConfig, service?: string): Promise<PickedContext> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  try {
    kc.loadFromDefault();
  } catch (err) {
    throw new DevloopError(`cannot read the kubeconfig: ${err instanceof Error ? err.message : String(err)}`, {
      code: 'K8S_KUBECONFIG', service, hint: 'set KUBECONFIG to a valid kubeconfig file',
    });
  }
  const wanted = wantedContext(devfile);
  const context = wanted.name ?? kc.getCurrentContext();
  const ctxObj = context ? kc.getContextObject(context) : null;
  if (!context || !ctxObj) {
    const where = kubeconfigPath();
    throw new DevloopError(`${wanted.source} names no context in ${existsSync(where) ? where : `${where} (missing)`}`, {
      code: 'K8S_NO_CONTEXT', service,
      hint: `known contexts: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'}; ${wanted.source.startsWith('--context') ? 'pass one of them to --context' : 'set kubernetes.context in Devfile.ts, pass --context NAME, or run "kubectl config use-context NAME"'}`,
    });
  }
  kc.setCurrentContext(context);
  const server = kc.getCluster(ctxObj.cluster)?.server ?? '';
  const local = isLocalContext(context, server);
  const allowed = local || (devfile.kubernetes?.allowContexts ?? []).includes(context);
  return { kc, context, server, namespace: ctxObj.namespace || 'default', local, allowed };
}

/** The refusal of a context that is neither local nor in `kubernetes.allowContexts`. */
export function notAllowedError(target: Pick<ClusterTarget, 'context' | 'server'>, service: string | undefined, doing = `deploy ${service}`): DevloopError {
  return new DevloopError(`refusing to ${doing} to kube context "${target.context}" (${target.server || 'no server'}): it is not a local cluster`, {
    code: 'K8S_CONTEXT_NOT_ALLOWED', service,
    hint: `if that cluster is really meant for devloop, add it to Devfile.ts: kubernetes: { allowContexts: ['${target.context}'] }; otherwise switch to a local context (kind-*, k3d-*, minikube, docker-desktop) with --context or kubernetes.context`,
  });
}

/** Loads the kubeconfig, picks the context and checks it may be used. */
export async function resolveTarget(devfile: DevfileConfig, service: string): Promise<ClusterTarget> {
  const { allowed, ...target } = await pickContext(devfile, service);
  if (!allowed) throw notAllowedError(target, service);
  return target;
}
