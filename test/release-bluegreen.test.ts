// devloop release --strategy blue-green against the local test cluster (test/infra/k8s-up.sh) and
// its registry on 127.0.0.1:5001, with the busybox httpd images of test/release-helpers.ts: a first
// rolling release installs v1; a blue-green release of v2 labels the serving pods blue, runs v2 as
// web-green outside the Service, gates it, switches the Service's selector and scales blue to 0,
// while requests through the Service all succeed and end up all answered by v2; a blue-green release
// of "bad" fails its gate (exit 1), the selector stays green, no request through the Service fails,
// and the blue standby is back on v1 at 0 replicas; a rolling release is refused once the Service
// selects by color; `release rollback web` scales blue (v1) up and switches back; a blue-green
// release of a service not installed yet (api) installs it as the blue side.
//
// Needs `npm run build` (the CLI runs from dist/; DEVLOOP_CLI points at another build). Without a
// cluster the suite is skipped; DEVLOOP_K8S_REQUIRE=1 (or an explicit KUBECONFIG) makes that a failure.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { docker, ensureDockerInfra, until } from './helpers.js';
import { kubectl, missing, required, scratch } from './k8s-helpers.js';
import { answers, buildTestImages, devloop, traffic } from './release-helpers.js';

const COLOR = 'devloop.dev/release-color';

