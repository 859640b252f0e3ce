// The ai-service template (recipes/ai-service), run as a user runs it: a copy with its
// dependencies in node_modules (linked from this checkout, the layout `npm install` makes for its
// `devloop: file:` dependency), `devloop up` behind the Cloud Run simulator with process
// instances: agents run on a planted repository, triage coordinates in the background, errors
// get their status codes, an edit to src/version.ts becomes a new revision, Ctrl-C leaves nothing.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, it } from 'node:test';
import { promisify } from 'node:util';
import { findFreePort } from '../plugins/shared/ports.js';
import { repoRoot, runCli, startCli, until } from './helpers.js';

const recipe = path.join(repoRoot, 'recipes', 'ai-service');
const planted = path.join(repoRoot, 'test', 'fixtures', 'ghostbusters');
const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

/** The packages the recipe's package.json names, linked as `npm install` would leave them. */
const LINKED = ['hono', '@hono/node-server', 'prom-client', 'tsx', 'esbuild', 'typescript', '@types/node'];

function copyRecipe(port: number, metricsPort: number): string {
  const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-ai-service-')));
  dirs.push(dir);
  cpSync(recipe, dir, { recursive: true, filter: (src) => !/[\\/](node_modules|\.devloop|dist)$/.test(src) });
  const deps = (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> });
  assert.deepEqual([...Object.keys(deps.dependencies), ...Object.keys(deps.devDependencies)].sort(), [...LINKED, 'devloop'].sort(), 'the test links what the recipe declares');
  for (const name of LINKED) {
    mkdirSync(path.dirname(path.join(dir, 'node_modules', name)), { recursive: true });
    symlinkSync(path.join(repoRoot, 'node_modules', name), path.join(dir, 'node_modules', name));
  }
  symlinkSync(repoRoot, path.join(dir, 'node_modules', 'devloop'));
  mkdirSync(path.join(dir, 'node_modules', '.bin'));
  symlinkSync('../esbuild/bin/esbuild', path.join(dir, 'node_modules', '.bin', 'esbuild'));
  const devfile = path.join(dir, 'Devfile.ts');
  writeFileSync(devfile, readFileSync(devfile, 'utf8').replace('cloudRun: { enabled: true }', `cloudRun: { enabled: true, metricsPort: ${metricsPort} }`));
  const yaml = path.join(dir, 'service.yaml');
  writeFileSync(yaml, readFileSync(yaml, 'utf8').replace('          startupProbe:', `          ports:\n            - containerPort: ${port}\n          startupProbe:`));
  return dir;
}

/** Processes whose command line names `dir` (the instances run its bundle). */
function processesIn(dir: string): string[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).flatMap((pid) => {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      return cmd.includes(dir) ? [`${pid}: ${cmd}`] : [];
    } catch { return []; }
  });
}

const post = (url: string, body: string, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });

