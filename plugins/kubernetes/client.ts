/**
 * API clients whose every request gives up after a timeout, for the one-shot commands (`render`,
 * `deploy --diff`, `doctor`) and the registry lookup: a cluster that is down, or an address that
 * drops packets, must cost seconds, not the minutes of a TCP timeout. Failures are described by
 * what the user can act on: nothing listening, no answer, credentials refused, forbidden.
 */
import type { AuthorizationV1Api, CoreV1Api, KubeConfig, KubernetesObjectApi, VersionApi } from '@kubernetes/client-node';
import { apiError } from './apply.js';

export interface TimedApis {
  core: CoreV1Api;
  version: VersionApi;
  authz: AuthorizationV1Api;
  objects: KubernetesObjectApi;
}

export const DEFAULT_TIMEOUT_MS = 5_000;

export async function timedApis(kc: KubeConfig, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<TimedApis> {
  const k8s = await import('@kubernetes/client-node');
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error(`kube context "${kc.getCurrentContext()}" names no cluster`);
  const config = k8s.createConfiguration({
    baseServer: new k8s.ServerConfiguration(cluster.server, {}),
    authMethods: { default: kc },
    promiseMiddleware: [{
      pre: async (ctx) => { ctx.setSignal(AbortSignal.timeout(timeoutMs)); return ctx; },
      post: async (res) => res,
    }],
  });
  return {
    core: new k8s.CoreV1Api(config),
    version: new k8s.VersionApi(config),
    authz: new k8s.AuthorizationV1Api(config),
    objects: new k8s.KubernetesObjectApi(config),
  };
}

/** Why a request to the API server failed, in words that say what to do; `code` is the HTTP status when it answered. */
export function describeRequestError(err: unknown, server: string, context: string): { code?: number; message: string; hint: string } {
  const e = err as { name?: string; code?: unknown; cause?: { code?: string }; message?: string; type?: string };
  const sysCode = typeof e.code === 'string' ? e.code : e.cause?.code ?? (/\b(ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ECONNRESET|ETIMEDOUT|CERT_[A-Z_]+|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)\b/.exec(e.message ?? '')?.[1]);
  if (e.name === 'AbortError' || e.type === 'aborted' || e.name === 'TimeoutError') {
    return { message: `the API server ${server} did not answer in time`, hint: `check the cluster of context "${context}" is running and reachable (a VPN, a tunnel, a stopped VM)` };
  }
  if (sysCode === 'ECONNREFUSED') {
    return { message: `nothing answers at the API server ${server} (connection refused)`, hint: `start the cluster of context "${context}" (kind, k3d, minikube, Docker Desktop), or pick another with --context` };
  }
  if (sysCode === 'ENOTFOUND' || sysCode === 'EHOSTUNREACH') {
    return { message: `the API server ${server} cannot be reached (${sysCode})`, hint: `check the server address of context "${context}" in the kubeconfig and your network` };
  }
  if (sysCode && /CERT|SELF_SIGNED|VERIFY/.test(sysCode)) {
    return { message: `the API server ${server} has a certificate the kubeconfig does not trust (${sysCode})`, hint: `refresh the kubeconfig entry of context "${context}" (its certificate-authority-data is stale)` };
  }
  const { code, message } = apiError(err);
  if (code === 401) {
    return { code, message: `the API server ${server} refused the credentials of context "${context}" (401 Unauthorized: expired or invalid)`, hint: 'log in again to refresh them (e.g. "gcloud container clusters get-credentials", "kind export kubeconfig"), or fix the user entry in the kubeconfig' };
  }
  if (code === 403) {
    return { code, message: `forbidden: ${message}`, hint: `ask for the RBAC permission it names for the user of context "${context}"` };
  }
  return { code, message: code ? `${message} (HTTP ${code})` : message, hint: `check the cluster of context "${context}" (${server})` };
}
