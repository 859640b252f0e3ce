// devloop release against the local test cluster (test/infra/k8s-up.sh) and its registry on
// 127.0.0.1:5001: three images of a tiny HTTP server (busybox httpd) are built and pushed as the
// other k8s suites do (v1 and v2 answer 200 on /, "bad" answers 500 there through a CGI script
// while its TCP readiness probe passes); a dry run changes nothing; a first rolling release
// installs v1; a canary release of v2 completes (Deployment on the v2 digest, no canary left); a
// canary release of "bad" fails its gate and is rolled back (no canary left, stable still v2);
// requests sent to the Service's ClusterIP throughout both canary releases all succeed (a canary
// pod joins the Service only once its gate passed), and show which version answered;
// the records and `release history` show every release with its outcome; `release rollback`
// puts back the images of the successful release before the newest one.
//
// Needs `npm run build` (the CLI runs from dist/; DEVLOOP_CLI points at another build). Without a
// cluster the suite is skipped; DEVLOOP_K8S_REQUIRE=1 (or an explicit KUBECONFIG) makes that a failure.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { until } from './helpers.js';
import { kubeconfig, kubectl, missing, required, scratch } from './k8s-helpers.js';
import { answers, devloop, setUpRelease, tearDownRelease, traffic } from './release-helpers.js';

const image = (ns: string) => kubectl('get', 'deployment', 'web', '-n', ns, '-o', 'jsonpath={.spec.template.spec.containers[0].image}');
const canaryExists = (ns: string) => kubectl('get', 'deployment', 'web-canary', '-n', ns, '--ignore-not-found', '-o', 'name') !== '';