it('recipes/ai-service: up serves the agent API through the simulator, triage coordinates, an edit to src/version.ts is a new /version, Ctrl-C leaves nothing', { timeout: 180_000 }, async () => {
  // Free ports, not fixed ones: other suites run beside this one.
  const port = await findFreePort();
  const dir = copyRecipe(port, await findFreePort());
  const up = startCli(['up', '--output', 'json'], { cwd: dir, env: { AGENTS_REPO_ROOT: planted, GOOGLE_CLOUD_PROJECT: 'demo-project' } });
  try {
    const healthy = await up.waitFor((e) => e.type === 'service/health' && e.service === 'ai' && e.health === 'healthy', 60_000, 'ai healthy');
    const url = healthy.state.endpoints[0].url as string;
    assert.equal(url, `http://127.0.0.1:${port}`);
    assert.deepEqual(await (await fetch(`${url}/health`)).json(), { status: 'healthy', agents: 6 });
    const { agents } = await (await fetch(`${url}/agents`)).json() as { agents: { id: string; description: string; capabilities: string[] }[] };
    assert.deepEqual(agents.map((a) => a.id), ['security', 'build', 'manifests', 'triage', 'echo', 'sleep']);
    assert.ok(agents.every((a) => a.description && Array.isArray(a.capabilities)));

    // The security expert on the planted repository, with a W3C trace header.
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await post(`${url}/agents/security/execute`, JSON.stringify({ path: 'planted' }), { traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    const body = await res.json() as { status: string; run: string; result: { expert: string; findings: { ruleId: string; file: string; line: number }[] } };
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.status, 'completed');
    const found = body.result.findings.map((f) => `${f.file}:${f.line} ${f.ruleId}`);
    assert.ok(found.includes('src/config.ts:4 security/aws-access-key'), found.join('\n'));
    assert.ok(found.includes('k8s/pod.yaml:18 security/privileged-container'), found.join('\n'));
    // Triage ran after the response, on the same findings.
    const latest = await until(async () => {
      const run = await (await fetch(`${url}/runs/latest`)).json() as { id: string; coordination: { status: string; results: { agent: string; output: { total: number; bySeverity: Record<string, number> } }[] } };
      return run.id === body.run && run.coordination.status === 'done' ? run : undefined;
    }, 15_000, 'the triage coordination');
    const triage = latest.coordination.results.find((r) => r.agent === 'triage')!;
    assert.equal(triage.output.total, body.result.findings.length);
    assert.equal(Object.values(triage.output.bySeverity).reduce((a, b) => a + b, 0), body.result.findings.length);
    // Cloud Logging's trace field, with the project: devloop shows it as [trace ID] on the line.
    await up.waitFor((e) => e.type === 'log' && JSON.stringify(e).includes('agent security completed') && JSON.stringify(e).includes(traceId), 10_000, 'the traced log line');

    const unknown = await post(`${url}/agents/ghost/execute`, '{}');
    assert.equal(unknown.status, 404);
    assert.deepEqual(((await unknown.json()) as { agents: string[] }).agents, agents.map((a) => a.id));
    const bad = await post(`${url}/agents/echo/execute`, 'not json');
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /the request body is not JSON/);
    const outside = await post(`${url}/agents/build/execute`, JSON.stringify({ path: '../..' }));
    assert.equal(outside.status, 403);
    const slow = await post(`${url}/agents/sleep/execute?timeoutMs=200`, JSON.stringify({ ms: 10_000 }));
    assert.equal(slow.status, 504);

    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /agent_execution_seconds_bucket\{le="[\d.]+",agent="security",outcome="completed"\} 1/);
    assert.match(metrics, /agent_coordination_seconds_count\{agent="security"\} 1/);
    assert.match(metrics, /http_requests_total\{route="\/agents\/:agentId\/execute",method="POST",status="404"\} 1/);

    // Hot reload: the edit is a new revision serving the new version.
    const first = await (await fetch(`${url}/version`)).json() as { version: string; revision: string };
    assert.equal(first.version, '0.1.0');
    writeFileSync(path.join(dir, 'src', 'version.ts'), readFileSync(path.join(dir, 'src', 'version.ts'), 'utf8').replace("'0.1.0'", "'0.2.0'"));
    const second = await until(async () => {
      const v = await (await fetch(`${url}/version`)).json() as { version: string; revision: string };
      return v.version === '0.2.0' ? v : undefined;
    }, 20_000, 'the new /version');
    assert.notEqual(second.revision, first.revision);
    assert.match(second.revision, /^ai-service-00002-[a-z]{3}$/);
    assert.equal(up.child.exitCode, null, 'devloop itself kept running');
    assert.ok(processesIn(dir).length > 0, 'the instances are seen while running (so the check after Ctrl-C means something)');
  } finally {
    up.child.kill('SIGINT');
  }
  assert.equal(await up.exited, 0, up.stderr());
  await assert.rejects(fetch(`http://127.0.0.1:${port}/health`), 'the port is free again');
  assert.deepEqual(await until(() => (processesIn(dir).length === 0 ? [] : undefined), 5_000, 'no process of the recipe left').catch(() => processesIn(dir)), []);
});

