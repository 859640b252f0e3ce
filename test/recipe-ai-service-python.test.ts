// The ai-service-python template (recipes/ai-service-python): its own pytest suite run with the
// venv test/infra/python.sh makes (this is how CI runs it), its service.yaml and k8s/ checked by
// devloop, and `devloop up` on a copy behind the Cloud Run simulator with process instances:
// health, a secrets scan with triage in the background, an edit to app/version.py is a new
// revision, Ctrl-C leaves no process and no port. Also `devloop init --template ai-service-python`.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { promisify } from 'node:util';
import { findFreePort } from '../plugins/shared/ports.js';
import { repoRoot, runCli, startCli, until } from './helpers.js';

const recipe = path.join(repoRoot, 'recipes', 'ai-service-python');
const planted = path.join(repoRoot, 'test', 'fixtures', 'ghostbusters');
const python = process.env.DEVLOOP_PYTHON ?? '/var/cache/devloop-python/ai-service-venv/bin/python';
const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

// A missing venv is a failure that says how to make it, not a skip: CI must run the pytest suite.
before(async () => {
  const probe = await promisify(execFile)(python, ['-c', 'import fastapi, uvicorn, prometheus_client, pytest'], { timeout: 30_000 }).catch((err: Error) => err);
  if (probe instanceof Error) {
    assert.fail(`no Python venv with the recipe's requirements at ${python} (${probe.message.split('\n')[0]}): run \`bash test/infra/python.sh\` (or set DEVLOOP_PYTHON to a venv's python with recipes/ai-service-python/requirements.txt installed)`);
  }
});

function copyRecipe(port: number, metricsPort: number): string {
  const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-ai-python-')));
  dirs.push(dir);
  cpSync(recipe, dir, { recursive: true, filter: (src) => !/[\\/](\.venv|__pycache__|\.devloop|\.pytest_cache)$/.test(src) });
  const devfile = path.join(dir, 'Devfile.ts');
  writeFileSync(devfile, readFileSync(devfile, 'utf8').replace("instances: 'process' }", `instances: 'process', metricsPort: ${metricsPort} }`));
  const yaml = path.join(dir, 'service.yaml');
  writeFileSync(yaml, readFileSync(yaml, 'utf8').replace('          startupProbe:', `          ports:\n            - containerPort: ${port}\n          startupProbe:`));
  return dir;
}

/** Processes whose command line or working directory is in `dir`. */
function processesIn(dir: string): string[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).flatMap((pid) => {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      let cwd = '';
      try { cwd = realpathSync(`/proc/${pid}/cwd`); } catch { /* gone or not ours */ }
      return cmd.includes(dir) || cwd === dir ? [`${pid}: ${cmd}`] : [];
    } catch { return []; }
  });
}

const post = (url: string, body: string, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });

