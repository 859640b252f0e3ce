// Docker-side hardening (issue 9, items 7, 12, 14, 18 and the lost-daemon hint) against the real
// daemon: a socket proxy the test cuts, `docker kill` on the real socket, containers of other
// services knocking on the metadata server, images removed under a running session, OOM kills.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DevfileConfig, ServiceConfig } from '../core/devfile/types.js';
import { Engine } from '../core/engine/engine.js';
import type { DevloopPlugin } from '../core/plugins/types.js';
import { cloudRunPlugin } from '../plugins/cloud-run/index.js';
import { LABEL_REVISION } from '../plugins/cloud-run/instances.js';
import { dockerPlugin, LABEL_PROJECT, projectId, type DockerPluginOptions } from '../plugins/docker/index.js';
import { processPlugin } from '../plugins/local-process/index.js';
import { registryPlugin } from '../plugins/registry/index.js';
import { copyFixture, docker, ensureDockerInfra, until, httpGet } from './helpers.js';

/** Projects here are `dhtest-*`: other suites remove their own prefixes' images when they end. */
const PREFIX = 'dhtest';
/** Containers this file starts by hand carry this label, so `after` can find them. */
const TEST_LABEL = 'dev.devloop.test=docker-hardening';


/**
 * `docker ...` that may fail: its exit code and output, never a throw. Asynchronous: a container
 * asking devloop's servers (in this process) must not wait on a blocked event loop.
 */
function dockerTry(...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('docker', args, { encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, out: `${stdout ?? ''}${stderr ?? ''}` });
    });
  });
}


function tcpOpen(host: string, port: number, timeoutMs = 2_000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok: boolean) => { s.destroy(); resolve(ok); };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Rejects after `ms` with what was being waited for: no await here can hang a test. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms); }),
  ]);
}

/**
 * A unix socket in front of the real daemon that the test can cut: every piped connection
 * destroyed at once (what a dockerd restart or a dropped SSH tunnel does to a client), new ones
 * refused for a moment, then accepted again.
 */
