// devloop:kubernetes live update through the real CLI against the local test cluster
// (test/infra/k8s-up.sh), with the k8s-liveupdate fixture: web, busybox httpd serving /www, with
// web/www/ synced into the pod, web/build.txt not, web/ro/ synced into /proc, which refuses it;
// bare, the same server in an image without sh and tar; node, a server that reads its message
// at startup, synced and restarted in place.
// - an edit under www/ is served through the port-forward from the same pod and the same image
//   (copied in through exec + tar), and so is a new file and its deletion;
// - a copy the pod refuses falls back to a rebuild and a rollout, saying why;
// - an edit outside the sync rules rebuilds and rolls out a new pod, saying why;
// - a pod replaced after a live update (kubectl delete pod) comes up from the last built image,
//   without the live-updated file: devloop rebuilds, and the new image serves the edit;
// - an image without tar falls back to a rebuild, saying what the image lacks;
// - a `restart` step restarts the process inside the pod (same pod, same image, new process).
//
// Needs `npm run build` (the CLI runs from dist/). Without a cluster the suite is skipped, as
// test/k8s-deploy.test.ts is; DEVLOOP_K8S_REQUIRE=1 (or an explicit KUBECONFIG) makes that a failure.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyFixture, docker, ensureDockerInfra, httpGet, startCli, until, within, type RunningCli } from './helpers.js';
import { kubeconfig, kubectl, missing, required } from './k8s-helpers.js';

/** The body at `url`, or undefined while it does not answer 200. */
const bodyAt = (url: string) => httpGet(url).then((r) => (r.status === 200 ? r.body.trim() : undefined), () => undefined);

