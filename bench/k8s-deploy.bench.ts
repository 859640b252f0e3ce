/**
 * Kubernetes deploys against the test cluster, each beside a kubectl script doing the same work in
 * the same run (the issue's baselines):
 * - an edit that needs a new image: devloop (watch, docker build, push, server-side apply, rollout,
 *   the port-forward following the new pod) from the save to the new content answering, against
 *   `docker build` + `docker push` + `kubectl set image` + `kubectl rollout status` run one after
 *   another by a script (which stops at the rollout: it never fetches the page, so the baseline is
 *   the kinder one);
 * - the first deploy of 10 services (no builds; an image already in the registry): from spawning
 *   `devloop up` to every service healthy, against `kubectl apply` + `kubectl rollout status` per
 *   service, one after another, as a script deploying them would.
 * Needs `npm run build`, the registry and the test cluster (`bash test/infra/k8s-up.sh`).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { copyFixture, docker, httpGet, startCli, until } from '../test/helpers.js';
import { kubeconfig, kubectl, kubectlPath, kubectlWithin } from '../test/k8s-helpers.js';
import { median, type BenchResult } from './types.js';

const REGISTRY = '127.0.0.1:5001';
const EDITS = 4;
const SERVICES = 10;

function deploymentYaml(name: string, image: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: 1
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: ${name}
        image: ${image}
        command: [httpd, -f, -p, '8080', -h, /]
        ports: [{containerPort: 8080}]
        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
`;
}

async function rebuildRollout(): Promise<BenchResult[]> {
  const ns = `devloop-bench-roll-${process.pid}`;
  const base = `devloop-bench-roll-base-${process.pid}`;
  kubectl('create', 'namespace', ns);
  kubectl('create', 'namespace', base);
  const dir = copyFixture('k8s-web');
  const up = startCli(['up', '--output', 'json'], { cwd: dir, env: { KUBECONFIG: kubeconfig, DEVLOOP_TEST_NS: ns } });
  const devloop: number[] = [];
  const script: number[] = [];
  try {
    await up.waitFor((e) => e.type === 'service/health' && e.service === 'web' && e.health === 'healthy', 180_000, 'web healthy');
    const url = up.events.filter((e) => e.type === 'deploy/finished' && e.service === 'web').at(-1)!.endpoints[0].url as string;

    // The baseline's own copy of the app, deployed once by kubectl, then updated by the script.
    const repo = `${REGISTRY}/devloop-bench-roll-${process.pid}`;
    const manifest = readFileSync(path.join(dir, 'k8s', 'web.yaml'), 'utf8').replace(/image: web\b/, `image: ${repo}:v0`);
    docker('build', '-q', '-t', `${repo}:v0`, dir);
    docker('push', '-q', `${repo}:v0`);
    execFileSync(kubectlPath(), ['--kubeconfig', kubeconfig, '-n', base, 'apply', '-f', '-'], { input: manifest, stdio: ['pipe', 'ignore', 'pipe'] });
    kubectlWithin(180_000, '-n', base, 'rollout', 'status', 'deployment/web', '--timeout=170s');

    for (let i = 1; i <= EDITS; i++) {
      const token = `roll ${process.pid} ${i}`;
      // devloop: the save to the new page answering through its port-forward.
      let t0 = performance.now();
      writeFileSync(path.join(dir, 'www', 'index.html'), `${token}\n`);
      await until(async () => ((await httpGet(url).catch(() => ({ body: '' }))).body.trim() === token ? true : undefined), 120_000, `devloop to serve edit ${i}`);
      devloop.push(performance.now() - t0);

      // The script: the same edit, built, pushed, set and waited for.
      t0 = performance.now();
      docker('build', '-q', '-t', `${repo}:v${i}`, dir);
      docker('push', '-q', `${repo}:v${i}`);
      kubectl('-n', base, 'set', 'image', 'deployment/web', `web=${repo}:v${i}`);
      kubectlWithin(180_000, '-n', base, 'rollout', 'status', 'deployment/web', '--timeout=170s');
      script.push(performance.now() - t0);
    }
    // Where devloop's time went: its own per-update figures (the summary line's steps).
    const updates = up.events.filter((e) => e.type === 'update/finished' && e.service === 'web' && e.update.outcome === 'done').slice(1).map((e) => e.update as { steps: { name: string; ms: number }[] });
    const step = (name: string) => median(updates.map((u) => u.steps.find((st) => st.name === name)?.ms ?? 0));
    const note = `${EDITS} edits each, alternating; the script stops at rollout status, devloop at the new page answering; devloop's steps (median of ${updates.length}): build ${step('build').toFixed(0)} ms, push ${step('push').toFixed(0)} ms, deploy ${step('deploy').toFixed(0)} ms, rollout to healthy ${step('healthy').toFixed(0)} ms`;
    return [{ name: 'edit -> new image rolled out (Kubernetes), median', value: median(devloop), unit: 'ms', baseline: { name: 'docker build+push, kubectl set image + rollout status', value: median(script) }, note }];
  } finally {
    up.child.kill('SIGINT');
    await Promise.race([up.exited, new Promise((r) => setTimeout(r, 60_000))]);
    up.child.kill('SIGKILL');
    for (const n of [ns, base]) try { kubectl('delete', 'namespace', n, '--ignore-not-found', '--wait=false'); } catch { /* best effort */ }
    rmSync(dir, { recursive: true, force: true });
  }
}