async function socketProxy(target = '/var/run/docker.sock') {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dh-sock-'));
  const sock = path.join(dir, 'docker.sock');
  const pairs = new Set<net.Socket>();
  let refusing = false;
  const server = net.createServer((client) => {
    if (refusing) { client.destroy(); return; }
    const up = net.connect(target);
    pairs.add(client);
    pairs.add(up);
    const end = () => { client.destroy(); up.destroy(); pairs.delete(client); pairs.delete(up); };
    client.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
    client.pipe(up);
    up.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(sock, resolve));
  return {
    sock,
    get open() { return pairs.size / 2; },
    async sever(refuseMs: number) {
      refusing = true;
      for (const s of [...pairs]) s.destroy();
      await new Promise((r) => setTimeout(r, refuseMs));
      refusing = false;
    },
    /** The daemon is gone for good: the socket file goes too. */
    close() {
      for (const s of [...pairs]) s.destroy();
      return new Promise<void>((resolve) => server.close(() => { rmSync(dir, { recursive: true, force: true }); resolve(); }));
    },
  };
}

function tempRoot(): string {
  return realpathSync(mkdtempSync(path.join(os.tmpdir(), `${PREFIX}-`)));
}

function projectContainers(root: string, all = true): string[] {
  const out = docker('ps', ...(all ? ['-a'] : []), '-q', '--filter', `label=${LABEL_PROJECT}=${projectId(root)}`);
  return out ? out.split('\n') : [];
}

function logText(engine: Engine, service = 'web'): string {
  return engine.getState().services[service].logTail.map((l) => l.message).join('\n');
}

const engines: Engine[] = [];
const roots: string[] = [];

async function started(root: string, devfile: DevfileConfig, plugins: DevloopPlugin[]): Promise<Engine> {
  roots.push(root);
  const engine = new Engine({ root, devfile, plugins });
  engines.push(engine);
  await within(engine.start().then(() => engine.idle()), 120_000, 'the first deploy');
  return engine;
}

function dockerOnly(options: DockerPluginOptions = {}): DevloopPlugin[] {
  return [dockerPlugin(options), registryPlugin()];
}

before(() => ensureDockerInfra());

after(async () => {
  await Promise.all(engines.map((e) => within(e.stop(), 30_000, 'engine stop').catch(() => {})));
  const leftovers = docker('ps', '-aq', '--filter', `label=${TEST_LABEL}`);
  if (leftovers) await dockerTry('rm', '-f', ...leftovers.split('\n'));
  for (const r of roots) {
    const ids = projectContainers(r);
    if (ids.length) await dockerTry('rm', '-f', ...ids);
    rmSync(r, { recursive: true, force: true });
  }
  const images = docker('images', '--format', '{{.Repository}}:{{.Tag}}').split('\n').filter((i) => i.startsWith(`devloop-${PREFIX}-`));
  if (images.length) await dockerTry('rmi', '-f', ...images);
});

describe('docker hardening', () => {
  it('keeps supervising a container after the daemon connection drops, and stops within its grace (item 7)', { timeout: 90_000 }, async () => {
    const proxy = await socketProxy();
    try {
      const root = tempRoot();
      const stopTimeoutS = 2;
      const engine = await started(root, {
        name: `${PREFIX}-sever`,
        services: { web: { image: 'devloop-test/busybox:latest', runtime: 'docker', command: 'trap "exit 0" TERM; while :; do sleep 1; done', restart: 'always' } as ServiceConfig },
      }, dockerOnly({ docker: { socketPath: proxy.sock }, stopTimeoutS }));
      assert.equal(engine.getState().services.web.phase, 'healthy', logText(engine));
      const [id] = projectContainers(root);
      const startedAt = docker('inspect', '--format', '{{.State.StartedAt}}', id);
      assert.ok(proxy.open >= 1, 'devloop holds a connection to the daemon (its wait on the container)');

      // Let devloop's requests to the daemon settle into their long waits, as in any real session.
      await new Promise((r) => setTimeout(r, 1_000));
      await proxy.sever(1_000);
      // Killed behind devloop's back, on the real socket.
      docker('kill', id);
      const t0 = Date.now();
      await until(() => /web exited with exit code 137/.test(logText(engine)), 15_000, 'devloop to notice the kill');
      await until(() => {
        const s = docker('inspect', '--format', '{{.State.Running}} {{.State.StartedAt}}', id).split(' ');
        return s[0] === 'true' && s[1] !== startedAt;
      }, 15_000, 'the container restarted');
      const noticedMs = Date.now() - t0;
      console.log(`  noticed and restarted the killed container in ${noticedMs} ms after the connection was cut`);

      const s0 = Date.now();
      await within(engine.stop(), (stopTimeoutS + 5) * 1000, 'engine.stop()');
      console.log(`  stopped in ${Date.now() - s0} ms (grace ${stopTimeoutS} s)`);
      assert.deepEqual(projectContainers(root), [], 'no container left');
    } finally {
      await proxy.close();
    }
  });

  it('stops within its grace even while the daemon is unreachable (item 7)', { timeout: 60_000 }, async () => {
    const proxy = await socketProxy();
    const root = tempRoot();
    const stopTimeoutS = 2;
    const engine = await started(root, {
      name: `${PREFIX}-gone`,
      services: { web: { image: 'devloop-test/busybox:latest', runtime: 'docker', command: 'trap "exit 0" TERM; while :; do sleep 1; done' } as ServiceConfig },
    }, dockerOnly({ docker: { socketPath: proxy.sock }, stopTimeoutS }));
    assert.equal(engine.getState().services.web.phase, 'healthy', logText(engine));
    await proxy.close();

    // The daemon is gone: a deploy says so and how to bring it back, not "report it to the plugin's authors".
    engine.triggerManual('web');
    await within(engine.idle(), 30_000, 'the failed deploy');
    const s = engine.getState().services.web;
    assert.equal(s.phase, 'failed', logText(engine));
    assert.match(s.error?.message ?? '', /Docker daemon/i);
    assert.doesNotMatch(s.error?.hint ?? '', /authors/);
    assert.match(s.error?.hint ?? '', /systemctl start docker|dockerd/);

    const s0 = Date.now();
    await within(engine.stop(), (stopTimeoutS + 10) * 1000, 'engine.stop() with the daemon gone');
    console.log(`  stopped in ${Date.now() - s0} ms with the daemon unreachable`);
    const ids = projectContainers(root);
    if (ids.length) docker('rm', '-f', ...ids);
  });

  it('debug: the inspector is reachable only through 127.0.0.1 on the host, not on the container\'s bridge address (item 12)', { timeout: 120_000 }, async () => {
    const root = copyFixture('docker-node');
    const engine = await started(root, { name: `${PREFIX}-debug`, services: { web: { build: { type: 'docker' }, port: await freePort() } as ServiceConfig } }, dockerOnly());
    assert.equal(engine.getState().services.web.phase, 'healthy', logText(engine));
    const inspectPort = await freePort();
    engine.debug('web', inspectPort);
    await until(() => {
      const s = engine.getState().services.web;
      return s.phase === 'healthy' && s.endpoints.some((e) => e.name === 'inspector');
    }, 60_000, 'web healthy with an inspector');
    const list = await until(async () => {
      const r = await httpGet(`http://127.0.0.1:${inspectPort}/json/list`);
      return r.status === 200 && r.body.includes('webSocketDebuggerUrl') ? JSON.parse(r.body) as Array<{ webSocketDebuggerUrl: string }> : undefined;
    }, 20_000, 'the inspector answering /json/list on 127.0.0.1');
    assert.match(list[0].webSocketDebuggerUrl, new RegExp(`^ws://127\\.0\\.0\\.1:${inspectPort}/`));

    const [id] = projectContainers(root, false);
    const ip = docker('inspect', '--format', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', id);
    assert.ok(ip, 'the container has a bridge address');
    assert.equal(await tcpOpen(ip, 9229), false, `nothing answers on ${ip}:9229 (the bridge)`);
    const published = docker('inspect', '--format', '{{json .HostConfig.PortBindings}}', id);
    assert.doesNotMatch(published, /9229/, 'the inspector port is not published from the container');
    // Another container on the bridge cannot reach it either, on any port the container exposes.
    const probe = await dockerTry('run', '--rm', '--label', TEST_LABEL, 'devloop-test/node:20', 'node', '-e', `fetch('http://${ip}:9229/json/list').then((r) => r.text()).then(console.log, (e) => console.log('error', e.cause?.code ?? e.message))`);
    assert.match(probe.out, /^error /, `another container on the bridge is refused: ${probe.out}`);
  });

  it('metadata server: only the service\'s own instance is served; another container gets 403 (item 14)', { timeout: 120_000 }, async () => {
    const root = copyFixture('cloud-run-app');
    const port = await freePort();
    const engine = await started(root, {
      name: `${PREFIX}-meta`,
      simulation: { cloudRun: { enabled: true, metricsPort: await freePort() } } as never,
      services: { web: { build: { type: 'docker' }, port, cloudRun: { minScale: 1 } } as ServiceConfig },
    }, [dockerPlugin(), registryPlugin(), processPlugin(), cloudRunPlugin({ scaling: { tickMs: 200 } })]);
    assert.equal(engine.getState().services.web.phase, 'healthy', logText(engine));
    const instance = await until(() => docker('ps', '-q', '--filter', `label=${LABEL_PROJECT}=${projectId(root)}`, '--filter', `label=${LABEL_REVISION}`).split('\n')[0], 30_000, 'an instance container');
    const env = docker('inspect', '--format', '{{range .Config.Env}}{{println .}}{{end}}', instance);
    const host = /^GCE_METADATA_HOST=(.*)$/m.exec(env)?.[1];
    assert.ok(host && !host.startsWith('127.'), `the instance reaches the metadata server on the bridge: ${host}`);
    const url = `http://${host}/computeMetadata/v1/project/project-id`;

    // The instance asks itself (its /metadata handler), through the simulator.
    const own = JSON.parse((await httpGet(`http://127.0.0.1:${port}/metadata`, { timeoutMs: 15_000 })).body);
    assert.deepEqual(own, { status: 200, body: 'local-project' }, 'the instance itself is served');

    // (busybox's wget crashes in that image: node's fetch asks instead.)
    const other = await dockerTry('run', '--rm', '--label', TEST_LABEL, 'devloop-test/node:20', 'node', '-e', `fetch(${JSON.stringify(url)}, { headers: { 'Metadata-Flavor': 'Google' } }).then(async (r) => console.log(r.status, await r.text()), (e) => console.log('error', e.cause?.code ?? e.message))`);
    assert.match(other.out, /^403 /, `another container is refused: ${other.out}`);
    assert.doesNotMatch(other.out, /local-project/, 'and learns nothing');
  });

  it('a Cloud Run instance whose image was removed while scaled to zero is served after a rebuild (item 18)', { timeout: 180_000 }, async () => {
    const root = copyFixture('cloud-run-app');
    // An image of its own: the same bytes would build the same image ID as other tests' (the
    // builder's cache), which their containers may hold, so `rmi -f` would only untag it.
    appendFileSync(path.join(root, 'server.js'), `\n// ${randomUUID()}\n`);
    const port = await freePort();
    const engine = await started(root, {
      name: `${PREFIX}-crimg`,
      simulation: { cloudRun: { enabled: true, metricsPort: await freePort() } } as never,
      services: { web: { build: { type: 'docker' }, port } as ServiceConfig },
    }, [dockerPlugin(), registryPlugin(), processPlugin(), cloudRunPlugin({ scaling: { tickMs: 200, stableWindowMs: 2000, panicWindowMs: 1000, idleTimeoutMs: 600, scaleToZeroAfterMs: 800 } })]);
    assert.equal(engine.getState().services.web.phase, 'healthy', logText(engine));
    // Every line from here on (the store's log tail is capped: build output could push a line out of it).
    const lines: string[] = [];
    const unsubscribe = engine.subscribe((_s, a) => { if (a.type === 'log' && a.line.service === 'web') lines.push(a.line.message); });
    try {
      const rebuildSaid = () => lines.filter((l) => /^web-\d{5}-\w+: image \S+ is gone \(removed outside devloop\?\); rebuilding it and starting the instance again$/.test(l));
      const builds = () => lines.filter((l) => /^building \(image-missing\)/.test(l));
      const instanceImage = async () => {
        const [id] = await until(() => docker('ps', '-q', '--filter', `label=${LABEL_PROJECT}=${projectId(root)}`, '--filter', `label=${LABEL_REVISION}`).split('\n').filter(Boolean), 20_000, 'an instance container');
        return docker('inspect', '--format', '{{.Config.Image}}', id);
      };
      const scaledToZero = async () => {
        // No container of the project at all, running or not: nothing holds the image.
        await until(() => projectContainers(root, true).length === 0, 20_000, 'scaled to zero');
      };

      // The exact tag the revision's instances run.
      const first = await httpGet(`http://127.0.0.1:${port}/`);
      assert.equal(first.status, 200, first.body);
      const image = await instanceImage();
      assert.equal(image, engine.getState().services.web.image, 'the instance runs the image the build made');
      await scaledToZero();
      assert.equal(docker('ps', '-aq', '--filter', `ancestor=${image}`), '', 'no container uses the image');
      docker('rmi', '-f', image);
      const gone = await dockerTry('image', 'inspect', image);
      assert.notEqual(gone.code, 0, `the image is really gone: ${gone.out}`);
      assert.equal(rebuildSaid().length, 0);

      const t0 = Date.now();
      const r = await httpGet(`http://127.0.0.1:${port}/`, { timeoutMs: 120_000 });
      console.log(`  served after a rebuild in ${Date.now() - t0} ms`);
      assert.equal(r.status, 200, `${r.status} ${r.body}\n${lines.join('\n')}`);
      assert.equal(rebuildSaid().length, 1, `the rebuild is said once:\n${lines.join('\n')}`);
      console.log(`  ${rebuildSaid()[0]}`);
      assert.equal(builds().length, 1, 'one build');
      assert.equal((await dockerTry('image', 'inspect', image)).code, 0, 'the image is back under the same tag');
      assert.equal(await instanceImage(), image, 'the new instance runs that tag');

      // A later cold start finds the image: no second rebuild.
      await scaledToZero();
      const t1 = Date.now();
      const again = await httpGet(`http://127.0.0.1:${port}/`, { timeoutMs: 30_000 });
      console.log(`  second cold start served in ${Date.now() - t1} ms`);
      assert.equal(again.status, 200, `${again.status} ${again.body}`);
      assert.equal(rebuildSaid().length, 1, 'no second rebuild');
      assert.equal(builds().length, 1, 'no second build');
    } finally {
      unsubscribe();
    }
  });

  /** A Node container that allocates `targetMiB` (on top of Node's own ~40 MiB), then idles. */
  const hog = (targetMiB: number) => ['node', '-e', `setTimeout(() => { const a = []; const t = setInterval(() => { if (a.length * 4 >= ${targetMiB}) return clearInterval(t); a.push(Buffer.alloc(4 << 20, 1)); }, 10); }, 1500); setInterval(() => {}, 1e6);`];

  it('a container killed for memory is restarted with the limit named (item 18)', { timeout: 60_000 }, async () => {
    const root = tempRoot();
    const engine = await started(root, {
      name: `${PREFIX}-oom`,
      services: { web: { image: 'devloop-test/node:20', runtime: 'docker', command: hog(400), resources: { memory: '64Mi' } } as ServiceConfig },
    }, dockerOnly());
    await until(() => /web was killed: out of memory \(its container's memory limit is 64 MiB\); restarting in/.test(logText(engine)), 30_000, 'the OOM kill reported with its limit');
    assert.match(logText(engine), /raise services\.web\.resources\.memory in Devfile\.ts \(for example "128Mi"\)/);
    await until(() => engine.getState().services.web.restarts >= 1, 10_000, 'a restart');
  });

  it('resources.autoRaise raises the memory limit step by step up to its cap after OOM kills (item 18)', { timeout: 90_000 }, async () => {
    const root = tempRoot();
    const engine = await started(root, {
      name: `${PREFIX}-raise`,
      // It allocates until it is killed: at 64Mi, at 128Mi, then at the cap.
      services: { web: { image: 'devloop-test/node:20', runtime: 'docker', command: hog(4096), resources: { memory: '64Mi', autoRaise: { max: '192Mi' } } } as ServiceConfig },
    }, dockerOnly());
    /** The real container's limit (raised in place: the same container, restarted). */
    const limit = () => {
      const ids = projectContainers(root);
      assert.equal(ids.length, 1, 'one container for the service');
      return Number(docker('inspect', '--format', '{{.HostConfig.Memory}}', ids[0]));
    };
    const memoryExtra = () => (engine.getState().services.web.extra['devloop:docker'] as { memory?: { limit: string; devfile: string } } | undefined)?.memory;

    await until(() => /web was killed for memory at 64Mi; raising its limit to 128Mi \(resources\.autoRaise, cap 192Mi\)/.test(logText(engine)), 30_000, 'the first raise');
    assert.equal(limit(), 128 * 2 ** 20, 'the container runs again under 128Mi');
    assert.equal(memoryExtra()?.limit, '128Mi', 'status shows the limit in force');

    await until(() => /web was killed for memory at 128Mi; raising its limit to 192Mi \(resources\.autoRaise, cap 192Mi\)/.test(logText(engine)), 30_000, 'the second raise, to the cap');
    assert.equal(limit(), 192 * 2 ** 20, 'the container runs again under 192Mi');

    await until(() => /web was killed: out of memory \(its container's memory limit is 192 MiB\)/.test(logText(engine)), 30_000, 'the OOM kill at the cap');
    const text = logText(engine);
    assert.match(text, /autoRaise is at its cap \(192Mi\): raise resources\.memory or the cap/, text);
    assert.doesNotMatch(text, /raising its limit to (?!128Mi|192Mi)/, 'never past the cap');
    assert.equal(limit(), 192 * 2 ** 20, 'the cap holds');
    assert.deepEqual(memoryExtra(), { limit: '192Mi', limitBytes: 192 * 2 ** 20, devfile: '64Mi', autoRaise: { active: true, cap: '192Mi', step: 2, raised: true } });
    await until(() => engine.getState().services.web.restarts >= 3, 15_000, 'restarted at the cap too');

    // A redeploy in the same session (a save, `devloop deploy`) starts from the raised limit, and says so.
    const [before] = projectContainers(root);
    engine.trigger('web', { reason: 'manual', files: [] });
    await until(() => /web keeps the memory limit resources\.autoRaise set earlier in this session: 192Mi \(Devfile: 64Mi, cap 192Mi\)/.test(logText(engine)), 30_000, 'the redeploy keeping the raised limit');
    await until(() => { const ids = projectContainers(root); return ids.length === 1 && ids[0] !== before; }, 30_000, 'the new container');
    assert.equal(limit(), 192 * 2 ** 20, 'the new container starts at the raised limit');
  });
});
