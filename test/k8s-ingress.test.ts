// The local ingress of devloop:kubernetes through the real CLI against the local test cluster
// (test/infra/k8s-up.sh): a service built by devloop and pushed to 127.0.0.1:5001 becomes ready
// and answers through its port-forward and through the ingress, which routes by host and by path
// (Host headers, as a browser sends them for *.localhost) to two Services, and to a third of
// another devloop service; an HTTPRoute (gateway.networking.k8s.io/v1, as the API server stores
// it, defaults filled in) routes another host by PathPrefix and Exact, its header match named once
// in the log; an unknown host gets the 404 listing the routes; a websocket upgrade passes through;
// an edit's rollout keeps the route working and serves the new pod, and the HTTPRoute deleted from
// the manifests at the same time is pruned and its route gone; a backend without a ready pod is a
// 502 saying so; shutdown closes the port.
//
// Needs `npm run build` (the CLI runs from dist/) and the Gateway API CRDs that
// test/infra/k8s-up.sh installs. Without a cluster the suite is skipped; DEVLOOP_K8S_REQUIRE=1 (or
// an explicit KUBECONFIG) makes that a failure.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync, unlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyFixture, docker, ensureDockerInfra, httpGet, startCli, until, within } from './helpers.js';
import { kubeconfig, kubectl, missing, required } from './k8s-helpers.js';