async function firstDeploy(): Promise<BenchResult[]> {
  const ns = `devloop-bench-ten-${process.pid}`;
  const base = `devloop-bench-ten-base-${process.pid}`;
  const image = `${REGISTRY}/devloop-bench/busybox:latest`;
  docker('tag', 'devloop-test/busybox:latest', image);
  docker('push', '-q', image);
  const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-bench-ten-')));
  mkdirSync(path.join(dir, 'k8s'));
  const names = Array.from({ length: SERVICES }, (_, i) => `svc${i}`);
  for (const n of names) writeFileSync(path.join(dir, 'k8s', `${n}.yaml`), deploymentYaml(n, image));
  writeFileSync(path.join(dir, 'Devfile.ts'), `export default {
  services: {
${names.map((n) => `    ${n}: { runtime: 'kubernetes', k8s: { manifests: 'k8s/${n}.yaml', namespace: ${JSON.stringify(ns)} } },`).join('\n')}
  },
};
`);
  kubectl('create', 'namespace', ns);
  kubectl('create', 'namespace', base);
  let up: ReturnType<typeof startCli> | undefined;
  try {
    // The script first: the image is then already on the node for both (pulls are not what is compared).
    let t0 = performance.now();
    for (const n of names) {
      kubectl('-n', base, 'apply', '-f', path.join(dir, 'k8s', `${n}.yaml`));
      kubectlWithin(180_000, '-n', base, 'rollout', 'status', `deployment/${n}`, '--timeout=170s');
    }
    const script = performance.now() - t0;

    t0 = performance.now();
    up = startCli(['up', '--output', 'json'], { cwd: dir, env: { KUBECONFIG: kubeconfig } });
    const u = up;
    await Promise.all(names.map((n) => u.waitFor((e) => e.type === 'service/health' && e.service === n && e.health === 'healthy', 300_000, `${n} healthy`)));
    const ours = performance.now() - t0;
    return [{ name: `first deploy of ${SERVICES} services (Kubernetes), launch to all healthy`, value: ours, unit: 'ms', baseline: { name: 'kubectl apply + rollout status, one service after another', value: script }, note: 'no builds: one image already in the registry and on the node' }];
  } finally {
    if (up) {
      up.child.kill('SIGINT');
      await Promise.race([up.exited, new Promise((r) => setTimeout(r, 60_000))]);
      up.child.kill('SIGKILL');
    }
    for (const n of [ns, base]) try { kubectl('delete', 'namespace', n, '--ignore-not-found', '--wait=false'); } catch { /* best effort */ }
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<BenchResult[]> {
  return [...await rebuildRollout(), ...await firstDeploy()];
}
