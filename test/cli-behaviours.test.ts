/**
 * Behaviours the README promises, through the real CLI (`bin/devloop.js`, real processes, the
 * process runtime, no Docker): `deploy <service>`, `--env` merging, `render` masking, plugins by
 * relative .ts path and `devloop:<name>`, exit 70 for an internal bug, `DEVLOOP_REGISTRY`.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { findFreePort } from '../plugins/shared/ports.js';
import { copyFixture, runCli, startCli, type RunningCli } from './helpers.js';

const temps: string[] = [];
const running: { up: RunningCli; dir: string }[] = [];

after(async () => {
  for (const { up, dir } of running) await stopUp(up, dir);
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

/** A copy of test/fixtures/cli-behaviours with this Devfile. */
function project(devfile: string): string {
  const dir = copyFixture('cli-behaviours');
  temps.push(dir);
  writeFileSync(path.join(dir, 'Devfile.ts'), devfile);
  return dir;
}

function up(args: string[], dir: string): RunningCli {
  const cli = startCli(['up', '--output', 'json', ...args], { cwd: dir });
  running.push({ up: cli, dir });
  return cli;
}

/** Ctrl-C, and if the session does not stop within 20 s, SIGKILL and `devloop down`. */
async function stopUp(cli: RunningCli, dir: string): Promise<void> {
  if (cli.child.exitCode !== null || cli.child.signalCode !== null) return;
  cli.child.kill('SIGINT');
  const stopped = await Promise.race([cli.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 20_000))]);
  if (!stopped) {
    cli.child.kill('SIGKILL');
    await runCli(['down'], { cwd: dir, timeoutMs: 60_000 }).catch(() => undefined);
  }
}

/** A service run from the project folder as `node server.mjs`, no build. */
function plain(port: number, extra = ''): string {
  return `{ src: ['public', 'server.mjs'], runtime: 'process', command: ['node', 'server.mjs'], port: ${port}, health: { http: '/' }${extra} }`;
}

/** A service built by `node build.mjs <out>` (a copy plus a stamp) and run from `<out>`. */
function built(port: number, out: string, extra = ''): string {
  return `{ src: ['public', 'server.mjs'], build: { type: 'command', command: 'node build.mjs ${out}', outputs: ['${out}'] }, runtime: 'process', cwd: '${out}', command: ['node', 'server.mjs'], port: ${port}, health: { http: '/' }${extra} }`;
}

async function getJson(url: string): Promise<{ pid: number; env: Record<string, string | null>; stamp: string | null }> {
  const res = await fetch(url);
  assert.equal(res.status, 200);
  return res.json() as Promise<{ pid: number; env: Record<string, string | null>; stamp: string | null }>;
}

const healthy = (service: string) => (e: Record<string, any>) => e.type === 'service/health' && e.service === service && e.health === 'healthy';
const builds = (cli: RunningCli, service: string) => cli.events.filter((e) => e.type === 'build/started' && e.service === service).length;