/** Sends an Upgrade request, then `message` once the 101 is in; everything received, when the backend echoed it. */
function upgradeEcho(port: number, host: string, path: string, message: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n`));
    let got = '';
    let sent = false;
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`no echo through the ingress; received ${JSON.stringify(got)}`)); }, 15_000);
    s.on('data', (d) => {
      got += d;
      if (!sent && got.includes('\r\n\r\n')) { sent = true; s.write(message); }
      if (got.endsWith(`echo:${message}`)) { clearTimeout(timer); s.destroy(); resolve(got); }
    });
    s.once('error', (err) => { clearTimeout(timer); reject(err); });
    s.once('close', () => { clearTimeout(timer); reject(new Error(`closed; received ${JSON.stringify(got)}`)); });
  });
}

describe('devloop:kubernetes local ingress against the local test cluster', { skip: missing && !required ? missing : false, timeout: 240_000 }, () => {
  const ns = `devloop-ing-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
  let dir = '';

  before(() => {
    if (missing) throw new Error(missing);
    // Without the CRDs the apply of k8s/route.yaml fails and the test would only time out.
    if (!kubectl('get', 'crd', 'httproutes.gateway.networking.k8s.io', '--ignore-not-found', '-o', 'name')) {
      throw new Error('the test cluster has no Gateway API CRDs (crd/httproutes.gateway.networking.k8s.io is missing): run bash test/infra/k8s-up.sh, which installs them on a running cluster too');
    }
    ensureDockerInfra(() => { execFileSync('curl', ['-sf', 'http://127.0.0.1:5001/v2/']); });
  });

  after(() => {
    try { kubectl('delete', 'namespace', ns, '--ignore-not-found', '--wait=false'); } catch { /* best effort */ }
    if (!dir) return;
    const tag = path.basename(dir).toLowerCase();
    const images = docker('images', '--format', '{{.Repository}}:{{.Tag}}').split('\n').filter((i) => i.includes(`devloop-${tag}-`));
    if (images.length) try { docker('rmi', '-f', ...images); } catch { /* in use elsewhere */ }
    rmSync(dir, { recursive: true, force: true });
  });

  it('routes by host and path to two Services, lists the routes on a 404, follows a rollout, says why on a 502', async () => {
    kubectl('create', 'namespace', ns);
    dir = copyFixture('k8s-ingress');
    // The configured port is taken: the ingress must move to a free one and say so.
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    const takenPort = (taken.address() as net.AddressInfo).port;
    const up = startCli(['up', '--output', 'json'], { cwd: dir, env: { KUBECONFIG: kubeconfig, DEVLOOP_TEST_NS: ns, DEVLOOP_TEST_INGRESS_PORT: String(takenPort) } });
    try {
      await Promise.all(['web', 'ws'].map((svc) => up.waitFor((e) => e.type === 'service/health' && e.service === svc && e.health === 'healthy', 150_000, `${svc} healthy`)));
      const deployed = up.events.filter((e) => e.type === 'deploy/finished' && e.service === 'web').at(-1)!;
      const endpoints = deployed.endpoints as { name: string; url: string }[];
      // The port-forward first (what `open` and the TUI show), then the ingress URLs of the Services.
      assert.match(endpoints[0]?.url ?? '', /^http:\/\/127\.0\.0\.1:\d+$/, JSON.stringify(endpoints));
      const ingressUrls = endpoints.filter((e) => e.name === 'ingress').map((e) => e.url);
      const port = Number(/^http:\/\/shop\.localhost:(\d+)\/$/.exec(ingressUrls[0] ?? '')?.[1]);
      assert.ok(port > 0, `an ingress endpoint http://shop.localhost:PORT/: ${JSON.stringify(endpoints)}`);
      assert.notEqual(port, takenPort);
      assert.ok(up.events.some((e) => e.type === 'log' && e.line?.level === 'warn' && e.line.message === `ingress: 127.0.0.1:${takenPort} is in use, serving on 127.0.0.1:${port} instead; set kubernetes.ingress.port in Devfile.ts to pick a free one`),
        'the move is a warning naming both ports and the setting');
      assert.deepEqual(ingressUrls.sort(), [`http://*.api.localhost:${port}/`, `http://shop.localhost:${port}/`, `http://shop.localhost:${port}/api`,
        `http://route.localhost:${port}/`, `http://route.localhost:${port}/index.html`, `http://route.localhost:${port}/canary`].sort());
      const logged = up.events.filter((e) => e.type === 'log' && e.line?.service === 'web' && /^ingress: /.test(e.line.message)).map((e) => e.line.message as string);
      assert.equal(logged.filter((l) => l === `ingress: http://shop.localhost:${port}/ -> shop:80`).length, 1, `logged once: ${JSON.stringify(logged)}`);

      const via = (host: string, p: string) => httpGet(`http://127.0.0.1:${port}${p}`, { headers: { host } });
      assert.equal((await httpGet(`${endpoints[0].url}/index.html`)).body.trim(), 'shop v1', 'the port-forward answers');
      // By path under one host (the port in the Host header does not matter), and by a wildcard host.
      assert.deepEqual(await via(`shop.localhost:${port}`, '/index.html'), { status: 200, body: 'shop v1\n' });
      assert.deepEqual(await via('shop.localhost', '/api/index.html'), { status: 200, body: 'api v1\n' });
      assert.deepEqual(await via('pr-7.api.localhost', '/index.html'), { status: 200, body: 'api root\n' });

      const unknown = await via('nope.localhost', '/x');
      assert.equal(unknown.status, 404);
      assert.match(unknown.body, /no Ingress or HTTPRoute rule matches host "nope\.localhost" and path "\/x"/);
      for (const line of [`http://shop.localhost:${port}/ -> shop:80`, `http://shop.localhost:${port}/api -> api:web`, `http://shop.localhost:${port}/ws (exact) -> ws:80`, `http://*.api.localhost:${port}/ -> api:8081`]) {
        assert.ok(unknown.body.includes(line), `the 404 lists ${line}:\n${unknown.body}`);
      }
      assert.equal((await via('a.b.api.localhost', '/')).status, 404, 'an Ingress wildcard covers one label');

      // The HTTPRoute: PathPrefix / to the api, Exact /index.html to the shop (and only that path).
      const routeLines = [`http://route.localhost:${port}/ -> api:8081  (httproute/${ns}/side)`, `http://route.localhost:${port}/index.html (exact) -> shop:80  (httproute/${ns}/side)`];
      for (const line of routeLines) assert.ok(unknown.body.includes(line), `the 404 lists ${line}:\n${unknown.body}`);
      assert.deepEqual(await via('route.localhost', '/index.html'), { status: 200, body: 'shop v1\n' });
      assert.deepEqual(await via('route.localhost', '/'), { status: 200, body: 'api root\n' }, 'Exact /index.html does not take /');
      assert.deepEqual(await via('route.localhost', '/api/index.html'), { status: 200, body: 'api v1\n' });

      // An Upgrade (a websocket's handshake) to the Service of the other devloop service: the 101
      // comes back and bytes then flow both ways.
      assert.equal(await upgradeEcho(port, 'shop.localhost', '/ws', 'ping'), 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\necho:ping');
      assert.deepEqual(await via('shop.localhost', '/ws'), { status: 200, body: 'ws plain /ws\n' });

      // A rollout: the edit is rebuilt, pushed and rolled out; the same route serves the new pod.
      // The HTTPRoute leaves the manifests in the same edit: pruned, and its routes with it.
      const oldPod = kubectl('get', 'pods', '-n', ns, '-l', 'app=shop', '-o', 'jsonpath={.items[0].metadata.name}');
      writeFileSync(path.join(dir, 'www', 'shop', 'index.html'), 'shop v2\n');
      unlinkSync(path.join(dir, 'k8s', 'route.yaml'));
      await until(() => via('shop.localhost', '/index.html').then((r) => r.body === 'shop v2\n' || undefined, () => undefined), 90_000, 'the edit served through the ingress');
      const gone = await until(() => via('route.localhost', '/index.html').then((r) => (r.status === 404 ? r : undefined), () => undefined), 60_000, 'route.localhost gone from the ingress');
      assert.match(gone.body, /no Ingress or HTTPRoute rule matches host "route\.localhost"/);
      assert.ok(!gone.body.includes('route.localhost:') && gone.body.includes(`http://shop.localhost:${port}/ -> shop:80`), `the 404 lists the Ingress's routes, no longer the HTTPRoute's:\n${gone.body}`);
      await up.waitFor((e) => e.type === 'log' && e.line?.service === 'web' && /^pruned .*httproute\/[^ ,]+\/side\b/.test(e.line.message), 10_000, 'the prune logged');
      assert.equal(kubectl('get', 'httproutes', '-n', ns, '-o', 'name'), '', 'the HTTPRoute is deleted from the cluster');
      // Named once for the whole run, and nothing else: the defaults the API server filled in (weight,
      // group, kind, the header match's type) are read as the manifest meant them.
      const routeWarnings = up.events.filter((e) => e.type === 'log' && e.line?.level === 'warn' && /httproute\//.test(e.line.message)).map((e) => e.line.message as string);
      assert.deepEqual(routeWarnings, [`ingress: httproute/${ns}/side spec.rules[2].matches[0]: header, query and method conditions are not checked locally (the path alone routes)`]);
      kubectl('wait', '--for=delete', `pod/${oldPod}`, '-n', ns, '--timeout=60s');
      assert.deepEqual(await via('shop.localhost', '/index.html'), { status: 200, body: 'shop v2\n' }, 'served once the old pod is gone');
      assert.deepEqual(await via('shop.localhost', '/api/index.html'), { status: 200, body: 'api v1\n' });

      // No ready pod behind a route: a 502 that says which Service and why.
      kubectl('scale', 'deployment', 'api', '-n', ns, '--replicas=0');
      kubectl('wait', '--for=delete', 'pod', '-l', 'app=api', '-n', ns, '--timeout=60s');
      const down = await via('shop.localhost', '/api/index.html');
      assert.equal(down.status, 502, down.body);
      assert.match(down.body, /cannot reach api:web \(ingress\/devloop-ing-[^)]+\/front\): no Ready pod matches service\/api:8081/, down.body);

      up.child.kill('SIGINT');
      assert.equal(await within(up.exited, 60_000, 'devloop up to exit'), 0, up.stderr());
      const refused = await new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        s.once('connect', () => { s.destroy(); resolve(false); });
        s.once('error', () => resolve(true));
      });
      assert.ok(refused, `the ingress port ${port} is closed after shutdown`);
    } finally {
      up.child.kill('SIGKILL');
      taken.close();
    }
  });
});
