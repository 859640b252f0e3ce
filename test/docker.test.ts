// The Docker and registry plugins against the real daemon and the registry on 127.0.0.1:5001
// (started by test/infra/up.sh), driven through a real Engine on fixture projects.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DevfileConfig, ServiceConfig } from '../core/devfile/types.js';
import type { Deployment } from '../core/engine/contexts.js';
import { Engine } from '../core/engine/engine.js';
import type { DevloopPlugin } from '../core/plugins/types.js';
import { collectBuildInputs } from '../plugins/docker/context.js';
import { dockerPlugin, LABEL_PROJECT, LABEL_SERVICE, LABEL_SESSION, LABEL_SESSION_START, projectId } from '../plugins/docker/index.js';
import { esbuildPlugin } from '../plugins/esbuild/index.js';
import { registryAnswers, registryPlugin, startLocalRegistry } from '../plugins/registry/index.js';
import { isPortFree } from '../plugins/shared/ports.js';
import { processStartTime } from '../plugins/shared/procfs.js';
import { copyFixture, docker, ensureDockerInfra, repoRoot, until, httpGet } from './helpers.js';

const REGISTRY = '127.0.0.1:5001';
/** Every project here is named `dltest-*`, so its images can be removed after the suite. */
const PREFIX = 'dltest';



function projectContainers(root: string): string[] {
  const out = docker('ps', '-a', '-q', '--filter', `label=${LABEL_PROJECT}=${projectId(root)}`);
  return out ? out.split('\n') : [];
}

function messages(engine: Engine, service?: string): string[] {
  const state = engine.getState();
  return (service ? state.services[service].logTail : state.logTail).map((l) => l.message);
}