describe('devloop deploy <service>', { concurrency: false }, () => {
  it('rebuilds that one service in the running session, prints it healthy with its URL, exits 0; an unknown service exits 2', { timeout: 150_000 }, async () => {
    const [pw, pa] = [await findFreePort(), await findFreePort()];
    const dir = project(`export default { services: { web: ${built(pw, 'dist-web')}, api: ${built(pa, 'dist-api')} } };`);
    const cli = up([], dir);
    const web = await cli.waitFor(healthy('web'), 60_000, 'web healthy');
    await cli.waitFor(healthy('api'), 60_000, 'api healthy');
    const webUrl = web.state.endpoints[0].url as string;
    const apiUrl = (cli.events.filter((e) => e.type === 'deploy/finished' && e.service === 'api').at(-1)!.endpoints[0].url) as string;
    const webBefore = await getJson(webUrl);
    const apiBefore = await getJson(apiUrl);
    assert.equal(builds(cli, 'web'), 1);
    assert.equal(builds(cli, 'api'), 1);

    const r = await runCli(['deploy', 'web'], { cwd: dir, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.stdout, `web: healthy ${webUrl}\n`);
    assert.equal(builds(cli, 'web'), 2, 'web was built again');
    const webAfter = await getJson(webUrl);
    assert.notEqual(webAfter.stamp, webBefore.stamp, 'web serves the new build');
    assert.notEqual(webAfter.pid, webBefore.pid, 'web runs a new process');
    // api is left alone: same build, same process.
    assert.equal(builds(cli, 'api'), 1, 'api was not rebuilt');
    assert.deepEqual(await getJson(apiUrl), apiBefore);

    const unknown = await runCli(['deploy', 'nope'], { cwd: dir });
    assert.equal(unknown.code, 2, unknown.stdout + unknown.stderr);
    assert.match(unknown.stderr, /no service named "nope"/);
    assert.match(unknown.stderr, /services are: web, api/);
  });

  // Known defect (bin/commands/deploy.ts): it waits for the service's buildCount to grow, which a
  // service without a build never does; the redeploy happens but deploy reports "still healthy
  // after N ms" and exits 1 (after 10 minutes by default).
  it('a service without a build is redeployed and reported healthy', { timeout: 90_000 }, async () => {
    const port = await findFreePort();
    const dir = project(`export default { services: { web: ${plain(port)} } };`);
    const cli = up([], dir);
    const web = await cli.waitFor(healthy('web'), 60_000, 'web healthy');
    const before = await getJson(web.state.endpoints[0].url);
    const r = await runCli(['deploy', 'web', '--timeout', '20s'], { cwd: dir, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.stdout, `web: healthy http://127.0.0.1:${port}\n`);
    assert.notEqual((await getJson(web.state.endpoints[0].url)).pid, before.pid, 'a new process');
    await stopUp(cli, dir);
  });
});

describe('--env merges environments.<env>.env, env and envByEnvironment, the most specific winning', { concurrency: false }, () => {
  // project-wide staging < the service's own env < the service's staging env.
  const devfile = (port: number) => `export default {
  environments: {
    staging: { env: { REGION: 'eu-staging', LOG_LEVEL: 'warn', FLAG: 'project-staging' } },
    prod: { env: { REGION: 'prod-region' } },
  },
  services: {
    web: ${plain(port, `,
      env: { SHOW: 'REGION,LOG_LEVEL,FLAG,OWN', LOG_LEVEL: 'debug', FLAG: 'service', OWN: 'own' },
      envByEnvironment: { staging: { FLAG: 'service-staging' }, prod: { LOG_LEVEL: 'info', FLAG: 'service-prod' } }`)},
  },
};
`;
  const staging = { REGION: 'eu-staging', LOG_LEVEL: 'debug', FLAG: 'service-staging', OWN: 'own' };

  it('render --env staging shows the merged env; the default env (local) has none of staging', { timeout: 60_000 }, async () => {
    const dir = project(devfile(await findFreePort()));
    const r = await runCli(['render', '--env', 'staging', '-o', 'json'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.environment, 'staging');
    assert.deepEqual(doc.services.web.env, { SHOW: 'REGION,LOG_LEVEL,FLAG,OWN', ...staging });
    const local = JSON.parse((await runCli(['render', '-o', 'json'], { cwd: dir })).stdout);
    assert.deepEqual(local.services.web.env, { SHOW: 'REGION,LOG_LEVEL,FLAG,OWN', LOG_LEVEL: 'debug', FLAG: 'service', OWN: 'own' });
    const prod = JSON.parse((await runCli(['render', '-e', 'prod', '-o', 'json'], { cwd: dir })).stdout);
    assert.deepEqual(prod.services.web.env, { SHOW: 'REGION,LOG_LEVEL,FLAG,OWN', REGION: 'prod-region', LOG_LEVEL: 'info', FLAG: 'service-prod', OWN: 'own' });
  });

  it('up --env staging: the service process sees the merged values', { timeout: 90_000 }, async () => {
    const dir = project(devfile(await findFreePort()));
    const cli = up(['--env', 'staging'], dir);
    const web = await cli.waitFor(healthy('web'), 60_000, 'web healthy');
    assert.deepEqual((await getJson(web.state.endpoints[0].url)).env, staging);
    await stopUp(cli, dir);
  });
});

describe('devloop render masks secrets', { concurrency: false }, () => {
  // render runs nothing: the port is never bound.
  const devfile = `export default {
  environments: { staging: { env: { API_TOKEN: 'tok-staging-7781' } } },
  services: { web: ${plain(18_999, ", env: { DB_PASSWORD: 'correct-horse-battery-42', GREETING: 'hello' }")} },
  tests: [{ name: 'smoke', command: 'curl -fsS -u app:correct-horse-battery-42 $DEVLOOP_URL_WEB' }],
};
`;

  it('a secret-looking env var and a staging secret are [redacted] in the service env, plain and -o json', { timeout: 60_000 }, async () => {
    const dir = project(devfile);
    const json = await runCli(['render', '--env', 'staging', '-o', 'json'], { cwd: dir });
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout).services.web.env, { API_TOKEN: '[redacted]', DB_PASSWORD: '[redacted]', GREETING: 'hello' });
    const plainOut = await runCli(['render', '--env', 'staging'], { cwd: dir });
    assert.equal(plainOut.code, 0, plainOut.stderr);
    assert.match(plainOut.stdout, /^ {4}env:\n {6}API_TOKEN: "\[redacted\]"\n {6}DB_PASSWORD: "\[redacted\]"\n {6}GREETING: hello$/m);
  });

  // `environments` and `tests` are printed as written: a secret declared in environments.<env>.env,
  // or a declared secret's value reused in a test command, must still be masked.
  it('no declared secret value appears anywhere in the output (environments, tests)', { timeout: 60_000 }, async () => {
    const dir = project(devfile);
    for (const args of [['render', '--env', 'staging'], ['render', '--env', 'staging', '-o', 'json']]) {
      const r = await runCli(args, { cwd: dir });
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stdout, /tok-staging-7781/, `${args.join(' ')}: the staging API_TOKEN`);
      assert.doesNotMatch(r.stdout, /correct-horse-battery-42/, `${args.join(' ')}: DB_PASSWORD's value`);
    }
  });
});