describe('devloop release against the local test cluster', { skip: missing && !required ? missing : false, timeout: 240_000 }, () => {
  const s = scratch('devloop-rel');
  const repo = `127.0.0.1:5001/devloop-release-${s.ns}`;
  let images: Record<'v1' | 'v2' | 'bad', string>;
  let dir = '';
  const run = (args: string[]) => devloop(args, dir, s.env);

  before(() => {
    ({ dir, images } = setUpRelease(s, repo, `import { defineDevfile } from 'devloop';
export default defineDevfile({
  name: 'relweb',
  simulation: { autopilot: { bursting: true } },
  environments: {
    staging: { kubeContext: 'devloop-local', replicas: 2, resources: { cpu: '50m', memory: '64Mi' } },
    // The same test cluster under a cloud-looking name: devloop must treat it as production.
    prod: { kubeContext: 'gke_proj_zone_prod' },
    prodok: { kubeContext: 'gke_proj_zone_prod', allowKubeContexts: ['gke_proj_zone_prod'] },
  },
  services: {
    web: { build: { type: 'docker' }, runtime: 'kubernetes', port: 8080, health: { tcp: true, intervalMs: 1000 }, extensions: { 'devloop:autopilot': { namespace: ${JSON.stringify(s.ns)} } } },
  },
});
`));
  });
  after(() => tearDownRelease(s, repo));

  it('--dry-run prints the plan and changes nothing', async () => {
    const r = await run(['release', '--env', 'staging', '--strategy', 'canary', '--steps', '50,100', '--image', `web=${images.v1}`, '--dry-run']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^dry run: release to environment staging, context devloop-local, strategy canary/m, r.stdout);
    assert.match(r.stdout, /objects: Deployment\/web, Service\/web, PodDisruptionBudget\/web, NetworkPolicy\/web/, r.stdout);
    assert.match(r.stdout, /step 50%: 1 canary pod\(s\); gate: canary pods Ready with no restarts; error ratio of 40 requests to \/ <= 0\.05/, r.stdout);
    assert.equal(kubectl('get', 'deployments,services', '-n', s.ns, '-o', 'name'), '', 'nothing applied');
    assert.ok(!existsSync(path.join(dir, '.devloop', 'releases')), 'no record');
  });

  it('a release of a service built from source, with no --image and no registry to push to, says how to give either', async () => {
    const r = await run(['release', '--env', 'staging']);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /environment "staging" names no registry/, r.stderr);
    assert.match(r.stderr, /--image web=REGISTRY\/web@sha256:/, r.stderr);
  });

  it('a non-local context is refused unless the environment allows it, and then needs --yes without a terminal', async () => {
    // A copy of the test kubeconfig with one more context, named as gcloud names GKE contexts.
    const kc = parse(readFileSync(kubeconfig, 'utf8'));
    const base = kc.contexts.find((c: { name: string }) => c.name === 'devloop-local') ?? kc.contexts[0];
    kc.contexts.push({ name: 'gke_proj_zone_prod', context: { ...base.context } });
    const file = path.join(s.tmp(), 'kubeconfig');
    writeFileSync(file, stringify(kc));
    const env = { ...s.env, KUBECONFIG: file };
    const refused = await devloop(['release', '--env', 'prod', '--image', `web=${images.v1}`], dir, env);
    assert.equal(refused.code, 1, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /refusing to release environment prod to kube context "gke_proj_zone_prod"/, refused.stderr);
    assert.match(refused.stderr, /environments: \{ prod: \{ allowKubeContexts: \['gke_proj_zone_prod'\] \} \}/, refused.stderr);
    const unconfirmed = await devloop(['release', '--env', 'prodok', '--image', `web=${images.v1}`], dir, env);
    assert.equal(unconfirmed.code, 2, unconfirmed.stdout + unconfirmed.stderr);
    assert.match(unconfirmed.stderr, /needs a confirmation, and stdin is not a terminal/, unconfirmed.stderr);
    assert.equal(kubectl('get', 'deployments', '-n', s.ns, '-o', 'name'), '', 'nothing applied');
  });

  it('the first release installs stable with a rolling update', async () => {
    const r = await run(['release', '--env', 'staging', '--image', `web=${images.v1}`]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(image(s.ns), images.v1);
    assert.equal(kubectl('get', 'deployment', 'web', '-n', s.ns, '-o', 'jsonpath={.status.readyReplicas}'), '2');
  });

  it('a canary release of a good image completes: stable runs the new digest, the canary is gone', async () => {
    const ip = kubectl('get', 'service', 'web', '-n', s.ns, '-o', 'jsonpath={.spec.clusterIP}');
    // The Service was made by the release before: until kube-proxy has programmed its ClusterIP a
    // connection to it fails (ENETUNREACH) before devloop has done anything.
    await until(async () => (await answers(`http://${ip}:8080/`)).every((a) => a === 'hello v1'), 30_000, `service web (${ip}:8080) answering v1`);
    const load = traffic(`http://${ip}:8080/`);
    const r = await run(['release', '--env', 'staging', '--strategy', 'canary', '--steps', '50,100', '--image', `web=${images.v2}`, '-o', 'json']);
    const seen = await load.stop();
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(image(s.ns), images.v2);
    assert.ok(!canaryExists(s.ns), 'the canary Deployment is deleted');
    const rec = JSON.parse(r.stdout);
    const steps = rec.services[0].steps;
    assert.deepEqual(steps.map((x: { step: unknown }) => x.step), [50, 100, 'promote']);
    assert.deepEqual(steps.slice(0, 2).map((x: { replicas: number }) => x.replicas), [1, 2]);
    assert.ok(steps.slice(0, 2).every((x: { gate: { passed: boolean; errors: number; requests: number } }) => x.gate.passed && x.gate.errors === 0 && x.gate.requests === 40), JSON.stringify(steps));
    // Each step gates only the pod it added (still outside the Service), then admits it.
    const gated = steps.slice(0, 2).map((x: { gate: { pods: string[] } }) => x.gate.pods);
    assert.ok(gated.every((p: string[]) => p.length === 1) && gated[0][0] !== gated[1][0], JSON.stringify(gated));
    console.log(`# canary release of v2: ${rec.ms} ms in all; steps ${steps.map((x: { step: unknown; ms: number; startedAt: string }) => `${x.step}=${x.ms}ms@${x.startedAt.slice(11, 23)}`).join(' ')}; traffic meanwhile ${JSON.stringify(seen)}`);
    // Canary pods reach the Service only after their gate, stable pods leave it as the promotion
    // replaces them: no request through the Service fails at any point.
    assert.ok(seen.total >= 20, JSON.stringify(seen));
    assert.equal(seen.http5xx + seen.connectionErrors + seen.otherStatus, 0, `no request through the Service failed: ${JSON.stringify(seen)}`);
    assert.ok((seen.bodies['hello v1'] ?? 0) > 0 && (seen.bodies['hello v2'] ?? 0) > 0, `v1 served before, v2 during the release: ${JSON.stringify(seen)}`);
    // Old v1 pods still terminating (busybox httpd as PID 1 ignores SIGTERM) can answer for a few
    // seconds more; every answer is a 200 and the new version is among them.
    const after = await answers(`http://${ip}:8080/`);
    assert.ok(after.every((a) => a === 'hello v1' || a === 'hello v2') && after.includes('hello v2'), `after the promotion v2 answers, nothing fails: ${JSON.stringify(after)}`);
  });

  it('a canary release of a bad image fails its gate and is rolled back; stable keeps serving', async () => {
    const ip = kubectl('get', 'service', 'web', '-n', s.ns, '-o', 'jsonpath={.spec.clusterIP}');
    const load = traffic(`http://${ip}:8080/`);
    const r = await run(['release', '--env', 'staging', '--strategy', 'canary', '--steps', '50,100', '--image', `web=${images.bad}`]);
    const seen = await load.stop();
    assert.equal(r.code, 1, r.stdout + r.stderr);
    // The gate stops at the first error past its allowance (2 of 40 at 0.05); 4 requests are in flight at once.
    assert.match(r.stderr, /canary step 50% failed its gate: ([3-6]) of \1 requests to \/ on the canary failed, stopped after \1 of 40: more than --max-error-ratio 0\.05 allows \(2 of 40\)/, r.stderr);
    assert.match(r.stdout, /^web: rolled-back, still 127\.0\.0\.1:5001\/\S+@sha256:/m, r.stdout);
    assert.ok(!canaryExists(s.ns), 'the canary Deployment is deleted');
    assert.equal(image(s.ns), images.v2, 'stable untouched');
    const files = readdirSync(path.join(dir, '.devloop', 'releases')).sort();
    const rec = JSON.parse(readFileSync(path.join(dir, '.devloop', 'releases', files[files.length - 1]), 'utf8'));
    console.log(`# bad canary release: ${r.ms} ms (record ${rec.ms} ms, steps ${JSON.stringify(rec.services[0].steps)}); traffic to the Service meanwhile ${JSON.stringify(seen)}`);
    // The bad canary never passed its gate, so it never joined the Service: only the gate's own
    // requests (straight to the canary pod) failed, every request through the Service was
    // answered by stable v2.
    assert.ok(seen.total >= 20, JSON.stringify(seen));
    assert.equal(seen.http5xx + seen.connectionErrors + seen.otherStatus, 0, `no request through the Service reached the canary: ${JSON.stringify(seen)}`);
    const after = await answers(`http://${ip}:8080/`);
    assert.ok(after.every((a) => a === 'hello v1' || a === 'hello v2'), `after the rollback every request is served by stable: ${JSON.stringify(after)}`);
  });

  it('records every release, and history lists them with their outcomes', async () => {
    const files = readdirSync(path.join(dir, '.devloop', 'releases')).sort();
    assert.equal(files.length, 3, files.join(' '));
    assert.ok(files.every((f) => /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z-staging\.json$/.test(f)), files.join(' '));
    const bad = JSON.parse(readFileSync(path.join(dir, '.devloop', 'releases', files[2]), 'utf8'));
    assert.equal(bad.outcome, 'rolled-back');
    assert.equal(bad.services[0].previousImage, images.v2);
    assert.ok(bad.services[0].steps[0].gate.errors >= 3 && bad.services[0].steps[0].gate.errors === bad.services[0].steps[0].gate.requests, JSON.stringify(bad.services[0].steps[0]));

    const table = await run(['release', 'history', '--env', 'staging']);
    assert.equal(table.code, 0, table.stdout + table.stderr);
    const rows = table.stdout.trim().split('\n');
    assert.match(rows[0], /^RELEASE\s+ENV\s+STRATEGY\s+SERVICES\s+OUTCOME\s+TOOK$/);
    assert.deepEqual(rows.slice(1).map((l) => l.split(/\s+/).slice(2, 5).filter((c) => !c.startsWith('web@')).join(' ')), ['rolling succeeded', 'canary succeeded', 'canary rolled-back'], table.stdout);
    const json = await run(['release', 'history', '-o', 'json']);
    assert.deepEqual(JSON.parse(json.stdout).map((x: { outcome: string }) => x.outcome), ['succeeded', 'succeeded', 'rolled-back']);
    const other = await run(['release', 'history', '--env', 'prod']);
    assert.match(other.stdout, /^no releases of environment prod yet$/m);
  });

  it('rollback re-applies the images of the successful release before the current one', async () => {
    const r = await run(['release', 'rollback', '--env', 'staging']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(image(s.ns), images.v1);
    const files = readdirSync(path.join(dir, '.devloop', 'releases')).sort();
    const rec = JSON.parse(readFileSync(path.join(dir, '.devloop', 'releases', files[3]), 'utf8'));
    assert.equal(rec.rollbackOf, files[0].replace(/\.json$/, ''));
    assert.equal(rec.outcome, 'succeeded');
  });
});
