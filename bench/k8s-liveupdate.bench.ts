/**
 * Edit-to-new-response on the Kubernetes runtime, against the local test cluster
 * (test/infra/k8s-up.sh), with the k8s-liveupdate fixture's `web` (busybox httpd serving /www in a
 * Deployment, reached through devloop's port-forward): the time from writing a synced file to the
 * first response through the port-forward that shows it, median of 10 edits, for
 *   (a) devloop's live update into the pod (exec + tar, then a `run` step through exec), against
 *       the script a user would write for the same thing, measured in the same run on the same pod
 *       and the same port-forward: `kubectl get pod` + `kubectl cp` + `kubectl exec` (the run step);
 *       edits alternate between the two so both see the same cluster load;
 *   (b) devloop rebuilding the image and rolling it out (an edit outside the sync rules), median of
 *       3, for scale;
 *   (c) devloop's live update with a `restart` step into the fixture's `node` service (a node server
 *       that reads its message at startup): sync, then the process restarted in the pod under
 *       devloop's supervisor, against (b).
 * Also each tool's own latency: the live update's return, and the script's exit.
 *
 * The engine is told about the edit directly (engine.filesChanged), as the watcher would after its
 * quiet window (100 ms by default), which is not included here; nor is it in the baseline. The
 * response is polled serially from the write (each request through the port-forward opens a
 * websocket to the API server), the same way for both. Without a cluster it prints why and
 * reports nothing.
 */
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import type { DevfileConfig } from '../core/devfile/types.js';
import { Engine } from '../core/engine/engine.js';
import { dockerPlugin } from '../plugins/docker/index.js';
import { kubernetesPlugin } from '../plugins/kubernetes/index.js';
import { registryPlugin } from '../plugins/registry/index.js';
import { httpGet } from '../test/helpers.js';
import { median, percentile, type BenchResult } from './types.js';

const fixture = path.resolve(new URL('../test/fixtures/k8s-liveupdate', import.meta.url).pathname);
const stateDir = process.env.DEVLOOP_K8S_STATE ?? '/tmp/devloop-k8s';
const kubeconfig = process.env.KUBECONFIG ?? path.join(stateDir, 'admin.kubeconfig');
const kubectlBin = [path.join(path.dirname(kubeconfig), 'bin', 'kubectl'), path.join(stateDir, 'bin', 'kubectl')].find((p) => existsSync(p)) ?? 'kubectl';
const EDITS = 10;
const REBUILDS = 3;
const DEADLINE_MS = 60_000;
const run$ = promisify(execFile);

/** Ms from `t0` until `url` answers with `token`, polling serially. */
async function servedAfter(url: string, token: string, t0: number): Promise<number> {
  while (performance.now() - t0 < DEADLINE_MS) {
    const body = await httpGet(url, { timeoutMs: 5_000 }).then((r) => r.body, () => '');
    if (body.includes(token)) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`${url} never served ${token}`);
}