function engineFor(root: string, devfile: DevfileConfig, extra: DevloopPlugin[] = []): Engine {
  return new Engine({ root, devfile, plugins: [dockerPlugin(), registryPlugin(), ...extra] });
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function webService(extra: Partial<ServiceConfig> = {}): ServiceConfig {
  return { build: { type: 'docker' }, port: 8080, ...extra } as ServiceConfig;
}

const engines: Engine[] = [];
async function started(root: string, devfile: DevfileConfig, extra: DevloopPlugin[] = []): Promise<Engine> {
  const engine = engineFor(root, devfile, extra);
  engines.push(engine);
  await engine.start();
  await engine.idle();
  return engine;
}

before(() => ensureDockerInfra(() => execFileSync('curl', ['-sf', '-m', '2', `http://${REGISTRY}/v2/`], { stdio: 'ignore' })));

after(async () => {
  await Promise.all(engines.map((e) => e.stop()));
  const images = docker('images', '--digests', '--format', '{{.Repository}} {{.Tag}} {{.Digest}}').split('\n').flatMap((line) => {
    const [repo, tag, digest] = line.split(' ');
    if (repo?.startsWith(`devloop-${PREFIX}-`)) return [`${repo}:${tag}`];
    // Pulled back from the registry by digest (the push tests).
    if (repo?.startsWith(`${REGISTRY}/devloop-${PREFIX}-`) && digest?.startsWith('sha256:')) return [`${repo}@${digest}`];
    return [];
  });
  if (images.length) execFileSync('docker', ['rmi', '-f', ...new Set(images)], { stdio: 'ignore' });
});

describe('docker runtime', () => {
  it('builds, runs on 127.0.0.1 (moving off a busy port), serves, and leaves nothing behind on stop', async () => {
    const root = copyFixture('docker-node');
    const busyPort = await freePort();
    const blocker = net.createServer().listen(busyPort, '0.0.0.0');
    try {
      const engine = await started(root, { name: `${PREFIX}-basic`, services: { web: webService({ port: busyPort, env: { GREETING: 'hi' } }) } });
      const s = engine.getState().services.web;
      assert.equal(s.phase, 'healthy', JSON.stringify(s.error ?? s.logTail.slice(-5)));
      assert.equal(s.target, 'docker', 'resolveRuntime picked docker because the daemon answers');
      assert.match(s.image!, new RegExp(`^devloop-${PREFIX}-basic-web:devloop-[0-9a-f]{16}$`));
      const url = new URL(s.endpoints[0].url);
      assert.equal(url.hostname, '127.0.0.1');
      assert.notEqual(Number(url.port), busyPort, 'the busy port was not used');
      assert.ok(messages(engine, 'web').some((m) => m.includes(`port ${busyPort} is in use`)), 'warned about the busy port');

      assert.equal((await httpGet(`${url.origin}/`)).body, 'hello v1\n');
      assert.deepEqual(JSON.parse((await httpGet(`${url.origin}/env`)).body), { GREETING: 'hi', PORT: String(busyPort) });
      assert.ok(messages(engine, 'web').includes(`INFO listening  port=${busyPort}`), 'the JSON log line was pretty-printed');
      assert.ok(messages(engine, 'web').some((m) => m.startsWith('no push: the docker runtime runs the image on the daemon that built it')));

      const [id] = projectContainers(root);
      const labels = JSON.parse(docker('inspect', '--format', '{{json .Config.Labels}}', id)) as Record<string, string>;
      assert.equal(labels[LABEL_SERVICE], 'web');
      assert.equal(labels[LABEL_SESSION], String(process.pid));
      assert.equal(docker('inspect', '--format', '{{(index (index .HostConfig.PortBindings "' + busyPort + '/tcp") 0).HostIp}}', id), '127.0.0.1');

      engine.triggerManual('web');
      await engine.idle();
      const replaced = engine.getState().services.web;
      assert.equal(replaced.phase, 'healthy');
      assert.equal(replaced.lastBuild?.cached, true);
      assert.equal(replaced.endpoints[0].url, s.endpoints[0].url, 'the replacement keeps the port it moved to');
      assert.equal(messages(engine, 'web').filter((m) => m.includes(`port ${busyPort} is in use`)).length, 1, 'warned once');
      assert.equal((await httpGet(`${url.origin}/`)).body, 'hello v1\n');
      assert.equal(projectContainers(root).length, 1, 'the old container is gone');

      await engine.stop();
      assert.deepEqual(projectContainers(root), [], 'no container with the project label remains');
      assert.ok(await isPortFree(Number(url.port)), 'the host port is free again');
    } finally {
      blocker.close();
    }
  });

  it('rebuilds when the base image changes under the same name', async () => {
    const root = copyFixture('docker-node');
    const base = `${PREFIX}-base:latest`;
    docker('tag', 'devloop-test/node:20', base);
    writeFileSync(path.join(root, 'Dockerfile'), `FROM ${base}\nWORKDIR /app\nCOPY . .\nCMD ["node", "server.js"]\n`);
    const devfile: DevfileConfig = { name: `${PREFIX}-base`, services: { web: webService({ port: await freePort() }) } };
    const built: string[] = [];
    try {
      const first = await started(root, devfile);
      const before = first.getState().services.web.image!;
      built.push(before);
      await first.stop();
      // The same name now names another image (as after a docker pull of a newer base).
      execFileSync('docker', ['build', '-q', '-t', base, '-'], { input: 'FROM devloop-test/node:20\nLABEL dev.devloop.test=rebased\n', stdio: ['pipe', 'ignore', 'inherit'] });
      const second = await started(root, devfile);
      const s = second.getState().services.web;
      built.push(s.image!);
      assert.notEqual(s.image, before, 'a new tag for the new base');
      assert.equal(s.lastBuild?.cached, false, 'built again, not reused');
      assert.equal(s.phase, 'healthy');
      await second.stop();
    } finally {
      // The service's images first: an image with children cannot lose its last tag.
      try { docker('rmi', ...built); } catch { /* gone already */ }
      try { docker('rmi', base); } catch { /* still in use */ }
    }
  });

  it('does not rebuild unchanged inputs, even in a new engine, and ignores .dockerignore\'d files', async () => {
    const root = copyFixture('docker-node');
    const devfile: DevfileConfig = { name: `${PREFIX}-cache`, services: { web: webService({ port: await freePort() }) } };
    const first = await started(root, devfile);
    const image = first.getState().services.web.image;
    assert.equal(first.getState().services.web.phase, 'healthy');
    await first.stop();

    writeFileSync(path.join(root, 'ignored', 'notes.txt'), 'edited, still ignored\n');
    writeFileSync(path.join(root, 'debug.log'), 'a log file, ignored by *.log\n');
    mkdirSync(path.join(root, '.devloop', 'build'), { recursive: true });
    writeFileSync(path.join(root, '.devloop', 'build', 'bundle.mjs'), 'devloop\'s own state is never build input\n');
    const second = await started(root, devfile);
    const s = second.getState().services.web;
    assert.equal(s.lastBuild?.cached, true, 'the second engine asked the daemon and found the image');
    assert.equal(s.image, image, 'same content hash, same tag');
    assert.equal(s.phase, 'healthy');
    await second.stop();

    const before = await collectBuildInputs(root, { type: 'docker' }, 'web');
    writeFileSync(path.join(root, 'src', 'message.txt'), 'hello changed\n');
    const afterEdit = await collectBuildInputs(root, { type: 'docker' }, 'web');
    assert.notEqual(afterEdit.hash, before.hash, 'a file in the context changes the hash');
    assert.ok(!afterEdit.files.some((f) => f.rel.startsWith('ignored') || f.rel.endsWith('.log')));
  });

  it('reports a failing Dockerfile step as BUILD_FAILED with the step, its line and its output', async () => {
    const root = copyFixture('docker-broken');
    const engine = await started(root, { name: `${PREFIX}-broken`, services: { api: { build: { type: 'docker' }, runtime: 'docker' } } });
    const s = engine.getState().services.api;
    assert.equal(s.phase, 'failed');
    const err = s.error!;
    assert.equal(err.code, 'BUILD_FAILED');
    assert.match(err.message, /Dockerfile:4: docker build failed at step 3\/4 \(RUN echo "boom: the thing is missing"/);
    assert.match(err.message, /returned a non-zero code: 7/);
    assert.match(err.message, /last output:\n(.*\n)*\s+boom: the thing is missing/);
    assert.match(err.hint!, /fix it in Dockerfile/);
    assert.doesNotMatch(err.hint!, /keeps running/, 'a first build has nothing running to keep');
    await engine.stop();
  });

  it('honours the Dockerfile path (even when .dockerignore\'d), build args and the target stage', async () => {
    const root = copyFixture('docker-args');
    let image: string | undefined;
    const capture: DevloopPlugin = {
      name: 'capture',
      apply(e) {
        e.hooks.deploy.for('capture').tapPromise('capture', async (ctx): Promise<Deployment> => {
          image = ctx.image;
          return { runtime: 'capture', endpoints: [], stop: async () => {} };
        });
      },
    };
    const build = { type: 'docker' as const, dockerfile: 'build/Dockerfile.dev', args: { GREETING_ARG: 'from-arg' }, target: 'dev' };
    const engine = await started(root, { name: `${PREFIX}-args`, services: { tool: { build, runtime: 'capture' } } }, [capture]);
    assert.equal(engine.getState().services.tool.phase, 'healthy', JSON.stringify(engine.getState().services.tool.error));
    assert.equal(docker('run', '--rm', image!, 'cat', '/greeting', '/app.txt'), 'dev from-arg\napp file');
    await engine.stop();

    const base = await collectBuildInputs(root, build, 'tool');
    assert.ok(base.files.some((f) => f.rel === 'build/Dockerfile.dev'), 'the ignored Dockerfile is still sent');
    for (const other of [{ ...build, args: { GREETING_ARG: 'other' } }, { ...build, target: 'prod' }, { ...build, platform: 'linux/amd64' }]) {
      assert.notEqual((await collectBuildInputs(root, other, 'tool')).hash, base.hash, JSON.stringify(other));
    }
  });

  it('cancels an in-flight build when the engine stops, leaving no build container', { timeout: 90_000 }, async () => {
    const root = copyFixture('docker-slow');
    const engine = engineFor(root, { name: `${PREFIX}-slow`, services: { slow: { build: { type: 'docker' }, runtime: 'docker' } } });
    engines.push(engine);
    await engine.start();
    await until(() => messages(engine, 'slow').includes('slow step started'), 20_000, 'the slow step to start');
    const t0 = Date.now();
    await engine.stop();
    // The bound is the behaviour (stop cancels the build rather than waiting out its 30 s
    // `sleep 30` step), not a speed figure: it sits at 20 s, 10 s short of the step and far above
    // the well under 1 s a cancel takes on an idle machine, so a loaded machine does not fail it.
    assert.ok(Date.now() - t0 < 20_000, `stopped in ${Date.now() - t0} ms, not after the 30 s step`);
    assert.equal(engine.getState().services.slow.lastBuild?.cancelled, true);
    await until(() => !docker('ps', '-a', '--no-trunc', '--format', '{{.Command}}').includes('slow step started'), 10_000, 'the build container to go');
  });

  it('rejects ready() with the last lines when the container exits before it is healthy', async () => {
    const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-docker-exit-')));
    const engine = await started(root, {
      name: `${PREFIX}-exit`,
      services: { job: { image: 'devloop-test/busybox:latest', command: 'echo "fatal: no config file"; exit 2', port: await freePort(), restart: 'never' } },
    });
    const err = engine.getState().services.job.error!;
    assert.equal(engine.getState().services.job.phase, 'failed');
    assert.equal(err.code, 'CONTAINER_EXITED');
    assert.match(err.message, /^job exited with exit code 2; not restarted \(restart: never\)\n  last output:\n    fatal: no config file/);
    await engine.stop();
    assert.deepEqual(projectContainers(root), []);
    rmSync(root, { recursive: true, force: true });
  });

  it('falls back to the process runtime, saying so once, when no daemon answers', async () => {
    const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-docker-nodaemon-')));
    const engine = new Engine({
      root,
      devfile: { name: `${PREFIX}-nodaemon`, services: { a: { image: 'x' }, b: { image: 'y' } } },
      plugins: [dockerPlugin({ docker: { socketPath: path.join(root, 'no-docker.sock') } })],
    });
    await engine.start();
    await engine.idle();
    assert.equal(engine.getState().services.a.target, 'process');
    const told = messages(engine).filter((m) => m.startsWith('Docker daemon unreachable at unix://'));
    assert.equal(told.length, 1, messages(engine).join('\n'));
    assert.match(told[0], /; using the process runtime$/);
    await engine.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('rebuilds once when the image vanished between build and run', async () => {
    const root = copyFixture('docker-node');
    let removed = false;
    const pruner: DevloopPlugin = {
      name: 'pruner',
      apply(e) {
        e.hooks.afterBuild.tap('pruner', (ctx) => {
          if (removed) return;
          removed = true;
          docker('rmi', '-f', ctx.result!.image!);
        });
      },
    };
    const engine = await started(root, { name: `${PREFIX}-vanish`, services: { web: webService({ port: await freePort() }) } }, [pruner]);
    await until(() => engine.getState().services.web.phase === 'healthy', 30_000, 'healthy after the rebuild');
    assert.equal(engine.getState().services.web.buildCount, 2);
    assert.ok(messages(engine, 'web').some((m) => /no longer exists .*; rebuilding it/.test(m)));
    await engine.stop();
  });

  it('restarts a crashed container with backoff and counts the restart', async () => {
    const root = copyFixture('docker-node');
    const health = { exec: 'test -f /app/server.js' };
    const engine = await started(root, { name: `${PREFIX}-crash`, services: { web: webService({ port: await freePort(), health }) } });
    const url = engine.getState().services.web.endpoints[0].url;
    // The exec check passes as soon as the file exists, before node listens: wait for an answer.
    await until(async () => (await httpGet(url)).body === 'hello v1\n', 10_000, 'the server to answer');
    assert.equal((await httpGet(`${url}/crash`)).body, 'crashing\n');
    await until(() => engine.getState().services.web.restarts >= 1 && engine.getState().services.web.phase === 'healthy', 20_000, 'a restart');
    // Healthy again by the exec check, which passes before node listens: wait for an answer.
    await until(async () => (await httpGet(url)).body === 'hello v1\n', 10_000, 'the restarted server to answer');
    const log = messages(engine, 'web');
    assert.ok(log.some((m) => m === 'web exited with exit code 3; restarting in 1 s (restart: on-failure, attempt 1)'), log.join('\n'));
    assert.ok(log.includes('crash requested; exiting with code 3'), 'the last words made it into the log');
    await engine.stop();
  });

  it('debug: the container comes back with the Node inspector published on 127.0.0.1', async () => {
    const root = copyFixture('docker-node');
    const engine = await started(root, { name: `${PREFIX}-debug`, services: { web: webService({ port: await freePort() }) } });
    const inspect = await freePort();
    const [id] = projectContainers(root);
    const startedAt = docker('inspect', '-f', '{{.State.StartedAt}}', id);
    engine.debug('web', inspect);
    await until(() => engine.getState().services.web.phase === 'healthy' && engine.getState().services.web.endpoints.some((e) => e.name === 'inspector'), 30_000, 'web back with an inspector');
    // A Node service runs under devloop's supervisor: the process restarted, not the container.
    assert.deepEqual(projectContainers(root), [id]);
    assert.equal(docker('inspect', '-f', '{{.State.StartedAt}}', id), startedAt);
    assert.ok(messages(engine, 'web').some((m) => /^restarted the process in its container with the inspector in \d+ ms$/.test(m)), messages(engine, 'web').join('\n'));
    const targets = await until(async () => {
      const list = JSON.parse((await httpGet(`http://127.0.0.1:${inspect}/json/list`)).body) as Array<{ url: string; webSocketDebuggerUrl: string }>;
      return list.length ? list : undefined;
    }, 15_000, 'the inspector to answer');
    assert.match(targets[0].webSocketDebuggerUrl, new RegExp(`^ws://127\\.0\\.0\\.1:${inspect}/`));
    assert.match(targets[0].url, /\/app\/server\.js$/);
    const inspectorUrl = engine.getState().services.web.endpoints.find((e) => e.name === 'inspector')!.url;
    assert.equal(inspectorUrl, `http://127.0.0.1:${inspect}`);
    assert.equal((await httpGet(engine.getState().services.web.endpoints[0].url)).body, 'hello v1\n', 'still serving');
    // And off again: the same container, no inspector left listening.
    engine.debug('web', undefined);
    await until(() => engine.getState().services.web.phase === 'healthy' && !engine.getState().services.web.endpoints.some((e) => e.name === 'inspector'), 30_000, 'web back without the inspector');
    assert.deepEqual(projectContainers(root), [id]);
    await assert.rejects(httpGet(`http://127.0.0.1:${inspect}/json/list`), 'the inspector relay is closed');
    const inContainer = docker('exec', id, 'node', '-e', "require('net').connect(9229, '127.0.0.1').on('connect', () => { console.log('open'); process.exit(0) }).on('error', () => { console.log('closed'); process.exit(0) })");
    assert.equal(inContainer, 'closed', 'no inspector in the container either');
    await engine.stop();
  });

  it('says when a container was OOM-killed, with its limit and the setting to raise', async () => {
    const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-docker-oom-')));
    const hog: ServiceConfig = {
      image: 'devloop-test/node:20',
      command: ['node', '-e', 'const a = []; setInterval(() => a.push(Buffer.alloc(8 * 1024 * 1024, 1)), 5)'],
      resources: { memory: '48Mi' },
      restart: 'never',
    };
    const engine = await started(root, { name: `${PREFIX}-oom`, services: { hog } });
    await until(() => engine.getState().services.hog.error?.code === 'OOM_KILLED', 20_000, 'the OOM report');
    const err = engine.getState().services.hog.error!;
    assert.match(err.message, /^hog was killed: out of memory \(its container's memory limit is 48 MiB\); not restarted \(restart: never\)/);
    assert.match(err.hint!, /raise services\.hog\.resources\.memory in Devfile\.ts \(for example "96Mi"\)/);
    assert.equal(engine.getState().services.hog.phase, 'failed');
    await engine.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('cleanup removes containers left by a dead devloop and keeps those of a live one', async () => {
    const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-docker-cleanup-')));
    const dead = spawn('true');
    await new Promise((r) => dead.once('exit', r));
    const live = spawn('sleep', ['60']);
    const label = (k: string, v: string) => ['--label', `${k}=${v}`];
    const create = (pid: number, extra: string[] = []) => docker('run', '-d', ...label(LABEL_PROJECT, projectId(root)), ...label(LABEL_SERVICE, 'web'), ...label(LABEL_SESSION, String(pid)), ...extra, 'devloop-test/busybox:latest', 'sleep', '60');
    const stale = create(dead.pid!);
    const kept = create(live.pid!, label(LABEL_SESSION_START, processStartTime(live.pid!)!));
    try {
      const engine = engineFor(root, { name: `${PREFIX}-cleanup`, services: {} });
      await engine.cleanup();
      const left = projectContainers(root);
      assert.ok(!left.some((id) => stale.startsWith(id)), 'the dead session\'s container is gone');
      assert.ok(left.some((id) => kept.startsWith(id)), 'the live session\'s container stays');
      assert.ok(messages(engine).some((m) => m.startsWith(`removed 1 container left by an earlier devloop (pid ${dead.pid})`)));
      await engine.stop();
    } finally {
      live.kill();
      execFileSync('docker', ['rm', '-f', stale, kept], { stdio: 'ignore' });
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('layers an esbuild bundle on build.baseImage, and asks for one when it is missing', async () => {
    const root = copyFixture('docker-esbuild');
    const port = await freePort();
    const engine = await started(root, {
      name: `${PREFIX}-esb`,
      services: {
        api: { build: { type: 'esbuild', entry: 'src/server.ts', baseImage: 'devloop-test/node:20' }, runtime: 'docker', port },
        nobase: { build: { type: 'esbuild', entry: 'src/server.ts' }, runtime: 'docker' },
      },
    }, [esbuildPlugin()]);
    const { api, nobase } = engine.getState().services;
    assert.equal(api.phase, 'healthy', JSON.stringify(api.error));
    assert.match(api.image!, new RegExp(`^devloop-${PREFIX}-esb-api:devloop-[0-9a-f]{16}$`));
    assert.equal((await httpGet(api.endpoints[0].url)).body, 'bundled hello\n');
    const cmd = JSON.parse(docker('image', 'inspect', '--format', '{{json .Config.Cmd}}', api.image!));
    assert.deepEqual(cmd, ['node', '--enable-source-maps', '/app/index.mjs']);
    assert.equal(nobase.phase, 'failed');
    assert.match(nobase.error!.message, /has no build\.baseImage/);
    assert.match(nobase.error!.hint!, /services\.nobase\.build\.baseImage/);
    await engine.stop();
  });
});

describe('registry', () => {
  it('pushes by digest when the runtime is not the local daemon, and the digest is pullable', async () => {
    const root = copyFixture('docker-node');
    let deployedImage: string | undefined;
    const remote: DevloopPlugin = {
      name: 'remote-runtime',
      apply(e) {
        e.hooks.deploy.for('remote').tapPromise('remote-runtime', async (ctx): Promise<Deployment> => {
          deployedImage = ctx.image;
          return { runtime: 'remote', endpoints: [], stop: async () => {} };
        });
      },
    };
    const engine = await started(root, { name: `${PREFIX}-push`, services: { web: webService({ runtime: 'remote' }) } }, [remote]);
    assert.equal(engine.getState().services.web.phase, 'healthy', JSON.stringify(engine.getState().services.web.error));
    const m = new RegExp(`^${REGISTRY.replace(/\./g, '\\.')}/(devloop-${PREFIX}-push-web)@(sha256:[0-9a-f]{64})$`).exec(deployedImage ?? '');
    assert.ok(m, `deployed by digest: ${deployedImage}`);
    const manifest = await httpGet(`http://${REGISTRY}/v2/${m[1]}/manifests/${m[2]}`, { headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
    assert.equal(manifest.status, 200, 'the registry serves the manifest by digest');
    docker('pull', deployedImage!);
    assert.equal(docker('image', 'inspect', '--format', '{{.Id}}', deployedImage!), docker('image', 'inspect', '--format', '{{.Id}}', engine.getState().services.web.image!));
    await engine.stop();
  });
});

describe('local registry', () => {
  it('starts Debian\'s docker-registry on request, with its files under .devloop/registry', async () => {
    const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-docker-registry-')));
    const port = await freePort();
    const registry = await startLocalRegistry({ root, port });
    try {
      assert.equal(registry.host, `127.0.0.1:${port}`);
      assert.equal((await httpGet(`http://${registry.host}/v2/`)).status, 200);
      assert.equal(registry.dir, path.join(root, '.devloop', 'registry'));
    } finally {
      await registry.stop();
    }
    assert.equal(await registryAnswers(registry.host, 300), false, 'stopped');
    await assert.rejects(startLocalRegistry({ root, port, binary: path.join(root, 'missing') }), (err: Error & { code?: string; hint?: string }) => err.code === 'REGISTRY_UNAVAILABLE' && /apt-get install docker-registry/.test(err.hint ?? ''));
    rmSync(root, { recursive: true, force: true });
  });
});

describe('live update', () => {
  let root: string;
  let engine: Engine;
  let url: string;
  const file = (rel: string) => path.join(root, rel);

  before(async () => {
    root = copyFixture('docker-node');
    engine = await started(root, {
      name: `${PREFIX}-live`,
      services: {
        web: webService({
          port: await freePort(),
          health: { http: '/' },
          liveUpdate: [
            { fallBackOn: 'Dockerfile' },
            { sync: { from: 'src', to: '/app/src' } },
            { sync: { from: 'server.js', to: 'server.js' } },
            { run: 'echo checking && exit 9', trigger: 'src/fail.txt' },
            { restart: true },
          ],
        }),
      },
    });
    assert.equal(engine.getState().services.web.phase, 'healthy');
    url = engine.getState().services.web.endpoints[0].url;
  });

  after(() => engine.stop());

  it('syncs a change, restarts the process (not the container) and serves it without a build', async () => {
    const [id] = projectContainers(root);
    const startedAt = docker('inspect', '-f', '{{.State.StartedAt}}', id);
    writeFileSync(file('src/message.txt'), 'hello live\n');
    await engine.filesChanged('web', [file('src/message.txt')]);
    await until(async () => (await httpGet(url)).body === 'hello live\n', 10_000, 'the new message');
    const s = engine.getState().services.web;
    assert.equal(s.buildCount, 1, 'no build');
    assert.equal((s.extra['devloop:docker'] as { liveUpdates: number }).liveUpdates, 1);
    const log = messages(engine, 'web');
    assert.ok(log.some((m) => /^live update: synced 1 file, restarted the process in \d+/.test(m)), log.join('\n'));
    assert.ok(log.some((m) => /^update #\d+ done in \d+\.\d\d s \(live update: sync \d+\.\d\d s, restart \d+\.\d\d s\) after src\/message\.txt changed$/.test(m)), `the update summary; log:\n${log.join('\n')}`);
    // The same container, never restarted: its network and published port were kept.
    assert.deepEqual(projectContainers(root), [id]);
    assert.equal(docker('inspect', '-f', '{{.State.StartedAt}}', id), startedAt);
    assert.ok(!log.some((m) => m.includes('@devloop:')), 'the supervisor marker stays out of the service log');
    await until(() => engine.getState().services.web.phase === 'healthy', 10_000, 'healthy again');
  });

  it('passes a crash of the supervised process on as the container\'s exit, and restarts it', async () => {
    const before = engine.getState().services.web.restarts;
    await httpGet(`${url}/crash`).catch(() => {});
    await until(() => engine.getState().services.web.restarts > before && engine.getState().services.web.phase === 'healthy', 20_000, 'a restart after the crash');
    assert.ok(messages(engine, 'web').some((m) => m.startsWith('web exited with exit code 3; restarting in')), messages(engine, 'web').join('\n'));
    assert.equal((await httpGet(url)).body, 'hello live\n');
  });

  it('deletes a file removed on the host from the container', async () => {
    writeFileSync(file('src/scratch.txt'), 'temporary\n');
    await engine.filesChanged('web', [file('src/scratch.txt')]);
    const id = projectContainers(root)[0];
    assert.equal(docker('exec', id, 'cat', '/app/src/scratch.txt'), 'temporary');
    rmSync(file('src/scratch.txt'));
    await engine.filesChanged('web', [file('src/scratch.txt')]);
    assert.throws(() => docker('exec', id, 'cat', '/app/src/scratch.txt'));
    assert.equal(engine.getState().services.web.buildCount, 1);
  });

  it('falls back to a full rebuild when a run step fails, and says why', async () => {
    writeFileSync(file('src/fail.txt'), 'trigger the failing step\n');
    await engine.filesChanged('web', [file('src/fail.txt')]);
    await engine.idle();
    const s = engine.getState().services.web;
    assert.equal(s.buildCount, 2, 'rebuilt');
    assert.equal(s.phase, 'healthy');
    const log = messages(engine, 'web');
    assert.ok(log.some((m) => m.startsWith('live update step `echo checking && exit 9` failed with exit code 9; rebuilding') && m.includes('checking')), log.join('\n'));
    assert.equal((await httpGet(url)).body, 'hello live\n', 'the rebuilt image has the synced content too');
  });

  it('rebuilds a change that matches fallBackOn', async () => {
    writeFileSync(file('Dockerfile'), `${'# touched\n'}FROM devloop-test/node:20\nWORKDIR /app\nCOPY . .\nCMD ["node", "server.js"]\n`);
    await engine.filesChanged('web', [file('Dockerfile')]);
    await engine.idle();
    assert.equal(engine.getState().services.web.buildCount, 3);
    assert.ok(messages(engine, 'web').some((m) => m === 'live update does not apply (Dockerfile matches fallBackOn "Dockerfile"); rebuilding'));
  });
});

describe('live update in an image without a shell', () => {
  it('restarts the whole container, and says once why', { timeout: 90_000 }, async () => {
    // FROM scratch with only a static busybox, not at /bin/sh: nothing for the restart supervisor to run on.
    const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-noshell-')));
    mkdirSync(path.join(root, 'www'));
    writeFileSync(path.join(root, 'www', 'index.html'), 'v1\n');
    writeFileSync(path.join(root, 'Dockerfile'), 'FROM devloop-test/busybox:latest AS tools\nFROM scratch\nCOPY --from=tools /bin/busybox /busybox\nCOPY www /www\nCMD ["/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]\n');
    const engine = await started(root, {
      name: `${PREFIX}-noshell`,
      // busybox httpd takes no $PORT without a shell: 8080 inside, any free port on the host.
      services: { web: webService({ liveUpdate: [{ sync: { from: 'www', to: '/www' } }, { restart: true }] }) },
    });
    try {
      const s = engine.getState().services.web;
      assert.equal(s.phase, 'healthy', JSON.stringify(s.error ?? s.logTail.slice(-5)));
      const url = s.endpoints[0].url;
      for (const v of ['v2', 'v3']) {
        writeFileSync(path.join(root, 'www', 'index.html'), `${v}\n`);
        await engine.filesChanged('web', [path.join(root, 'www', 'index.html')]);
        await until(async () => (await httpGet(url).catch(() => ({ body: '' }))).body === `${v}\n`, 15_000, `${v} served`);
      }
      const log = messages(engine, 'web');
      assert.equal(log.filter((m) => m.includes('has no /bin/sh for devloop\'s restart supervisor: live update restarts the whole container')).length, 1, log.join('\n'));
      assert.equal(log.filter((m) => /^live update: synced 1 file, restarted the container in /.test(m)).length, 2, log.join('\n'));
      assert.equal(engine.getState().services.web.buildCount, 1);
    } finally {
      await engine.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('rebuild and replace', () => {
  it('starts the new container beside the old one and switches the same host port to it once healthy, with no refused request', { timeout: 120_000 }, async () => {
    const root = copyFixture('docker-node');
    const engine = await started(root, { name: `${PREFIX}-switch`, services: { web: webService({ port: await freePort() }) } });
    const s0 = engine.getState().services.web;
    assert.equal(s0.phase, 'healthy', JSON.stringify(s0.error ?? s0.logTail.slice(-5)));
    const url = s0.endpoints[0].url;
    const [first] = projectContainers(root);
    // A client that never stops asking, one request after another, from before the save to after the switch.
    const failures: string[] = [];
    const bodies: string[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        try { bodies.push((await httpGet(url)).body); } catch (err) { failures.push((err as Error).message); }
      }
    })();
    try {
      await until(() => bodies.length > 0, 5_000, 'the first answer');
      writeFileSync(path.join(root, 'src', 'message.txt'), 'hello v2\n');
      await engine.filesChanged('web', [path.join(root, 'src', 'message.txt')]);
      await engine.idle();
      await until(() => bodies.at(-1) === 'hello v2\n', 10_000, 'the new content');
    } finally {
      polling = false;
      await poller;
    }
    const s = engine.getState().services.web;
    assert.equal(s.buildCount, 2);
    assert.equal(s.endpoints[0].url, url, 'the same URL');
    assert.deepEqual(failures, [], 'no request failed during the replace');
    // Old content until the switch, new content after it: never back.
    const firstNew = bodies.indexOf('hello v2\n');
    assert.ok(bodies.slice(0, firstNew).every((b) => b === 'hello v1\n') && bodies.slice(firstNew).every((b) => b === 'hello v2\n'), bodies.join(''));
    await until(() => projectContainers(root).length === 1 && projectContainers(root)[0] !== first, 10_000, 'the old container removed');
    assert.ok(messages(engine, 'web').some((m) => /^switched 127\.0\.0\.1:\d+ to devloop-/.test(m)), messages(engine, 'web').join('\n'));
    await engine.stop();
    assert.equal(await isPortFree(Number(new URL(url).port)), true, 'the host port is released on stop');
    assert.deepEqual(projectContainers(root), []);
    rmSync(root, { recursive: true, force: true });
  });
});

describe('a failed rebuild', () => {
  it('says the last good image keeps running only when one does, and it does', { timeout: 120_000 }, async () => {
    const root = copyFixture('docker-node');
    const engine = await started(root, { name: `${PREFIX}-keep`, services: { web: webService({ port: await freePort() }) } });
    assert.equal(engine.getState().services.web.phase, 'healthy');
    const url = engine.getState().services.web.endpoints[0].url;
    writeFileSync(path.join(root, 'Dockerfile'), 'FROM devloop-test/node:20\nRUN echo broken && exit 7\n');
    await engine.filesChanged('web', [path.join(root, 'Dockerfile')]);
    await engine.idle();
    const s = engine.getState().services.web;
    assert.equal(s.phase, 'failed');
    assert.equal(s.error?.code, 'BUILD_FAILED');
    assert.match(s.error?.hint ?? '', /; the last good image keeps running meanwhile$/);
    assert.equal((await httpGet(url)).body, 'hello v1\n', 'and it does');
    await engine.stop();
    rmSync(root, { recursive: true, force: true });
  });
});

describe('images a session builds', () => {
  it('keeps the newest 3 per service while it runs, and on stop only the last good one; never a user tag', { timeout: 180_000 }, async () => {
    const root = copyFixture('docker-node');
    const repo = `devloop-${PREFIX}-images-web`;
    const tags = () => docker('images', '--format', '{{.Repository}}:{{.Tag}}', repo).split('\n').filter(Boolean).sort();
    const engine = engineFor(root, { name: `${PREFIX}-images`, services: { web: webService({ port: await freePort(), restart: 'never' }) } });
    await engine.start();
    await engine.idle();
    const built: string[] = [engine.getState().services.web.image!];
    // The user's own tag on devloop's first image: theirs, never removed.
    docker('tag', built[0], `${repo}:mine`);
    for (const v of ['v2', 'v3', 'v4']) {
      writeFileSync(path.join(root, 'src', 'message.txt'), `hello ${v}\n`);
      await engine.filesChanged('web', [path.join(root, 'src', 'message.txt')]);
      await engine.idle();
      assert.equal(engine.getState().services.web.phase, 'healthy');
      built.push(engine.getState().services.web.image!);
    }
    const good = built[3];
    await until(() => tags().filter((t) => t.includes(':devloop-')).length === 3, 10_000, 'the newest 3 kept while running');
    assert.deepEqual(tags(), [`${repo}:mine`, ...built.slice(1)].sort());
    // A last build that never becomes healthy: the image kept at the end is the one before it.
    writeFileSync(path.join(root, 'server.js'), 'console.error("broken on purpose"); process.exit(1);\n');
    await engine.filesChanged('web', [path.join(root, 'server.js')]);
    await engine.idle();
    assert.equal(engine.getState().services.web.phase, 'failed');
    const bad = engine.getState().services.web.image!;
    assert.ok(tags().includes(bad));
    await engine.stop();
    assert.deepEqual(tags(), [`${repo}:mine`, good].sort(), 'the last good image and the user tag remain');
    // No LABEL step of devloop's in the build (each would cost an intermediate container).
    assert.ok(!Object.keys(JSON.parse(docker('image', 'inspect', '-f', '{{json .Config.Labels}}', good)) ?? {}).some((k) => k.startsWith('dev.devloop.')), 'no devloop label on the image');
    // v2 went to the running prune when the broken build came; v3 and the broken one go now.
    assert.ok(messages(engine).some((m) => m === `removed 2 images this session built; kept the last good one of each service (web: ${good})`), messages(engine).join('\n'));
    docker('rmi', `${repo}:mine`, good);
    rmSync(root, { recursive: true, force: true });
  });
});
