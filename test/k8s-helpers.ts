/**
 * What the tests against the local Kubernetes test cluster share: where its kubeconfig is, whether
 * a missing cluster fails or skips the suite, and kubectl.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { copyFixture, docker } from './helpers.js';

export const stateDir = process.env.DEVLOOP_K8S_STATE ?? '/tmp/devloop-k8s';
export const kubeconfig = process.env.KUBECONFIG ?? path.join(stateDir, 'admin.kubeconfig');
/** `npm test` sets DEVLOOP_K8S_REQUIRE=1 once it has checked the cluster: no cluster is then a failure, not a skip. */
export const required = process.env.DEVLOOP_K8S_REQUIRE === '1' || process.env.KUBECONFIG !== undefined;
/** Why there is no cluster to test against ('' when there is one). */
export const missing = existsSync(kubeconfig) ? '' : `no cluster: ${kubeconfig} does not exist; run bash test/infra/k8s-up.sh and export the KUBECONFIG it prints`;

/** The kubectl k8s-up.sh links next to its kubeconfig (the system one may be outside the skew policy). */
export function kubectlPath(): string {
  const candidates = [process.env.DEVLOOP_KUBECTL, path.join(path.dirname(kubeconfig), 'bin', 'kubectl'), path.join(stateDir, 'bin', 'kubectl')];
  return candidates.find((c): c is string => !!c && existsSync(c)) ?? 'kubectl';
}

/** The helm k8s-up.sh builds and links next to kubectl (DEVLOOP_HELM first), or undefined with `helmMissing` saying how to get it. */
export function helmPath(): string | undefined {
  const candidates = [process.env.DEVLOOP_HELM, path.join(path.dirname(kubeconfig), 'bin', 'helm'), path.join(stateDir, 'bin', 'helm')];
  return candidates.find((c): c is string => !!c && existsSync(c));
}

export const helmMissing = () => `no helm at ${process.env.DEVLOOP_HELM ? `DEVLOOP_HELM=${process.env.DEVLOOP_HELM} or ` : ''}${path.join(stateDir, 'bin', 'helm')}: `
  + 'run bash test/infra/k8s-up.sh, which builds helm v4.3.2 into the cache and links it there (a failed build is in its warnings and in $DEVLOOP_K8S_CACHE/helm-v4.3.2.build.log)';

/** Runs kubectl against the test cluster; its stdout, trimmed. A failure says the command and kubectl's stderr. */
export function kubectlWithin(timeoutMs: number, ...args: string[]): string {
  try {
    return execFileSync(kubectlPath(), ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs }).trim();
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`kubectl ${args.join(' ')} failed: ${(e.stderr || e.message).trim()}`);
  }
}

export function kubectl(...args: string[]): string {
  return kubectlWithin(60_000, ...args);
}

/** A namespace for one test, and the folders and images it made, all removed by `cleanup()`. */
export function scratch(prefix = 'devloop-t') {
  const ns = `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
  const dirs: string[] = [];
  return {
    ns,
    env: { KUBECONFIG: kubeconfig, DEVLOOP_TEST_NS: ns },
    create() { kubectl('create', 'namespace', ns); },
    fixture(name: string) { const d = copyFixture(name); dirs.push(d); return d; },
    tmp() { const d = mkdtempSync(path.join(os.tmpdir(), `${prefix}-`)); dirs.push(d); return d; },
    cleanup() {
      try { kubectl('delete', 'namespace', ns, '--ignore-not-found', '--wait=false'); } catch { /* best effort */ }
      removeFixtures(dirs);
    },
  };
}

/** Removes fixture copies and the images devloop built from them. */
export function removeFixtures(dirs: string[]): void {
  for (const d of dirs) {
    // Images are named after the project folder (devloop-<folder>-<service>), pushed tags included.
    const tag = path.basename(d).toLowerCase();
    try {
      const images = docker('images', '--format', '{{.Repository}}:{{.Tag}}').split('\n').filter((i) => i.includes(`devloop-${tag}-`));
      if (images.length) docker('rmi', '-f', ...images);
    } catch { /* in use elsewhere */ }
    rmSync(d, { recursive: true, force: true });
  }
}