it('recipes/ai-service: devloop ci passes, the template\'s own tests pass, its image bundle serves alone, its service.yaml validates and its k8s/ is admitted', { timeout: 180_000 }, async () => {
  const dir = copyRecipe(await findFreePort(), await findFreePort());
  const ci = await runCli(['ci'], { cwd: dir, timeoutMs: 90_000 });
  assert.equal(ci.code, 0, ci.stdout + ci.stderr);
  assert.match(ci.stdout, /ci: the service is healthy, 1 test passed/);

  // Without NODE_TEST_CONTEXT: with it, the inner runner reports to this one instead of printing TAP.
  const { NODE_TEST_CONTEXT: _inner, ...env } = process.env;
  const own = readdirSync(path.join(dir, 'src')).filter((f) => f.endsWith('.test.ts')).map((f) => `src/${f}`);
  assert.deepEqual(own, ['src/app.test.ts', 'src/server.test.ts']);
  const unit = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--test', ...own], { cwd: dir, env, timeout: 90_000 }).catch((err) => err as { code: number; stdout: string; stderr: string });
  assert.ok(!('code' in unit) || unit.code === 0, `${unit.stdout}\n${unit.stderr}`);
  assert.match(unit.stdout, /# pass 5\n# fail 0/);

  // The image's one file: `npm run bundle` inlines every dependency (the TypeScript compiler the
  // experts use included); run alone, outside the project, it serves an expert.
  await promisify(execFile)('npm', ['run', 'bundle'], { cwd: dir, timeout: 90_000 });
  const alone = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-ai-image-')));
  dirs.push(alone);
  cpSync(path.join(dir, 'dist', 'server.mjs'), path.join(alone, 'server.mjs'));
  const port = await findFreePort();
  const server = spawn(process.execPath, ['server.mjs'], { cwd: alone, env: { ...env, PORT: String(port), HOST: '127.0.0.1', AGENTS_REPO_ROOT: planted }, stdio: ['ignore', 'pipe', 'pipe'] });
  let serverOut = '';
  server.stdout!.on('data', (d) => { serverOut += d; });
  server.stderr!.on('data', (d) => { serverOut += d; });
  const serverExit = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
  try {
    await until(async () => (await fetch(`http://127.0.0.1:${port}/health`)).ok, 15_000, `the bundle serving:\n${serverOut}`);
    const res = await post(`http://127.0.0.1:${port}/agents/security/execute`, JSON.stringify({ path: 'planted' }));
    const body = await res.json() as { status: string; result: { findings: unknown[] } };
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.ok(body.result.findings.length > 0);
  } finally {
    server.kill('SIGTERM');
  }
  assert.equal(await serverExit, 0, serverOut);

  const validate = await runCli(['cloudrun', 'validate', path.join(recipe, 'service.yaml')], { cwd: repoRoot });
  assert.equal(validate.code, 0, validate.stdout + validate.stderr);
  assert.match(validate.stdout, /service ai-service is valid/);
  const check = await runCli(['autopilot', 'check', path.join(recipe, 'k8s')], { cwd: repoRoot });
  assert.equal(check.code, 0, check.stdout + check.stderr);
  assert.match(check.stdout, /1 workload: 1 admitted, 0 denied/);
  assert.doesNotMatch(check.stdout, /mutat|raised|adjust/i, 'admitted unchanged');
});

it('devloop init --template ai-service DIR: a runnable copy named after the folder; a non-empty folder and an unknown template are refused', { timeout: 120_000 }, async () => {
  const parent = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-ai-init-')));
  dirs.push(parent);
  const r = await runCli(['init', '--template', 'ai-service', 'my-agents'], { cwd: parent });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /wrote \d+ files into my-agents \(template ai-service, service my-agents\)\nnext: cd my-agents && npm install && devloop up/);
  const dir = path.join(parent, 'my-agents');
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name: string; dependencies: Record<string, string> };
  assert.equal(pkg.name, 'my-agents');
  assert.equal(pkg.dependencies.devloop, `file:${repoRoot.replace(/\/$/, '')}`);
  assert.match(readFileSync(path.join(dir, 'Devfile.ts'), 'utf8'), /name: 'my-agents'/);
  assert.match(readFileSync(path.join(dir, 'service.yaml'), 'utf8'), /name: my-agents/);
  assert.doesNotMatch(readFileSync(path.join(dir, 'k8s', 'deployment.yaml'), 'utf8'), /ai-service/);
  for (const f of ['Dockerfile', '.dockerignore', '.gitignore', 'src/server.ts', 'src/version.ts', 'src/app.test.ts']) assert.ok(existsSync(path.join(dir, f)), f);
  assert.ok(!existsSync(path.join(dir, 'node_modules')) && !existsSync(path.join(dir, '.devloop')));

  // What `npm install` would link, then the renamed project passes devloop ci.
  for (const name of LINKED) {
    mkdirSync(path.dirname(path.join(dir, 'node_modules', name)), { recursive: true });
    symlinkSync(path.join(repoRoot, 'node_modules', name), path.join(dir, 'node_modules', name));
  }
  symlinkSync(repoRoot, path.join(dir, 'node_modules', 'devloop'));
  const ci = await runCli(['ci'], { cwd: dir, timeoutMs: 90_000 });
  assert.equal(ci.code, 0, ci.stdout + ci.stderr);
  assert.match(ci.stdout, /created revision my-agents-00001-/);

  const again = await runCli(['init', '--template', 'ai-service', 'my-agents'], { cwd: parent });
  assert.equal(again.code, 2, again.stdout + again.stderr);
  assert.match(again.stderr, /my-agents is not empty: a template is only written into a new or empty folder/);
  assert.match(again.stderr, /choose a new folder/);
  const unknown = await runCli(['init', '--template', 'nope', 'other'], { cwd: parent });
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown template "nope"[\s\S]*ai-service/);
  assert.ok(!existsSync(path.join(parent, 'other')), 'nothing written for an unknown template');
});
