/**
 * What the local ingress adds to a request: `devloop up` on test/fixtures/k8s-ingress against the
 * test cluster, then 60 sequential GETs of the same small file through the ingress (Host
 * shop.localhost) and 60 through the service's own port-forward endpoint, interleaved, in the same
 * run. Both reach the pod through the API server's portforward (a new websocket per connection);
 * the difference is the ingress's hop, its route match and its Service lookup.
 * Needs `npm run build` and the test cluster (`bash test/infra/k8s-up.sh`).
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { copyFixture, docker, httpGet, startCli } from '../test/helpers.js';
import { kubeconfig, kubectl } from '../test/k8s-helpers.js';
import { median, percentile, type BenchResult } from './types.js';

const REQUESTS = 60;

export async function run(): Promise<BenchResult[]> {
  const ns = `devloop-bench-ing-${process.pid}`;
  kubectl('create', 'namespace', ns);
  const dir = copyFixture('k8s-ingress');
  const up = startCli(['up', '--output', 'json'], { cwd: dir, env: { KUBECONFIG: kubeconfig, DEVLOOP_TEST_NS: ns } });
  try {
    await Promise.all(['web', 'ws'].map((svc) => up.waitFor((e) => e.type === 'service/health' && e.service === svc && e.health === 'healthy', 180_000, `${svc} healthy`)));
    const endpoints = up.events.filter((e) => e.type === 'deploy/finished' && e.service === 'web').at(-1)!.endpoints as { name: string; url: string }[];
    const forward = `${endpoints[0].url}/index.html`;
    const port = /:(\d+)\/$/.exec(endpoints.find((e) => e.name === 'ingress')!.url)![1];
    const ingress = `http://127.0.0.1:${port}/index.html`;
    const time = async (url: string, headers: Record<string, string>) => {
      const t0 = performance.now();
      const r = await httpGet(url, { headers });
      if (r.status !== 200) throw new Error(`GET ${url}: ${r.status} ${r.body}`);
      return performance.now() - t0;
    };
    const viaIngress: number[] = [];
    const viaForward: number[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      // Each goes first half of the time, so neither pays for the other's warm-up.
      if (i % 2) viaForward.push(await time(forward, {}));
      viaIngress.push(await time(ingress, { host: 'shop.localhost' }));
      if (!(i % 2)) viaForward.push(await time(forward, {}));
    }
    const note = `${REQUESTS} sequential GETs each, interleaved, alternating which goes first`;
    return [
      { name: 'GET through the local ingress, median', value: median(viaIngress), unit: 'ms', baseline: { name: 'through the port-forward', value: median(viaForward) }, note },
      { name: 'GET through the local ingress, p95', value: percentile(viaIngress, 95), unit: 'ms', baseline: { name: 'through the port-forward', value: percentile(viaForward, 95) }, note },
    ];
  } finally {
    up.child.kill('SIGINT');
    await Promise.race([up.exited, new Promise((r) => setTimeout(r, 60_000))]);
    up.child.kill('SIGKILL');
    try { kubectl('delete', 'namespace', ns, '--ignore-not-found', '--wait=false'); } catch { /* best effort */ }
    const tag = path.basename(dir).toLowerCase();
    const images = docker('images', '--format', '{{.Repository}}:{{.Tag}}').split('\n').filter((i) => i.includes(`devloop-${tag}-`));
    if (images.length) try { docker('rmi', '-f', ...images); } catch { /* in use elsewhere */ }
    rmSync(dir, { recursive: true, force: true });
  }
}
