/**
 * Which registry images are pushed to: `DEVLOOP_REGISTRY` when set; else, for an image a cluster
 * will pull, the registry the cluster advertises in its KEP-1755 ConfigMap; else the conventional
 * local registry on 127.0.0.1:5001 when its `/v2/` answers. Only a lookup given a kube context
 * loads the Kubernetes client: a project without a cluster never does.
 */
import http from 'node:http';

export const DEFAULT_LOCAL_REGISTRY = '127.0.0.1:5001';
const PROBE_TIMEOUT_MS = 1_000;

export interface RegistryLocation {
  /** `host:port` (optionally with a path prefix) as it goes in front of an image name. */
  host: string;
  /** Where the answer came from, for messages. */
  source: 'DEVLOOP_REGISTRY' | 'local probe' | 'KEP-1755 ConfigMap' | 'option';
  /** The kube context whose ConfigMap named it. */
  context?: string;
}

export interface DetectOptions {
  env?: NodeJS.ProcessEnv;
  /** Registries to probe, in order, when the environment names none. */
  candidates?: string[];
  /** The kube context of the cluster that will pull the image: its KEP-1755 ConfigMap is read first. */
  kubeContext?: string;
}

export async function detectRegistry(options: DetectOptions = {}): Promise<RegistryLocation | undefined> {
  const env = options.env ?? process.env;
  const fromEnv = env.DEVLOOP_REGISTRY?.trim();
  if (fromEnv) return { host: stripScheme(fromEnv), source: 'DEVLOOP_REGISTRY' };
  if (options.kubeContext !== undefined) {
    const fromCluster = await registryFromClusterConfigMap({ context: options.kubeContext });
    if (fromCluster) return { host: fromCluster, source: 'KEP-1755 ConfigMap', context: options.kubeContext };
  }
  for (const candidate of options.candidates ?? [DEFAULT_LOCAL_REGISTRY]) {
    if (await registryAnswers(candidate)) return { host: candidate, source: 'local probe' };
  }
  return undefined;
}

/** KEP-1755's `localRegistryHosting.v1`: where the cluster's registry is, seen from each side. */
export interface LocalRegistryHosting {
  /** From the machine that pushes: what devloop uses, as it pushes from the host. */
  host?: string;
  /** From the container runtime on the nodes, when it differs (kind's `kind-registry:5000`). */
  hostFromContainerRuntime?: string;
  /** From pods, through the cluster network. */
  hostFromClusterNetwork?: string;
  help?: string;
}

export const KEP_1755_NAMESPACE = 'kube-public';
export const KEP_1755_NAME = 'local-registry-hosting';
export const KEP_1755_KEY = 'localRegistryHosting.v1';
const CLUSTER_TIMEOUT_MS = 3_000;

/**
 * Reads `kube-public/local-registry-hosting` from the context's cluster (the kubeconfig's current
 * one when none is named). Undefined when the cluster has no such ConfigMap or it holds no
 * `localRegistryHosting.v1`; throws when the cluster cannot be asked (doctor says why).
 */
export async function readLocalRegistryHosting(options: { context?: string; timeoutMs?: number; namespace?: string; name?: string } = {}): Promise<LocalRegistryHosting | undefined> {
  const [{ KubeConfig }, { timedApis }, { parse }] = await Promise.all([
    import('@kubernetes/client-node'), import('../kubernetes/client.js'), import('yaml'),
  ]);
  const kc = new KubeConfig();
  kc.loadFromDefault();
  if (options.context) kc.setCurrentContext(options.context);
  const { core } = await timedApis(kc, options.timeoutMs ?? CLUSTER_TIMEOUT_MS);
  let data: Record<string, string> | undefined;
  try {
    // Another place than KEP-1755's only for tests, which must not touch the cluster's own ConfigMap.
    data = (await core.readNamespacedConfigMap({ namespace: options.namespace ?? KEP_1755_NAMESPACE, name: options.name ?? KEP_1755_NAME })).data;
  } catch (err) {
    if ((err as { code?: unknown }).code === 404) return undefined;
    throw err;
  }
  const text = data?.[KEP_1755_KEY];
  if (!text) return undefined;
  const value = parse(text) as unknown;
  if (!value || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  const str = (k: string) => (typeof v[k] === 'string' && v[k] ? stripScheme(v[k] as string) : undefined);
  return { host: str('host'), hostFromContainerRuntime: str('hostFromContainerRuntime'), hostFromClusterNetwork: str('hostFromClusterNetwork'), help: typeof v.help === 'string' ? v.help : undefined };
}

/**
 * KEP-1755: the `host` the cluster advertises, or undefined, silently, when there is no cluster,
 * no ConfigMap, or no answer within a few seconds: detection then carries on with the local probe.
 */
export async function registryFromClusterConfigMap(options: Parameters<typeof readLocalRegistryHosting>[0] = {}): Promise<string | undefined> {
  try {
    return (await readLocalRegistryHosting(options))?.host;
  } catch {
    return undefined;
  }
}

/** True when `GET http://<host>/v2/` answers 200 or 401 (a registry that wants a login is still one). */
export function registryAnswers(host: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(`http://${stripScheme(host)}/v2/`, { agent: false, timeout: timeoutMs, headers: { connection: 'close' } }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 || res.statusCode === 401);
    });
    req.once('timeout', () => { req.destroy(); resolve(false); });
    req.once('error', () => resolve(false));
  });
}

function stripScheme(host: string): string {
  return host.replace(/^[a-z]+:\/\//, '').replace(/\/+$/, '');
}