describe('devloop release --strategy blue-green against the local test cluster', { skip: missing && !required ? missing : false, timeout: 180_000 }, () => {
  const s = scratch('devloop-bg');
  const repo = `127.0.0.1:5001/devloop-bluegreen-${s.ns}`;
  let images: Record<'v1' | 'v2' | 'bad', string>;
  let dir = '';
  let ip = '';
  const run = (args: string[]) => devloop(args, dir, s.env);
  const get = (...args: string[]) => kubectl('get', '-n', s.ns, ...args);
  const selectorColor = () => get('service', 'web', '-o', `jsonpath={.spec.selector.${COLOR.replace(/\./g, '\\.')}}`);
  const deployment = (name: string) => {
    const d = JSON.parse(get('deployment', name, '-o', 'json'));
    return { image: d.spec.template.spec.containers[0].image as string, replicas: d.spec.replicas as number, ready: (d.status.readyReplicas ?? 0) as number, color: d.spec.template.metadata.labels[COLOR] as string | undefined };
  };
  /** The pod names behind the Service, and those of one color. */
  const endpoints = () => get('endpoints', 'web', '-o', 'jsonpath={.subsets[*].addresses[*].targetRef.name}').split(/\s+/).filter(Boolean).sort().join(' ');
  const readyPodsOf = (color: string) => (JSON.parse(get('pods', '-l', `${COLOR}=${color}`, '-o', 'json')).items as { metadata: { name: string; deletionTimestamp?: string } }[])
    .filter((p) => !p.metadata.deletionTimestamp).map((p) => p.metadata.name).sort().join(' ');
  const latestRecord = () => {
    const files = readdirSync(path.join(dir, '.devloop', 'releases')).sort();
    return { files, rec: JSON.parse(readFileSync(path.join(dir, '.devloop', 'releases', files[files.length - 1]), 'utf8')) };
  };

  before(() => {
    if (missing) throw new Error(missing);
    ensureDockerInfra(() => { execFileSync('curl', ['-sf', 'http://127.0.0.1:5001/v2/']); });
    s.create();
    dir = s.tmp();
    writeFileSync(path.join(dir, 'Devfile.ts'), `import { defineDevfile } from 'devloop';
export default defineDevfile({
  name: 'bgweb',
  simulation: { autopilot: { bursting: true } },
  environments: {
    staging: { kubeContext: 'devloop-local', replicas: 2, resources: { cpu: '50m', memory: '64Mi' } },
  },
  services: {
    web: { build: { type: 'docker' }, runtime: 'kubernetes', port: 8080, health: { tcp: true, intervalMs: 1000 }, extensions: { 'devloop:autopilot': { namespace: ${JSON.stringify(s.ns)} } } },
    api: { build: { type: 'docker' }, runtime: 'kubernetes', port: 8080, health: { tcp: true, intervalMs: 1000 }, extensions: { 'devloop:autopilot': { namespace: ${JSON.stringify(s.ns)} } } },
  },
});
`);
    images = buildTestImages(repo, ['v1', 'v2', 'bad'] as const, () => s.tmp());
  });
  after(() => {
    try { docker('rmi', '-f', `${repo}:v1`, `${repo}:v2`, `${repo}:bad`); } catch { /* already gone */ }
    s.cleanup();
  });

  it('the first release installs v1 with a rolling update', async () => {
    const r = await run(['release', 'web', '--env', 'staging', '--image', `web=${images.v1}`]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(deployment('web'), { image: images.v1, replicas: 2, ready: 2, color: undefined });
    assert.equal(selectorColor(), '', 'a rolling release does not select by color');
    ip = get('service', 'web', '-o', 'jsonpath={.spec.clusterIP}');
    // Until kube-proxy has programmed the new ClusterIP a connection to it fails.
    await until(async () => (await answers(`http://${ip}:8080/`)).every((a) => a === 'hello v1'), 30_000, `service web (${ip}:8080) answering v1`);
  });

  it('a blue-green release of a good image switches the Service to it with no failed request', async () => {
    const load = traffic(`http://${ip}:8080/`);
    const r = await run(['release', 'web', '--env', 'staging', '--strategy', 'blue-green', '--image', `web=${images.v2}`, '-o', 'json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    // The traffic goes on until the node's kube-proxy has caught up with the switch: once the blue
    // pods have left the Service's endpoints, every answer is v2.
    await until(async () => endpoints() === readyPodsOf('green') && endpoints().split(' ').length === 2, 20_000, 'the Service\'s endpoints are the two green pods');
    await until(async () => (await answers(`http://${ip}:8080/`)).every((a) => a === 'hello v2'), 20_000, 'every answer through the Service is v2');
    const seen = await load.stop();
    const rec = JSON.parse(r.stdout);
    const svc = rec.services[0];
    console.log(`# blue-green release of v2: ${rec.ms} ms; steps ${svc.steps.map((x: { step: string; ms: number }) => `${x.step}=${x.ms}ms`).join(' ')}; traffic meanwhile ${JSON.stringify(seen)}`);
    assert.equal(rec.strategy, 'blue-green');
    assert.deepEqual(svc.colors, { from: 'blue', to: 'green', fromDeployment: 'web', toDeployment: 'web-green' });
    assert.deepEqual(svc.steps.map((x: { step: string }) => x.step), ['prepare', 'new-side', 'switch', 'retire']);
    const gate = svc.steps[1].gate;
    assert.ok(gate.passed && gate.errors === 0 && gate.requests === 40 && gate.pods.length === 2, JSON.stringify(gate));
    assert.equal(selectorColor(), 'green');
    assert.deepEqual(deployment('web-green'), { image: images.v2, replicas: 2, ready: 2, color: 'green' });
    // Blue is kept as the standby: v1, labelled, at 0 replicas.
    assert.deepEqual({ ...deployment('web'), ready: undefined }, { image: images.v1, replicas: 0, ready: undefined, color: 'blue' });
    assert.ok(seen.total >= 20, JSON.stringify(seen));
    assert.equal(seen.http5xx + seen.connectionErrors + seen.otherStatus, 0, `no request through the Service failed: ${JSON.stringify(seen)}`);
    assert.ok((seen.bodies['hello v1'] ?? 0) > 0 && (seen.bodies['hello v2'] ?? 0) > 0, `v1 served before the switch, v2 after: ${JSON.stringify(seen)}`);
    const after = await answers(`http://${ip}:8080/`);
    assert.deepEqual(after, Array(10).fill('hello v2'), `after the switch v2 answers everything: ${JSON.stringify(after)}`);
  });

  it('a blue-green release of a bad image fails its gate; the Service stays on green and no request fails', async () => {
    const load = traffic(`http://${ip}:8080/`);
    const r = await run(['release', 'web', '--env', 'staging', '--strategy', 'blue-green', '--image', `web=${images.bad}`]);
    const seen = await load.stop();
    const { rec } = latestRecord();
    console.log(`# bad blue-green release: ${r.ms} ms (record ${rec.ms} ms, steps ${rec.services[0].steps.map((x: { step: string; ms: number }) => `${x.step}=${x.ms}ms`).join(' ')}); traffic meanwhile ${JSON.stringify(seen)}`);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /the blue side failed its gate: ([3-6]) of \1 requests to \/ on the canary failed/, r.stderr);
    assert.equal(rec.outcome, 'rolled-back');
    assert.deepEqual(rec.services[0].colors, { from: 'green', to: 'blue', fromDeployment: 'web-green', toDeployment: 'web' });
    assert.equal(rec.services[0].previousImage, images.v2);
    assert.equal(selectorColor(), 'green', 'the selector is unchanged');
    assert.deepEqual(deployment('web-green'), { image: images.v2, replicas: 2, ready: 2, color: 'green' });
    // The standby is put back as it was, so a rollback can still scale it up.
    assert.deepEqual({ ...deployment('web'), ready: undefined }, { image: images.v1, replicas: 0, ready: undefined, color: 'blue' });
    assert.ok(seen.total >= 20, JSON.stringify(seen));
    assert.equal(seen.http5xx + seen.connectionErrors + seen.otherStatus, 0, `no request through the Service reached the bad side: ${JSON.stringify(seen)}`);
    assert.deepEqual(Object.keys(seen.bodies), ['hello v2'], JSON.stringify(seen));
  });

  it('a rolling release of a Service that selects by color is refused and changes nothing', async () => {
    const r = await run(['release', 'web', '--env', 'staging', '--image', `web=${images.v1}`]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /Service web in \S+ selects by devloop\.dev\/release-color \(released blue-green before\): a rolling release would take its pods out of it; nothing was changed/, r.stderr);
    assert.equal(selectorColor(), 'green');
    assert.equal(deployment('web').replicas, 0);
  });

  it('rollback after a good blue-green release scales the old side up and switches back', async () => {
    const load = traffic(`http://${ip}:8080/`);
    const r = await run(['release', 'rollback', 'web', '--env', 'staging', '-o', 'json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await until(async () => endpoints() === readyPodsOf('blue') && endpoints().split(' ').length === 2, 20_000, 'the Service\'s endpoints are the two blue pods');
    await until(async () => (await answers(`http://${ip}:8080/`)).every((a) => a === 'hello v1'), 20_000, 'every answer through the Service is v1');
    const seen = await load.stop();
    const rec = JSON.parse(r.stdout);
    console.log(`# blue-green rollback: ${rec.ms} ms; steps ${rec.services[0].steps.map((x: { step: string; ms: number }) => `${x.step}=${x.ms}ms`).join(' ')}; traffic meanwhile ${JSON.stringify(seen)}`);
    const { files } = latestRecord();
    assert.equal(rec.strategy, 'blue-green');
    assert.equal(rec.rollbackOf, files[0].replace(/\.json$/, ''), 'the images of the first (v1) release');
    assert.deepEqual(rec.services[0].colors, { from: 'green', to: 'blue', fromDeployment: 'web-green', toDeployment: 'web' });
    assert.equal(selectorColor(), 'blue');
    assert.deepEqual(deployment('web'), { image: images.v1, replicas: 2, ready: 2, color: 'blue' });
    assert.equal(deployment('web-green').replicas, 0);
    assert.equal(seen.http5xx + seen.connectionErrors + seen.otherStatus, 0, `no request through the Service failed: ${JSON.stringify(seen)}`);
    assert.ok((seen.bodies['hello v1'] ?? 0) > 0 && (seen.bodies['hello v2'] ?? 0) > 0, JSON.stringify(seen));
    const after = await answers(`http://${ip}:8080/`);
    assert.deepEqual(after, Array(10).fill('hello v1'), JSON.stringify(after));
  });

  it('a blue-green release of a service with no Deployment yet installs it as the blue side, the Service selecting blue', async () => {
    const r = await run(['release', 'api', '--env', 'staging', '--strategy', 'blue-green', '--image', `api=${images.v2}`, '-o', 'json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const rec = JSON.parse(r.stdout);
    assert.deepEqual(rec.services[0].colors, { to: 'blue', toDeployment: 'api' });
    assert.deepEqual(rec.services[0].steps.map((x: { step: string }) => x.step), ['rollout']);
    assert.equal(get('service', 'api', '-o', `jsonpath={.spec.selector.${COLOR.replace(/\./g, '\\.')}}`), 'blue');
    assert.deepEqual(deployment('api'), { image: images.v2, replicas: 2, ready: 2, color: 'blue' });
    const apiIp = get('service', 'api', '-o', 'jsonpath={.spec.clusterIP}');
    await until(async () => (await answers(`http://${apiIp}:8080/`)).every((a) => a === 'hello v2'), 30_000, `service api (${apiIp}:8080) answering v2`);
  });
});
