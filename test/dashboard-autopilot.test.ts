/**
 * The dashboard's Autopilot view against the real test cluster (fixture k8s-provision: a Spot
 * Deployment that no node can hold, so devloop's Autopilot node provisioner makes a kwok Spot
 * node for it): the page shows the pod running on that node, what admission changed and why, and
 * the Spot price, as the TUI's details view and `devloop status` do. In a real Chromium.
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { launchBrowser, type DashboardBrowser } from './browser.js';
import { copyFixture, repoRoot, runCli, startCli, until, type RunningCli } from './helpers.js';
import { kubeconfig, kubectl, missing, required } from './k8s-helpers.js';

const SHOTS = path.join(repoRoot, 'test-results', 'dashboard');

/**
 * One `devloop up` of `fixture` in a namespace of its own, and a browser: made in `before`,
 * stopped and removed in `after` (even when a test fails).
 */
function clusterSession(fixture: string, prefix: string) {
  const ns = `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
  const s = { env: { KUBECONFIG: kubeconfig, DEVLOOP_TEST_NS: ns }, dir: '', up: undefined as RunningCli | undefined, browser: undefined as DashboardBrowser | undefined };
  before(() => {
    if (missing) throw new Error(missing);
    kubectl('create', 'namespace', ns);
    s.dir = copyFixture(fixture);
    mkdirSync(SHOTS, { recursive: true });
  });
  after(async () => {
    await s.browser?.close();
    const up = s.up;
    if (up && up.child.exitCode === null) {
      up.child.kill('SIGINT');
      const done = await Promise.race([up.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 60_000))]);
      if (!done) { up.child.kill('SIGKILL'); await runCli(['down'], { cwd: s.dir, env: s.env, timeoutMs: 60_000 }).catch(() => undefined); }
    }
    try { kubectl('delete', 'namespace', ns, '--ignore-not-found', '--wait=false'); } catch { /* best effort */ }
    if (s.dir) rmSync(s.dir, { recursive: true, force: true });
  });
  return s;
}

/** The session's dashboard URL, from `devloop status -o json`. */
async function dashboardUrl(s: ReturnType<typeof clusterSession>): Promise<string> {
  return until(async () => {
    const r = await runCli(['status', '-o', 'json'], { cwd: s.dir, env: s.env, timeoutMs: 20_000 });
    return JSON.parse(r.stdout).dashboard as string | null;
  }, 20_000, 'the dashboard URL');
}

describe('the dashboard\'s Autopilot view on the test cluster', { skip: missing && !required ? missing : false, timeout: 180_000 }, () => {
  const s = clusterSession('k8s-provision', 'devloop-dashap');

  it('shows the provisioned Spot node, the admitted resources with the reason, and the price', async () => {
    const up = s.up = startCli(['up', '--output', 'json'], { cwd: s.dir, env: s.env });
    await up.waitFor((e) => e.type === 'service/health' && e.service === 'batch' && e.health === 'healthy', 90_000, 'batch healthy');
    const extra = await up.waitFor((e) => e.type === 'service/extra' && e.service === 'batch' && e.plugin === 'devloop:autopilot' && e.data.nodes?.length === 1, 30_000, 'the node batch runs on');
    const node = extra.data.nodes[0] as string;
    const url = await dashboardUrl(s);

    s.browser = await launchBrowser();
    const { page, problems } = await s.browser.open(`${url}#service=batch`, { width: 1400, height: 1000 });
    const section = await until(async () => {
      const t = await page.$eval('#autopilot', (el) => el.textContent ?? '').catch(() => '');
      return t.includes(node) ? t : undefined;
    }, 20_000, `#autopilot naming ${node}`);
    assert.match(section, /pods\s*1\/1 running/);
    assert.match(section, new RegExp(`nodes: ${node}`));
    // What the webhook added, with the reason from the admission engine (as autopilot-provisioner.test.ts checks in the store).
    assert.match(section, /admitted c cpu=250m memory=512Mi ephemeral-storage=1Gi/);
    assert.match(section, /adjusted: c requests\.ephemeral-storage unset → 1Gi/);
    assert.match(section, new RegExp(`pod batch-[a-z0-9-]+ on ${node} \\([^)]*Spot\\) · \\$`));
    const cost = /cost\s*\$([0-9.]+)\/h/.exec(section);
    assert.ok(cost && Number(cost[1]) > 0, section);
    assert.match(await page.$eval('header', (el) => el.textContent ?? ''), new RegExp(`\\$${cost[1].replace('.', '\\.')}/h`), 'the header sums it');
    await page.$eval('#autopilot', (el) => el.scrollIntoView());
    await page.screenshot({ path: path.join(SHOTS, 'autopilot-cluster.png') });
    assert.deepEqual(problems.all(), []);
  });
});

// `run` mode (fixture k8s-autopilot-run: a Docker-built Spot worker): the pod runs on the
// cluster's own node and the Spot node GKE would make is planned, not made: the page's
// "node plan (GKE)" line names it.
describe('the dashboard\'s Autopilot node plan on the test cluster (run mode)', { skip: missing && !required ? missing : false, timeout: 240_000 }, () => {
  const s = clusterSession('k8s-autopilot-run', 'devloop-dashrun');

  it('shows the pod on the cluster\'s node and the Spot node GKE would run it on', async () => {
    const up = s.up = startCli(['up', '--output', 'json'], { cwd: s.dir, env: s.env });
    await up.waitFor((e) => e.type === 'service/health' && e.service === 'worker' && e.health === 'healthy', 120_000, 'worker healthy');
    const extra = await up.waitFor((e) => e.type === 'service/extra' && e.service === 'worker' && e.plugin === 'devloop:autopilot' && e.data.plannedNodes?.length === 1 && e.data.running === 1, 30_000, 'the planned node');
    const planned = extra.data.plannedNodes[0] as string;
    const url = await dashboardUrl(s);
    s.browser = await launchBrowser();
    const { page, problems } = await s.browser.open(`${url}#service=worker`, { width: 1400, height: 1000 });
    const section = await until(async () => {
      const t = await page.$eval('#autopilot', (el) => el.textContent ?? '').catch(() => '');
      return t.includes(planned) ? t : undefined;
    }, 20_000, `#autopilot naming ${planned}`);
    assert.match(section, new RegExp(`node plan \\(GKE\\): ${planned}`));
    assert.match(section, new RegExp(`on GKE: ${planned} \\([^)]*Spot`), 'the pod line says where GKE would run it');
    assert.match(section, /admitted \S+ cpu=250m memory=512Mi/);
    await page.$eval('#autopilot', (el) => el.scrollIntoView());
    await page.screenshot({ path: path.join(SHOTS, 'autopilot-node-plan.png') });
    assert.deepEqual(problems.all(), []);
  });
});