describe('plugins named in the Devfile', { concurrency: false }, () => {
  it('a relative .ts path with options and a devloop:<name> built-in are loaded and used', { timeout: 90_000 }, async () => {
    const port = await findFreePort();
    // Listing devloop:process replaces the default one: web runs only if the listed one is applied.
    const dir = project(`export default {
  plugins: [['./tools/greeter.ts', { greeting: 'bonjour' }], ['devloop:process', { livenessMs: 0 }]],
  services: { hi: { runtime: 'greeter' }, web: ${plain(port)} },
};
`);
    const cli = up([], dir);
    const hi = await cli.waitFor(healthy('hi'), 60_000, 'hi healthy');
    assert.equal(await (await fetch(hi.state.endpoints[0].url)).text(), 'bonjour from hi');
    const web = await cli.waitFor(healthy('web'), 60_000, 'web healthy');
    assert.equal(web.state.endpoints[0].url, `http://127.0.0.1:${port}`);
    await stopUp(cli, dir);

    // An unknown built-in is a Devfile error naming the entry and the built-ins there are.
    writeFileSync(path.join(dir, 'Devfile.ts'), "export default { plugins: ['devloop:nope'], services: {} };\n");
    const bad = await runCli(['ci'], { cwd: dir });
    assert.equal(bad.code, 2, bad.stdout + bad.stderr);
    assert.match(bad.stderr, /plugins\.0: no built-in plugin named "devloop:nope"/);
    assert.match(bad.stderr, /devloop:process/);
  });
});

describe('exit codes and environment', { concurrency: false }, () => {
  it('an internal bug (render -o json meets a BigInt in plugin options) exits 70 with the bug report', { timeout: 60_000 }, async () => {
    // JSON.stringify cannot write a BigInt: a TypeError from devloop's own code, not a
    // DevloopError, reaching the CLI's error printer (reportError), not the last-resort handler.
    const dir = project(`export default {
  plugins: [['./tools/greeter.ts', { big: 10n }]],
  services: { hi: { runtime: 'greeter' } },
};
`);
    const r = await runCli(['render', '-o', 'json'], { cwd: dir });
    assert.equal(r.code, 70, r.stdout + r.stderr);
    assert.match(r.stderr, /^devloop hit an internal error \(a bug; please report it with this output\):\nTypeError: Do not know how to serialize a BigInt/);
    assert.deepEqual(JSON.parse(r.stdout).error.name, 'TypeError');
  });

  it('DEVLOOP_REGISTRY names the registry devloop checks', { timeout: 60_000 }, async () => {
    const seen: string[] = [];
    const registry = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
      res.end(req.url === '/v2/' ? '{}' : '');
    });
    await new Promise<void>((r) => registry.listen(0, '127.0.0.1', () => r()));
    const port = (registry.address() as { port: number }).port;
    try {
      const dir = project(`export default { services: { web: ${plain(await findFreePort())} } };`);
      const r = await runCli(['doctor', '-o', 'json'], { cwd: dir, env: { DEVLOOP_REGISTRY: `127.0.0.1:${port}`, DOCKER_HOST: 'unix:///nonexistent.sock', KUBECONFIG: '/nonexistent' } });
      assert.equal(r.code, 0, r.stderr);
      const check = (JSON.parse(r.stdout) as { name: string; level: string; detail: string }[]).find((c) => c.name === 'Registry')!;
      assert.deepEqual({ level: check.level, detail: check.detail }, { level: 'ok', detail: `registry API answers at 127.0.0.1:${port}` });
      assert.ok(seen.includes('GET /v2/'), `the registry was asked: ${seen.join(', ')}`);
    } finally {
      registry.close();
    }
  });
});
