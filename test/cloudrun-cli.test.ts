// `devloop cloudrun validate|replace`, and a Devfile service on the Cloud Run runtime through
// `devloop ci`: the CLI end to end, with a real Docker daemon.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LABEL_PROJECT, projectId } from '../plugins/docker/index.js';
import { copyFixture, docker, ensureDockerInfra, repoRoot, runCli, startCli, until } from './helpers.js';

const IMAGE = 'devloop-test/cloud-run-app:cli';
const fixtures = path.join(repoRoot, 'test', 'fixtures', 'cloud-run');
const roots: string[] = [];


function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; json: any; body: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false, headers, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => { let json; try { json = JSON.parse(body); } catch { /* text */ } resolve({ status: res.statusCode ?? 0, json, body }); });
    }).once('error', reject);
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

/** The `hello` service running IMAGE with GREETING; `spec` lines go in the revision spec, `env` lines after GREETING. */
function helloYaml(greeting: string, o: { spec?: string[]; env?: string[] } = {}): string {
  return [
    'apiVersion: serving.knative.dev/v1', 'kind: Service', 'metadata:', '  name: hello', 'spec:', '  template:', '    spec:',
    ...(o.spec ?? []).map((l) => `      ${l}`),
    '      containers:', `        - image: ${IMAGE}`, '          env:', '            - name: GREETING', `              value: ${greeting}`,
    ...(o.env ?? []).map((l) => `            ${l}`),
    '',
  ].join('\n');
}

before(() => {
  ensureDockerInfra();
  docker('build', '-q', '-t', IMAGE, path.join(repoRoot, 'test', 'fixtures', 'cloud-run-app'));
});

after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
  try { docker('rmi', '-f', IMAGE); } catch { /* in use or gone */ }
  const images = docker('images', '--format', '{{.Repository}}:{{.Tag}}').split('\n').filter((i) => i.startsWith('devloop-crtest-ci-'));
  if (images.length) try { docker('rmi', ...images); } catch { /* in use elsewhere */ }
});

describe('devloop cloudrun validate', () => {
  it('accepts a valid service and says what it deploys', { timeout: 120_000 }, async () => {
    const r = await runCli(['cloudrun', 'validate', 'service.yaml'], { cwd: fixtures });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /service\.yaml: service hello is valid/);
    assert.match(r.stdout, /port 8080 \(http1\), 1 vCPU, 512Mi/);
    assert.match(r.stdout, /concurrency 80, timeout 300 s/);
    assert.match(r.stdout, /traffic\s+latest 100%/);
  });

  it('rejects CPU/memory pairs with file:line:col, field path and the fix', { timeout: 120_000 }, async () => {
    const r = await runCli(['cloudrun', 'validate', 'bad-cpu-memory.yaml'], { cwd: fixtures });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^bad-cpu-memory\.yaml:19:21 spec\.template\.spec\.containers\[0\]\.resources\.limits\.memory: 2Gi needs at least 1 CPU, but cpu is 500m \(at most 1Gi\); raise cpu to 1 or lower memory to 1Gi$/m);
    assert.match(r.stderr, /^bad-cpu-memory\.yaml:13:29 spec\.template\.spec\.containerConcurrency: must be 1 when cpu is below 1/m);
    assert.match(r.stderr, /^bad-cpu-memory\.yaml:11:44 spec\.template\.metadata\.annotations\['run\.googleapis\.com\/cpu-throttling'\]: /m);
  });

  it('rejects ports and env Cloud Run refuses, each with its own line', { timeout: 120_000 }, async () => {
    const r = await runCli(['cloudrun', 'validate', 'bad-port-env.yaml'], { cwd: fixtures });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^bad-port-env\.yaml:13:17 spec\.template\.spec\.containers\[0\]\.ports\[0\]\.name: must be "http1" \(HTTP\/1\) or "h2c"/m);
    assert.match(r.stderr, /^bad-port-env\.yaml:15:11 spec\.template\.spec\.containers\[0\]\.ports\[1\]: Cloud Run allows one container port, got 2/m);
    assert.match(r.stderr, /^bad-port-env\.yaml:18:17 spec\.template\.spec\.containers\[0\]\.env\[0\]\.name: PORT is set by Cloud Run/m);
    assert.match(r.stderr, /^bad-port-env\.yaml:22:17 .*"LOG_LEVEL" is set twice/m);
  });

  it('rejects traffic that does not add up to 100', { timeout: 120_000 }, async () => {
    const r = await runCli(['cloudrun', 'validate', 'bad-traffic.yaml'], { cwd: fixtures });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^bad-traffic\.yaml:12:3 spec\.traffic: percents add up to 110; they must add up to exactly 100$/m);
  });

  it('reports a YAML syntax error and a missing file plainly', { timeout: 120_000 }, async () => {
    const dir = copyFixture('cloud-run');
    roots.push(dir);
    writeFileSync(path.join(dir, 'broken.yaml'), 'apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata:\n  name: [unclosed\n');
    const r = await runCli(['cloudrun', 'validate', 'broken.yaml', 'nope.yaml'], { cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^broken\.yaml:\d+:\d+ /m);
    assert.match(r.stderr, /cannot read nope\.yaml: no such file/);
  });

  it('prints JSON with -o json', { timeout: 120_000 }, async () => {
    const r = await runCli(['cloudrun', 'validate', '--output', 'json', 'service.yaml', 'bad-traffic.yaml'], { cwd: fixtures });
    assert.equal(r.code, 2);
    const out = JSON.parse(r.stdout);
    assert.equal(out[0].valid, true);
    assert.equal(out[0].spec.template.containerConcurrency, 80);
    assert.equal(out[1].valid, false);
    assert.ok(out[1].error.issues.some((i: any) => i.path === 'spec.traffic'));
  });
});