it('recipes/ai-service-python: its pytest suite passes; its service.yaml validates and its k8s/ is admitted unchanged', { timeout: 120_000 }, async () => {
  // Bytecode and pytest's cache stay out of the checkout.
  const r = await promisify(execFile)(python, ['-m', 'pytest', '-q'], { cwd: recipe, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' }, timeout: 90_000 })
    .catch((err) => err as { code: number; stdout: string; stderr: string });
  assert.ok(!('code' in r) || r.code === 0, `${r.stdout}\n${r.stderr}`);
  const passed = Number(/(\d+) passed/.exec(r.stdout)?.[1] ?? 0);
  assert.ok(passed >= 8, r.stdout);
  assert.doesNotMatch(r.stdout, /failed|error/i, r.stdout);

  const validate = await runCli(['cloudrun', 'validate', path.join(recipe, 'service.yaml')], { cwd: repoRoot });
  assert.equal(validate.code, 0, validate.stdout + validate.stderr);
  assert.match(validate.stdout, /service ai-service-python is valid/);
  const check = await runCli(['autopilot', 'check', path.join(recipe, 'k8s')], { cwd: repoRoot });
  assert.equal(check.code, 0, check.stdout + check.stderr);
  assert.match(check.stdout, /1 workload: 1 admitted, 0 denied/);
  assert.doesNotMatch(check.stdout, /mutat|raised|adjust/i, 'admitted unchanged');
});

it('recipes/ai-service-python: up serves the API through the simulator, an edit to app/version.py is a new /version, Ctrl-C leaves nothing', { timeout: 180_000 }, async () => {
  const port = await findFreePort();
  const dir = copyRecipe(port, await findFreePort());
  const up = startCli(['up', '--output', 'json'], { cwd: dir, env: { DEVLOOP_PYTHON: python, AGENTS_REPO_ROOT: planted, GOOGLE_CLOUD_PROJECT: 'demo-project' } });
  try {
    const healthy = await up.waitFor((e) => e.type === 'service/health' && e.service === 'ai' && e.health === 'healthy', 60_000, 'ai healthy');
    const url = healthy.state.endpoints[0].url as string;
    assert.equal(url, `http://127.0.0.1:${port}`);
    assert.deepEqual(await (await fetch(`${url}/health`)).json(), { status: 'healthy', agents: 4 });

    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await post(`${url}/agents/secrets/execute`, JSON.stringify({ path: 'planted' }), { traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    const body = await res.json() as { status: string; run: string; result: { findings: { ruleId: string; file: string; line: number; column: number }[] } };
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.status, 'completed');
    const found = body.result.findings.map((f) => `${f.file}:${f.line}:${f.column} ${f.ruleId}`);
    assert.ok(found.includes('src/config.ts:4:26 secrets/aws-access-key'), found.join('\n'));
    const latest = await until(async () => {
      const run = await (await fetch(`${url}/runs/latest`)).json() as { id: string; coordination: { status: string; results: { agent: string; output: { total: number } }[] } };
      return run.id === body.run && run.coordination.status === 'done' ? run : undefined;
    }, 15_000, 'the triage coordination');
    assert.equal(latest.coordination.results[0].output.total, body.result.findings.length);
    await up.waitFor((e) => e.type === 'log' && JSON.stringify(e).includes('agent secrets completed') && JSON.stringify(e).includes(traceId), 10_000, 'the traced log line');
    assert.equal((await post(`${url}/agents/secrets/execute`, JSON.stringify({ path: '../..' }))).status, 403);
    assert.equal((await post(`${url}/agents/sleep/execute?timeoutMs=200`, JSON.stringify({ ms: 10_000 }))).status, 504);
    assert.equal((await post(`${url}/agents/echo/execute`, 'not json')).status, 400);
    assert.match(await (await fetch(`${url}/metrics`)).text(), /agent_execution_seconds_count\{agent="secrets",outcome="completed"\} 1\.0/);

    const first = await (await fetch(`${url}/version`)).json() as { version: string; revision: string };
    assert.equal(first.version, '0.1.0');
    const file = path.join(dir, 'app', 'version.py');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"0.1.0"', '"0.2.0"'));
    const second = await until(async () => {
      const v = await (await fetch(`${url}/version`)).json() as { version: string; revision: string };
      return v.version === '0.2.0' ? v : undefined;
    }, 30_000, 'the new /version');
    assert.notEqual(second.revision, first.revision);
    assert.match(second.revision, /^ai-service-python-00002-[a-z]{3}$/);
    assert.equal(up.child.exitCode, null, 'devloop itself kept running');
    assert.ok(processesIn(dir).length > 0, 'the instances are seen while running (so the check after Ctrl-C means something)');
  } finally {
    up.child.kill('SIGINT');
  }
  assert.equal(await up.exited, 0, up.stderr());
  await assert.rejects(fetch(`http://127.0.0.1:${port}/health`), 'the port is free again');
  assert.deepEqual(await until(() => (processesIn(dir).length === 0 ? [] : undefined), 5_000, 'no process of the recipe left').catch(() => processesIn(dir)), []);
});

it('devloop init --template ai-service-python DIR: a renamed copy with the venv steps to run next that passes devloop ci with .venv; a non-empty folder is refused', { timeout: 150_000 }, async () => {
  const parent = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-ai-python-init-')));
  dirs.push(parent);
  const r = await runCli(['init', '--template', 'ai-service-python', 'py-agents'], { cwd: parent });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /wrote \d+ files into py-agents \(template ai-service-python, service py-agents\)/);
  assert.match(r.stdout, /next: cd py-agents && python3 -m venv \.venv && \.venv\/bin\/pip install -r requirements\.txt && devloop up/);
  const dir = path.join(parent, 'py-agents');
  assert.match(readFileSync(path.join(dir, 'Devfile.ts'), 'utf8'), /name: 'py-agents'/);
  assert.match(readFileSync(path.join(dir, 'service.yaml'), 'utf8'), /name: py-agents\n/);
  assert.doesNotMatch(readFileSync(path.join(dir, 'k8s', 'deployment.yaml'), 'utf8'), /ai-service/);
  for (const f of ['Dockerfile', '.gitignore', 'requirements.txt', 'app/main.py', 'app/version.py', 'tests/test_api.py', 'tools/build.py']) assert.ok(existsSync(path.join(dir, f)), f);
  assert.ok(!existsSync(path.join(dir, '.venv')) && !existsSync(path.join(dir, '.devloop')) && !existsSync(path.join(dir, 'app', '__pycache__')));

  // The venv where the Devfile looks by default (.venv), as the printed step makes it (linked to
  // test/infra/python.sh's, same requirements); then the project passes devloop ci: the build,
  // a revision, health, and its pytest suite as the Devfile's test.
  symlinkSync(path.dirname(path.dirname(python)), path.join(dir, '.venv'));
  // DEVLOOP_PYTHON empty: the Devfile falls back to .venv/bin/python.
  const ci = await runCli(['ci'], { cwd: dir, env: { DEVLOOP_PYTHON: '' }, timeoutMs: 90_000 });
  assert.equal(ci.code, 0, ci.stdout + ci.stderr);
  assert.match(ci.stdout, /created revision py-agents-00001-/);
  assert.match(ci.stdout, /ci: the service is healthy, 1 test passed/);

  const again = await runCli(['init', '--template', 'ai-service-python', 'py-agents'], { cwd: parent });
  assert.equal(again.code, 2, again.stdout + again.stderr);
  assert.match(again.stderr, /py-agents is not empty: a template is only written into a new or empty folder/);
});
