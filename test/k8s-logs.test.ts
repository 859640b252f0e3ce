// devloop:kubernetes pod logs through the real CLI against the local test cluster
// (test/infra/k8s-up.sh): a Deployment whose container prints a counter (version, pod name, n)
// every second. Its lines reach the service log prefixed with the short pod name; after
// `kubectl delete pod` the replacement pod's lines follow; after an edit rolls out a new image the
// new pod's lines follow, and no line is shown twice across the hand-over between deployments.
//
// Needs `npm run build` (the CLI runs from dist/). Without a cluster the suite is skipped, as
// test/k8s-deploy.test.ts is; DEVLOOP_K8S_REQUIRE=1 (or an explicit KUBECONFIG) makes that a failure.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyFixture, docker, ensureDockerInfra, startCli, until, within, type RunningCli } from './helpers.js';
import { kubeconfig, kubectl, missing, required } from './k8s-helpers.js';


/** One counter line as the service log shows it: "[<short pod>] tick <version> <pod> <n>". */
const TICK = /^\[([a-z0-9-]+)\] tick (v\d+) (ticker-[a-z0-9-]+) (\d+)$/;

/** `devloop up SERVICE --output json` of the k8s-logs fixture in a namespace of its own; all removed by `close`. */
function session(service: string) {
  const ns = `devloop-t-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
  const s = {
    dir: '',
    up: undefined as RunningCli | undefined,
    start() {
      kubectl('create', 'namespace', ns);
      s.dir = copyFixture('k8s-logs');
      s.up = startCli(['up', service, '--output', 'json'], { cwd: s.dir, env: { KUBECONFIG: kubeconfig, DEVLOOP_TEST_NS: ns } });
    },
    /** The service's own output lines, as the service log shows them. */
    output: () => (s.up?.events ?? []).filter((e) => e.type === 'log' && e.line?.service === service && e.line.level === 'output').map((e) => e.line.message as string),
    async close() {
      if (s.up) {
        s.up.child.kill('SIGINT');
        await within(s.up.exited, 30_000, 'devloop up to exit').catch(() => s.up!.child.kill('SIGKILL'));
      }
      try { kubectl('delete', 'namespace', ns, '--ignore-not-found', '--wait=false'); } catch { /* best effort */ }
      if (s.dir) {
        const tag = path.basename(s.dir).toLowerCase();
        const images = docker('images', '--format', '{{.Repository}}:{{.Tag}}').split('\n').filter((i) => i.includes(`devloop-${tag}-`));
        if (images.length) try { docker('rmi', '-f', ...images); } catch { /* in use elsewhere */ }
        rmSync(s.dir, { recursive: true, force: true });
      }
    },
    ns,
  };
  return s;
}

describe('devloop:kubernetes pod logs', { skip: missing && !required ? missing : false, timeout: 150_000 }, () => {
  before(() => {
    if (missing) throw new Error(missing);
    ensureDockerInfra(() => { execFileSync('curl', ['-sf', 'http://127.0.0.1:5001/v2/']); });
  });

  describe('a counter, across a deleted pod and a rollout', () => {
    const s = session('ticker');
    before(() => s.start());
    after(() => s.close());
    const ticks = () => s.output().filter((m) => TICK.test(m));
    const tickFrom = (pred: (m: RegExpExecArray) => boolean, what: string, timeoutMs = 60_000) =>
      s.up!.waitFor((e) => e.type === 'log' && e.line?.service === 'ticker' && e.line.level === 'output' && (() => { const m = TICK.exec(e.line.message); return !!m && pred(m); })(), timeoutMs, what)
        .then((e) => TICK.exec(e.line.message as string)!);
    let firstPod = '';

    it('shows the pod\'s lines in the service log, prefixed with the short pod name', async () => {
      const m = await tickFrom(() => true, 'a line of the ticker pod', 90_000);
      firstPod = m[3];
      assert.equal(m[2], 'v1');
      assert.ok(firstPod.endsWith(m[1]), `the prefix [${m[1]}] is the end of the pod name ${firstPod}`);
      assert.ok(m[1].length < firstPod.length, 'and shorter than it');
    });

    it('follows the new pod after `kubectl delete pod`', async () => {
      assert.ok(firstPod, 'the first test saw a pod');
      kubectl('delete', 'pod', firstPod, '-n', s.ns, '--wait=false');
      const m = await tickFrom((t) => t[3] !== firstPod && t[2] === 'v1', 'a line of the replacement pod');
      // The replacement is followed from its start.
      await tickFrom((t) => t[3] === m[3] && Number(t[4]) >= 3, 'the replacement pod counting on');
    });

    it('follows the new pod of a rollout, and shows no line twice', async () => {
      writeFileSync(path.join(s.dir, 'version'), 'v2\n');
      const m = await tickFrom((t) => t[2] === 'v2', 'a line of the rolled-out pod', 90_000);
      await tickFrom((t) => t[3] === m[3] && Number(t[4]) >= Number(m[4]) + 3, 'the rolled-out pod counting on');
      const lines = ticks();
      // Only the container's lines: nothing of the kubelet's ("unable to retrieve container logs") under a pod's name.
      const others = (s.up?.events ?? []).filter((e) => e.type === 'log' && e.line?.service === 'ticker' && /^\[[a-z0-9-]+\] /.test(e.line.message) && !TICK.test(e.line.message));
      assert.deepEqual(others.map((e) => e.line.message), [], 'only the pods\' own lines carry a pod prefix');
      const seen = new Set<string>();
      const twice = lines.filter((l) => (seen.has(l) ? true : (seen.add(l), false)));
      assert.deepEqual(twice, [], `no line twice; all lines:\n${lines.join('\n')}`);
      // And none left out: each pod's counter has no gap from the first line seen to the last.
      const byPod = new Map<string, number[]>();
      for (const l of lines) { const t = TICK.exec(l)!; byPod.set(t[3], [...(byPod.get(t[3]) ?? []), Number(t[4])]); }
      for (const [pod, counts] of byPod) {
        for (let i = 1; i < counts.length; i++) assert.equal(counts[i], counts[i - 1] + 1, `${pod}: ${counts.join(',')}`);
      }
    });
  });

  describe('a crash-looping container', () => {
    const s = session('crasher');
    before(() => s.start());
    after(() => s.close());

    it('shows the lines of each crashed run once, though each ends before its log can be followed', async () => {
      const runs = () => {
        const lines = s.output().filter((m) => /^\[[a-z0-9-]+\] crash-run \d+ [12]$/.test(m));
        return { lines, ids: [...new Set(lines.map((l) => l.split(' ')[2]))] };
      };
      // The kubelet restarts it at once, then after 10 s of back-off: three runs within ~20 s.
      await until(() => runs().ids.length >= 2 || undefined, 60_000, 'two crashed runs in the log');
      const { lines, ids } = runs();
      for (const id of ids) {
        const of = lines.filter((l) => l.split(' ')[2] === id).map((l) => l.replace(/^\[[a-z0-9-]+\] /, ''));
        assert.deepEqual(of, [`crash-run ${id} 1`, `crash-run ${id} 2`], `run ${id}: each line once, in order; all:\n${lines.join('\n')}`);
      }
    });
  });
});