describe('devloop cloudrun replace', () => {
  it('serves the YAML\'s image, makes a new revision on save, and leaves nothing behind on Ctrl-C', { timeout: 120_000 }, async () => {
    const dir = copyFixture('cloud-run');
    roots.push(dir);
    const port = await freePort();
    const yaml = (greeting: string) => helloYaml(greeting, {
      spec: ['containerConcurrency: 1'],
      env: ['- name: API_KEY', '  valueFrom:', '    secretKeyRef:', '      name: api-key', '      key: latest'],
    });
    writeFileSync(path.join(dir, 'hello.yaml'), yaml('one'));
    writeFileSync(path.join(dir, 'secrets.local.yaml'), 'api-key:\n  "1": old-value\n  "2": s3cr3t-value-2\n');
    const cli = startCli(['cloudrun', 'replace', 'hello.yaml', '--port', String(port), '--output', 'json'], { cwd: dir });
    try {
      await cli.waitFor((e) => e.type === 'service/health' && e.health === 'healthy', 60_000, 'hello healthy');
      const url = `http://127.0.0.1:${port}`;
      const first = await get(url);
      assert.equal(first.status, 200);
      assert.match(first.json.revision, /^hello-00001-[a-z]{3}$/);
      assert.equal(first.json.greeting, 'one');
      assert.equal(first.json.secret, 's3cr3t-value-2', 'secretKeyRef latest resolves to the highest version');

      writeFileSync(path.join(dir, 'hello.yaml'), yaml('two'));
      const second = await until(async () => {
        const r = await get(url);
        return r.json?.greeting === 'two' ? r : undefined;
      }, 30_000, 'the new revision to serve');
      assert.match(second.json.revision, /^hello-00002-[a-z]{3}$/);

      const status = await runCli(['status', '--output', 'json'], { cwd: dir });
      const svc = JSON.parse(status.stdout).services.hello;
      assert.equal(svc.target, 'cloud-run');
      assert.equal(svc.extra['cloud-run'].revisions.length, 2);
    } finally {
      cli.child.kill('SIGINT');
      assert.equal(await cli.exited, 0, cli.stderr());
    }
    const out = cli.events.map((e) => JSON.stringify(e)).join('\n');
    assert.ok(!out.includes('s3cr3t-value-2'), 'the secret value never reaches the output');
    assert.match(out, /using api key \[redacted\]/, 'the line the service printed is there, redacted');
    assert.equal(docker('ps', '-a', '-q', '--filter', `label=${LABEL_PROJECT}=${projectId(dir)}`), '', 'no container left');
    await assert.rejects(get(`http://127.0.0.1:${port}`), 'the port is closed');
  });

  it('update-traffic splits a running service, tags a revision, and the split outlives a deploy', { timeout: 120_000 }, async () => {
    const dir = copyFixture('cloud-run');
    roots.push(dir);
    const port = await freePort();
    const yaml = (greeting: string) => helloYaml(greeting);
    writeFileSync(path.join(dir, 'hello.yaml'), yaml('one'));
    const cli = startCli(['cloudrun', 'replace', 'hello.yaml', '--port', String(port), '--output', 'json'], { cwd: dir });
    const url = `http://127.0.0.1:${port}`;
    const greetings = async (n: number) => {
      const seen: Record<string, number> = {};
      for (let i = 0; i < n; i++) { const g = (await get(url)).json.greeting as string; seen[g] = (seen[g] ?? 0) + 1; }
      return seen;
    };
    try {
      await cli.waitFor((e) => e.type === 'service/health' && e.health === 'healthy', 60_000, 'hello healthy');
      const first = (await get(url)).json.revision as string;
      writeFileSync(path.join(dir, 'hello.yaml'), yaml('two'));
      await until(async () => (await get(url)).json.greeting === 'two', 30_000, 'revision 2 serving');

      const bad = await runCli(['cloudrun', 'update-traffic', 'hello', '--to-revisions', `${first}=50,LATEST=40`], { cwd: dir });
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /the percents add up to 90; they must add up to exactly 100/);

      const r = await runCli(['cloudrun', 'update-traffic', 'hello', '--to-revisions', `${first}=50,LATEST=50`, '--set-tags', `old=${first}`], { cwd: dir });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, new RegExp(`50%  ${first}  tag old http://127\\.0\\.0\\.1:\\d+`));
      assert.deepEqual(await greetings(100), { one: 50, two: 50 });
      const logs = await runCli(['logs', 'hello'], { cwd: dir });
      assert.equal(logs.code, 0, logs.stderr);
      assert.match(logs.stdout, /created revision hello-00002-[a-z]{3}/, 'devloop logs works in a folder without a Devfile');
      const status = await runCli(['status'], { cwd: dir });
      assert.match(status.stdout, /hello \(cloud-run\):\n {2}hello-00001-[a-z]{3} {2}50% tag old {2}1 ready/, status.stdout);
      const tagUrl = /tag old (http:\S+)/.exec(r.stdout)![1];
      assert.equal((await get(tagUrl)).json.greeting, 'one');

      // A new revision from a save: the pinned half stays on the first, LATEST moves to the third.
      writeFileSync(path.join(dir, 'hello.yaml'), yaml('three'));
      await until(async () => (await greetings(4)).three === 2, 30_000, 'revision 3 taking the LATEST half');
      assert.deepEqual(await greetings(100), { one: 50, three: 50 });

      const unknown = await runCli(['cloudrun', 'update-traffic', 'hello', '--to-revisions', 'hello-00009-zzz=100'], { cwd: dir });
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /revision hello-00009-zzz does not exist/);

      // `devloop down` from another terminal stops a session that has no Devfile.
      const down = await runCli(['down'], { cwd: dir });
      assert.equal(down.code, 0, down.stdout + down.stderr);
      assert.match(down.stdout, /stopping the devloop session/);
      assert.equal(await cli.exited, 0, cli.stderr());
      assert.equal(docker('ps', '-a', '-q', '--filter', `label=${LABEL_PROJECT}=${projectId(dir)}`), '', 'no container left');
    } finally {
      if (cli.child.exitCode === null) cli.child.kill('SIGINT');
      await cli.exited;
    }
  });

  it('refuses a file without an image, saying how to build one', { timeout: 120_000 }, async () => {
    const dir = copyFixture('cloud-run');
    roots.push(dir);
    writeFileSync(path.join(dir, 'noimage.yaml'), 'apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata:\n  name: hello\nspec:\n  template:\n    spec:\n      containers:\n        - env: []\n');
    const r = await runCli(['cloudrun', 'replace', 'noimage.yaml'], { cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /spec\.template\.spec\.containers\[0\]\.image is not set/);
  });
});

