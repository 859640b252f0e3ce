// `devloop autopilot simulate --cluster` (bin/commands/autopilot-cluster.ts) against the local test
// cluster: the fixture's two Deployments (12 general-purpose pods, 4 Spot pods) are admitted by
// devloop's webhook in `simulate` mode and placed on kwok nodes the provisioner makes; the
// privileged Pod is refused with Warden's text. Once everything runs it prints the report and
// removes what it applied, its namespace and the nodes.
//
// Needs `npm run build` (the CLI runs from dist/).
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { copyFixture, runCli } from './helpers.js';
import { kubeconfig, kubectl, missing, required } from './k8s-helpers.js';

describe('devloop autopilot simulate --cluster (fixture autopilot-cluster)', { skip: missing && !required ? missing : false, timeout: 150_000 }, () => {
  let dir = '';
  before(() => { if (missing) throw new Error(missing); dir = copyFixture('autopilot-cluster'); });
  after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  it('places every pod on Autopilot kwok nodes, refuses the privileged pod, and leaves nothing behind', async () => {
    const r = await runCli(['autopilot', 'simulate', '--cluster', 'app.yaml', '--output', 'json'], { cwd: dir, env: { KUBECONFIG: kubeconfig }, timeoutMs: 120_000 });
    assert.equal(r.code, 1, `a refused object makes exit 1\n${r.stderr}`);
    const report = JSON.parse(r.stdout);
    assert.equal(report.context, 'devloop-local');
    assert.equal(report.settled, true, r.stdout);
    assert.deepEqual(report.pods, { expected: 16, total: 16, running: 16, pending: 0, unschedulable: 0 });
    const spot = report.nodes.filter((n: { spot: boolean }) => n.spot);
    assert.ok(spot.length >= 1 && spot.every((n: { pods: number }) => n.pods > 0), JSON.stringify(report.nodes));
    assert.equal(report.nodes.reduce((n: number, x: { pods: number }) => n + x.pods, 0), 16, 'every pod is on a node the provisioner made');
    for (const n of report.nodes) assert.match(n.machineType, /^e2-standard-\d+$/);
    assert.ok(report.usdPerHour > 0);
    assert.equal(report.denied.length, 1);
    assert.match(report.denied[0].object, /^Pod devloop-sim-[0-9a-f]{6}\/priv$/);
    assert.match(report.denied[0].message, /GKE Warden rejected the request because it violates one or more constraints\.\nViolations details: \{"\[denied by autogke-disallow-privilege\]":\["container c is privileged; not allowed in Autopilot"\]\}/);
    assert.ok(report.controller.cpuS > 0 && report.controller.maxRssMiB > 0);

    const ns = report.namespaces[0] as string;
    assert.equal(kubectl('get', 'namespace', ns, '--ignore-not-found', '-o', 'jsonpath={.status.phase}').replace('Terminating', ''), '', `namespace ${ns} deleted or terminating`);
    for (const n of report.nodes) assert.equal(kubectl('get', 'node', n.name, '--ignore-not-found', '-o', 'name'), '', `${n.name} removed`);
  });

  it('refuses a broken manifest with its file:line before touching the cluster (exit 2)', async () => {
    const r = await runCli(['autopilot', 'simulate', '--cluster', '-'], { cwd: dir, env: { KUBECONFIG: kubeconfig }, input: 'apiVersion: v1\nkind: Pod\nmetadata: {name: x\n', timeoutMs: 30_000 });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^error: <stdin>:4:1: Flow map/m);
    assert.doesNotMatch(r.stdout, /simulating GKE Autopilot/);
  });
});