describe('devloop:kubernetes live update', { skip: missing && !required ? missing : false, timeout: 240_000 }, () => {
  const ns = `devloop-t-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
  let dir = '';
  let up: RunningCli | undefined;
  let url = '';
  let bareUrl = '';
  let nodeUrl = '';

  /** The service's pods (not being deleted): name and image, by name. */
  const podsWithImages = (app = 'web') => (JSON.parse(kubectl('get', 'pods', '-n', ns, '-l', `app=${app}`, '-o', 'json')).items as { metadata: { name: string; deletionTimestamp?: string }; spec: { containers: { image: string }[] } }[])
    .filter((p) => !p.metadata.deletionTimestamp).map((p) => ({ name: p.metadata.name, image: p.spec.containers[0].image })).sort((a, b) => a.name.localeCompare(b.name));
  const pods = (app = 'web') => podsWithImages(app).map((p) => p.name);
  const image = (app = 'web') => kubectl('get', 'deployment', app, '-n', ns, '-o', 'jsonpath={.spec.template.spec.containers[0].image}');
  const messages = () => (up?.events ?? []).filter((e) => e.type === 'log' && e.line?.service === 'web').map((e) => e.line.message as string);
  /** A rebuild for `file` finished (the engine only live-updates a settled service: the next edit waits for it). */
  const rebuilt = (file: string, service = 'web') => up!.waitFor((e) => e.type === 'update/finished' && e.service === service && !e.update.live && e.update.trigger.files.includes(file), 60_000, `the rebuild for ${file}`);
  const logged = (re: RegExp, what: string, service = 'web') => up!.waitFor((e) => e.type === 'log' && e.line?.service === service && re.test(e.line.message), 60_000, what);
  /** Waits until the only pod left is a new one running the deployment's image (the rollout done) and returns it. */
  const settledPod = (not: string[], app = 'web') => until(() => {
    const p = podsWithImages(app);
    return p.length === 1 && !not.includes(p[0].name) && p[0].image === image(app) ? p[0].name : undefined;
  }, 60_000, 'the rollout to settle on one new pod');

  before(async () => {
    if (missing) throw new Error(missing);
    ensureDockerInfra(() => { execFileSync('curl', ['-sf', 'http://127.0.0.1:5001/v2/']); });
    kubectl('create', 'namespace', ns);
    dir = copyFixture('k8s-liveupdate');
    up = startCli(['up', '--output', 'json'], { cwd: dir, env: { KUBECONFIG: kubeconfig, DEVLOOP_TEST_NS: ns } });
    for (const service of ['web', 'bare', 'node']) {
      await up.waitFor((e) => e.type === 'service/health' && e.service === service && e.health === 'healthy', 120_000, `${service} healthy`);
      const deployed = await up.waitFor((e) => e.type === 'deploy/finished' && e.service === service, 1_000, 'deploy/finished');
      const endpoint = deployed.endpoints?.[0]?.url as string;
      assert.match(endpoint, /^http:\/\/127\.0\.0\.1:\d+$/, `endpoint: ${JSON.stringify(deployed.endpoints)}`);
      if (service === 'web') url = endpoint;
      else if (service === 'bare') bareUrl = endpoint;
      else nodeUrl = endpoint;
    }
  });

  after(async () => {
    if (up) {
      up.child.kill('SIGINT');
      await within(up.exited, 30_000, 'devloop up to exit').catch(() => up!.child.kill('SIGKILL'));
    }
    try { kubectl('delete', 'namespace', ns, '--ignore-not-found', '--wait=false'); } catch { /* best effort */ }
    if (dir) {
      const tag = path.basename(dir).toLowerCase();
      const images = docker('images', '--format', '{{.Repository}}:{{.Tag}}').split('\n').filter((i) => i.includes(`devloop-${tag}-`));
      if (images.length) try { docker('rmi', '-f', ...images); } catch { /* in use elsewhere */ }
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('syncs an edit, a new file and its deletion into the running pod: same pod, same image', async () => {
    assert.equal(await bodyAt(`${url}/index.html`), 'hello v1');
    const [pod] = pods();
    const image1 = image();
    assert.ok(pod, 'one pod');

    writeFileSync(path.join(dir, 'web', 'www', 'index.html'), 'hello v2\n');
    await until(() => bodyAt(`${url}/index.html`).then((b) => b === 'hello v2' || undefined), 30_000, 'the edit served through the port-forward');
    writeFileSync(path.join(dir, 'web', 'www', 'new.txt'), 'new file\n');
    await until(() => bodyAt(`${url}/new.txt`).then((b) => b === 'new file' || undefined), 30_000, 'the new file served');
    unlinkSync(path.join(dir, 'web', 'www', 'new.txt'));
    await until(() => httpGet(`${url}/new.txt`).then((r) => r.status === 404 || undefined, () => undefined), 30_000, 'the deleted file gone');

    assert.deepEqual(pods(), [pod], 'the same pod served every change');
    assert.equal(image(), image1, 'no new image was rolled out');
    // The 404 can be seen before the log line that follows the exec reaches this process.
    await until(() => messages().some((m) => /^live update: synced 0 files, deleted 1 in 1 pod/.test(m)) || undefined, 10_000, `the deletion logged:\n${messages().join('\n')}`);
    const log = messages();
    assert.ok(log.some((m) => /^live update: synced 1 file in 1 pod in \d/.test(m)), `the sync was logged:\n${log.join('\n')}`);
    assert.ok(!log.some((m) => /rebuilding/.test(m)), `nothing fell back to a rebuild:\n${log.join('\n')}`);
  });

  it('falls back to a rebuild and a rollout when the pod refuses the copy, saying why', async () => {
    const [pod] = pods();
    const image1 = image();
    writeFileSync(path.join(dir, 'web', 'ro', 'data.txt'), 'ro 2\n');
    const e = await logged(/^live update failed \(copying into pod /, 'the failed live update');
    assert.match(e.line.message, new RegExp(`^live update failed \\(copying into pod ${pod} failed with exit code \\d+ \\(output: .*proc/devloop-ro.*\\)\\); rebuilding$`));
    await rebuilt('web/ro/data.txt');
    assert.notEqual(image(), image1, 'a new image was rolled out');
    await settledPod([pod]);
    // The rebuilt image holds what was live-updated before.
    assert.equal(await until(() => bodyAt(`${url}/index.html`), 30_000, 'served'), 'hello v2');
  });

  it('rebuilds and rolls out a new pod for an edit outside the sync rules, saying why', async () => {
    const [pod] = pods();
    const image1 = image();
    writeFileSync(path.join(dir, 'web', 'build.txt'), 'build 2\n');
    await logged(/^live update does not apply \(web\/build\.txt is not covered by any sync rule\); rebuilding$/, 'the reason for the rebuild');
    await rebuilt('web/build.txt');
    await until(() => bodyAt(`${url}/build.txt`).then((b) => b === 'build 2' || undefined), 60_000, 'the rebuilt image served');
    assert.notEqual(image(), image1, 'a new image was rolled out');
    await settledPod([pod]);
  });

  it('a pod replaced after a live update triggers a rebuild: the new pod runs an image with the edit', async () => {
    const [pod] = pods();
    const image1 = image();
    writeFileSync(path.join(dir, 'web', 'www', 'index.html'), 'hello v3\n');
    await until(() => bodyAt(`${url}/index.html`).then((b) => b === 'hello v3' || undefined), 30_000, 'the edit live-updated');
    assert.equal(image(), image1, 'live-updated, not rebuilt');

    // The replacement starts from image1, which still has "hello v2".
    kubectl('delete', 'pod', pod, '-n', ns, '--wait=false');
    await logged(/^pod [a-z0-9-]+ came up from the last built image, without the live-updated web\/www\/index\.html; rebuilding so that every pod runs them$/, 'the replaced pod noticed');
    await until(() => image() !== image1 || undefined, 60_000, 'a rebuilt image rolled out');
    const now = await settledPod([pod]);
    await until(() => bodyAt(`${url}/index.html`).then((b) => b === 'hello v3' || undefined), 30_000, 'the new pod serves the edit');
    const served = kubectl('exec', now, '-n', ns, '--', 'cat', '/www/index.html');
    assert.equal(served, 'hello v3', 'the file is in the pod that now runs the rebuilt image');
  });

  it('falls back to a rebuild when the image has no tar, saying what it lacks', async () => {
    const [pod] = pods('bare');
    const image1 = image('bare');
    assert.equal(await bodyAt(`${bareUrl}/index.html`), 'bare v1');
    writeFileSync(path.join(dir, 'bare', 'www', 'index.html'), 'bare v2\n');
    const e = await logged(/^live update failed \(copying into pod /, 'the failed live update', 'bare');
    assert.equal(e.line.message, `live update failed (copying into pod ${pod}: the container has no \`sh\` (live update into pods copies files with sh and tar, as kubectl cp does; add them to the image, e.g. FROM a busybox- or debian-based image)); rebuilding`);
    await rebuilt('bare/www/index.html', 'bare');
    assert.notEqual(image('bare'), image1, 'a new image was rolled out');
    await settledPod([pod], 'bare');
    await until(() => bodyAt(`${bareUrl}/index.html`).then((b) => b === 'bare v2' || undefined), 30_000, 'the rebuilt image served');
  });

  it('restarts the process inside the pod for a restart step: same pod, same image, new process with the synced file', async () => {
    const [pod] = pods('node');
    const image1 = image('node');
    const before = await until(() => bodyAt(nodeUrl), 30_000, 'node answers');
    assert.match(before, /^node v1 pid \d+$/);
    writeFileSync(path.join(dir, 'node', 'src', 'message.txt'), 'node v2\n');
    const after = await until(() => bodyAt(nodeUrl).then((b) => (b?.startsWith('node v2 ') ? b : undefined)), 30_000, 'the restarted process serves the synced message');
    assert.notEqual(after.split(' pid ')[1], before.split(' pid ')[1], 'a new process');
    assert.deepEqual(pods('node'), [pod], 'the same pod');
    assert.equal(image('node'), image1, 'no new image');
    assert.equal(kubectl('get', 'pod', pod, '-n', ns, '-o', 'jsonpath={.status.containerStatuses[0].restartCount}'), '0', 'the container was not restarted (the synced file would be lost)');
    await logged(/^live update: synced 1 file, restarted the process in 1 pod in \d/, 'the restart logged', 'node');
    await logged(/^update #\d+ done in \d+\.\d\d s \(live update: sync \d+\.\d\d s, restart \d+\.\d\d s\) after node\/src\/message\.txt changed$/, 'the update summary', 'node');
    assert.ok(!up!.events.some((e) => e.type === 'log' && e.line?.service === 'node' && e.line.message.includes('@devloop:')), 'the supervisor marker stays out of the service log');
  });
});