// Issue 11: replace mode has no Devfile, so what it needs must be a flag, and a taken --port
// must not be swapped for another one behind the user's back.
describe('devloop cloudrun replace: process instances and an explicit --port', () => {
  it('--instances process without a command names --command; with --command it serves the YAML', { timeout: 120_000 }, async () => {
    const dir = copyFixture('cloud-run-app');
    roots.push(dir);
    writeFileSync(path.join(dir, 'hello.yaml'), helloYaml('hi'));
    const port = await freePort();
    const bare = startCli(['cloudrun', 'replace', 'hello.yaml', '--instances', 'process', '--port', String(port), '--output', 'json'], { cwd: dir });
    try {
      const failed = await bare.waitFor((e) => e.type === 'service/failed' && e.service === 'hello', 30_000, 'hello to fail');
      assert.match(failed.error.message, /hello: a process instance needs a command to run, and hello\.yaml gives the container none/);
      assert.match(failed.error.hint, /devloop cloudrun replace hello\.yaml --instances process --command "node server\.js"/);
      assert.doesNotMatch(failed.error.hint, /services\.hello\.command/, 'no Devfile field: replace mode has no Devfile');
    } finally {
      bare.child.kill('SIGINT');
      await bare.exited;
    }
    const cli = startCli(['cloudrun', 'replace', 'hello.yaml', '--instances', 'process', '--command', 'node server.js', '--port', String(port), '--output', 'json'], { cwd: dir });
    try {
      await cli.waitFor((e) => e.type === 'service/health' && e.service === 'hello' && e.health === 'healthy', 30_000, 'hello healthy');
      const r = await get(`http://127.0.0.1:${port}/`);
      assert.equal(r.json.greeting, 'hi');
      assert.match(r.json.revision, /^hello-00001-[a-z]{3}$/);
      assert.notEqual(r.json.port, '8080', 'a process instance gets a port of its own');
    } finally {
      cli.child.kill('SIGINT');
      assert.equal(await cli.exited, 0, cli.stderr());
    }
  });

  it('a --port that is taken fails naming the process that holds it, and serves nowhere else', { timeout: 120_000 }, async () => {
    const dir = copyFixture('cloud-run-app');
    roots.push(dir);
    writeFileSync(path.join(dir, 'hello.yaml'), helloYaml('hi'));
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, () => resolve()));
    const port = (holder.address() as net.AddressInfo).port;
    const cli = startCli(['cloudrun', 'replace', 'hello.yaml', '--instances', 'process', '--command', 'node server.js', '--port', String(port), '--output', 'json'], { cwd: dir });
    try {
      const failed = await cli.waitFor((e) => e.type === 'service/failed' && e.service === 'hello', 30_000, 'hello to fail');
      assert.match(failed.error.message, new RegExp(`--port: port ${port} is in use by node \\(pid ${process.pid}\\)$`));
      assert.match(failed.error.hint, new RegExp(`kill ${process.pid}.*pass another --port, or leave --port out`));
      assert.equal(cli.events.some((e) => e.type === 'deploy/finished' && e.endpoints?.length), false, 'no URL on another port');
    } finally {
      cli.child.kill('SIGINT');
      await cli.exited;
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });
});