const kubectl = (...args: string[]) => execFileSync(kubectlBin, ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

export async function run(): Promise<BenchResult[]> {
  if (!existsSync(kubeconfig)) {
    console.error(`k8s-liveupdate: skipped: no cluster (${kubeconfig} does not exist; run bash test/infra/k8s-up.sh)`);
    return [];
  }
  try {
    kubectl('version', '--request-timeout=5s');
    execFileSync('docker', ['image', 'inspect', 'devloop-test/busybox:latest'], { stdio: 'ignore' });
  } catch (err) {
    console.error(`k8s-liveupdate: skipped: the test cluster or the test images are not up (${(err as Error).message.split('\n')[0]}); run bash test/infra/up.sh and test/infra/k8s-up.sh`);
    return [];
  }
  process.env.KUBECONFIG = kubeconfig;
  const ns = `devloop-bench-${process.pid}`;
  const project = `bench-k8s-lu-${process.pid}`;
  const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-bench-k8s-lu-')));
  cpSync(fixture, root, { recursive: true });
  const devfile: DevfileConfig = {
    name: project,
    services: {
      web: {
        build: { type: 'docker', context: 'web' },
        runtime: 'kubernetes',
        k8s: { manifests: 'k8s/web.yaml', namespace: ns },
        liveUpdate: [{ sync: { from: 'web/www', to: '/www' } }, { run: 'sync' }],
      },
      node: {
        build: { type: 'docker', context: 'node' },
        runtime: 'kubernetes',
        k8s: { manifests: 'k8s/node.yaml', namespace: ns },
        liveUpdate: [{ sync: { from: 'node/src', to: 'src' } }, { restart: true }],
      },
    },
  };
  kubectl('create', 'namespace', ns);
  const engine = new Engine({ root, devfile, plugins: [dockerPlugin(), registryPlugin(), kubernetesPlugin()] });
  const file = path.join(root, 'web', 'www', 'index.html');
  const live: number[] = [];
  const liveOwn: number[] = [];
  const script: number[] = [];
  const scriptOwn: number[] = [];
  const rebuild: number[] = [];
  const restart: number[] = [];
  try {
    await engine.start();
    await engine.idle();
    const url = engine.getState().services.web.endpoints[0]?.url;
    if (!url) throw new Error(`no endpoint: ${JSON.stringify(engine.getState().services.web.error)}`);
    const builds = engine.getState().services.web.buildCount;
    // What a user's script does for the same edit: find the pod, copy the file, run the step.
    const sh = [
      `pod=$("$K" --kubeconfig "$KC" get pod -n "$NS" -l app=web --field-selector=status.phase=Running -o jsonpath='{.items[0].metadata.name}')`,
      '"$K" --kubeconfig "$KC" cp "$SRC" "$NS/$pod:/www/index.html" -c web',
      '"$K" --kubeconfig "$KC" exec -n "$NS" "$pod" -c web -- sh -c sync',
    ].join(' && ');
    const env = { ...process.env, K: kubectlBin, KC: kubeconfig, NS: ns, SRC: file };
    // One of each first, not counted: the first exec and the first kubectl pay for warm-up.
    for (let i = -1; i < EDITS; i++) {
      let token = `live-${i}-${Date.now()}`;
      let t0 = performance.now();
      writeFileSync(file, `${token}\n`);
      await engine.filesChanged('web', [file]);
      const own = performance.now() - t0;
      const served = await servedAfter(`${url}/index.html`, token, t0);
      if (i >= 0) { live.push(served); liveOwn.push(own); }

      token = `script-${i}-${Date.now()}`;
      t0 = performance.now();
      writeFileSync(file, `${token}\n`);
      await run$('bash', ['-c', sh], { env });
      const ownScript = performance.now() - t0;
      const servedScript = await servedAfter(`${url}/index.html`, token, t0);
      if (i >= 0) { script.push(servedScript); scriptOwn.push(ownScript); }
    }
    const after = engine.getState().services.web.buildCount;
    if (after !== builds) throw new Error(`the live updates rebuilt ${after - builds} times`);
    const nodeUrl = engine.getState().services.node.endpoints[0]?.url;
    if (!nodeUrl) throw new Error(`node: no endpoint: ${JSON.stringify(engine.getState().services.node.error)}`);
    const nodeBuilds = engine.getState().services.node.buildCount;
    const message = path.join(root, 'node', 'src', 'message.txt');
    for (let i = -1; i < EDITS; i++) {
      const token = `restart-${i}-${Date.now()}`;
      const t0 = performance.now();
      writeFileSync(message, `${token}\n`);
      await engine.filesChanged('node', [message]);
      const served = await servedAfter(nodeUrl, token, t0);
      if (i >= 0) restart.push(served);
    }
    if (engine.getState().services.node.buildCount !== nodeBuilds) throw new Error('the live updates with a restart rebuilt');
    for (let i = 0; i < REBUILDS; i++) {
      const token = `build-${i}-${Date.now()}`;
      const t0 = performance.now();
      writeFileSync(path.join(root, 'web', 'build.txt'), `${token}\n`);
      await engine.filesChanged('web', [path.join(root, 'web', 'build.txt')]);
      rebuild.push(await servedAfter(`${url}/build.txt`, token, t0));
      await engine.idle();
    }
  } finally {
    await engine.stop();
    try { kubectl('delete', 'namespace', ns, '--ignore-not-found', '--wait=false'); } catch { /* best effort */ }
    const images = execFileSync('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}'], { encoding: 'utf8' }).split('\n').filter((i) => i.includes(`devloop-${project}-`));
    if (images.length) execFileSync('docker', ['rmi', '-f', ...images], { stdio: 'ignore' });
    rmSync(root, { recursive: true, force: true });
  }
  const spread = (xs: number[]) => `p90 ${Math.round(percentile(xs, 90))} ms, min ${Math.round(Math.min(...xs))} ms`;
  const baseline = { name: 'script: kubectl get pod + cp + exec', value: median(script) };
  const results: BenchResult[] = [
    { name: `save-to-new-response: devloop live update, sync + run step (median of ${EDITS})`, value: median(live), unit: 'ms', baseline, note: `${spread(live)}; script ${spread(script)}` },
    { name: `tool latency: devloop live update returned (median of ${EDITS})`, value: median(liveOwn), unit: 'ms', baseline: { name: 'script exited', value: median(scriptOwn) }, note: `${spread(liveOwn)}; script ${spread(scriptOwn)}` },
    { name: `save-to-new-response: devloop rebuild + rollout, for scale (median of ${REBUILDS})`, value: median(rebuild), unit: 'ms', baseline: { name: 'devloop live update', value: median(live) }, note: spread(rebuild) },
    { name: `save-to-new-response: devloop live update, sync + process restart in the pod (node server, median of ${EDITS})`, value: median(restart), unit: 'ms', baseline: { name: 'devloop rebuild + rollout', value: median(rebuild) }, note: spread(restart) },
  ];
  return results;
}
