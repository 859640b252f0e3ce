/**
 * Which registry images are pushed to: `DEVLOOP_REGISTRY` when set, else the conventional local
 * registry on 127.0.0.1:5001 when its `/v2/` answers. Kubernetes clusters advertise theirs in the
 * KEP-1755 ConfigMap; reading it arrives with the Kubernetes runtime.
 */
import http from 'node:http';

export const DEFAULT_LOCAL_REGISTRY = '127.0.0.1:5001';
const PROBE_TIMEOUT_MS = 1_000;

export interface RegistryLocation {
  /** `host:port` (optionally with a path prefix) as it goes in front of an image name. */
  host: string;
  /** Where the answer came from, for messages. */
  source: 'DEVLOOP_REGISTRY' | 'local probe' | 'KEP-1755 ConfigMap' | 'option';
}

export interface DetectOptions {
  env?: NodeJS.ProcessEnv;
  /** Registries to probe, in order, when the environment names none. */
  candidates?: string[];
}

export async function detectRegistry(options: DetectOptions = {}): Promise<RegistryLocation | undefined> {
  const env = options.env ?? process.env;
  const fromEnv = env.DEVLOOP_REGISTRY?.trim();
  if (fromEnv) return { host: stripScheme(fromEnv), source: 'DEVLOOP_REGISTRY' };
  const fromCluster = await registryFromClusterConfigMap();
  if (fromCluster) return { host: fromCluster, source: 'KEP-1755 ConfigMap' };
  for (const candidate of options.candidates ?? [DEFAULT_LOCAL_REGISTRY]) {
    if (await registryAnswers(candidate)) return { host: candidate, source: 'local probe' };
  }
  return undefined;
}

/**
 * KEP-1755: `kube-public/local-registry-hosting`, key `localRegistryHosting.v1`, field `host`.
 * Not implemented yet: it needs the Kubernetes client the cluster runtime brings. Returns
 * undefined, so detection carries on with the local probe.
 */
export async function registryFromClusterConfigMap(): Promise<string | undefined> {
  return undefined;
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