describe('devloop ci with a Cloud Run service', () => {
  it('builds, deploys behind the simulator, runs the tests against its URL and exits 0', { timeout: 120_000 }, async () => {
    const dir = copyFixture('cloud-run-app');
    roots.push(dir);
    const port = await freePort();
    writeFileSync(path.join(dir, 'service.yaml'), readFileSync(path.join(fixtures, 'service.yaml'), 'utf8').replace('name: hello', 'name: api'));
    writeFileSync(path.join(dir, 'Devfile.ts'), `import { defineDevfile } from 'devloop';
export default defineDevfile({
  name: 'crtest-ci',
  simulation: { cloudRun: { enabled: true, metricsPort: ${await freePort()} } },
  services: { api: { build: { type: 'docker' }, port: ${port}, cloudRun: { service: 'service.yaml', maxScale: 3 } } },
  tests: [{ name: 'revision', command: 'node -e "fetch(\\'http://127.0.0.1:${port}/\\').then(r => r.json()).then(j => process.exit(/^api-00001-/.test(j.revision) ? 0 : 1))"' }],
});
`);
    const snapshot = path.join(dir, 'snap.json');
    const r = await runCli(['ci', '--snapshot', snapshot], { cwd: dir, timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const snap = JSON.parse(readFileSync(snapshot, 'utf8'));
    const api = snap.services.api;
    assert.equal(api.target, 'cloud-run');
    assert.equal(api.extra['cloud-run'].revisions[0].name.startsWith('api-00001-'), true);
    assert.equal(api.extra['cloud-run'].traffic[0].percent, 100);
    assert.equal(docker('ps', '-a', '-q', '--filter', `label=${LABEL_PROJECT}=${projectId(dir)}`), '', 'ci tears everything down');
  });
});
