/**
 * `devloop autopilot check|simulate DIR` on a real project folder, as `kubectl apply -f DIR` reads
 * it: every file is checked; YAML that is not a Kubernetes object (Helm values, docker-compose) is
 * skipped with a note; a syntax error or a field the API server refuses is an error located at
 * file:line:column while the other files' results are still printed; the yaml library's own
 * warnings never reach the output. Exit codes: 2 when an input was invalid, else 1 when something
 * was denied, else 0.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { repoRoot, runCli } from './helpers.js';

const dir = 'test/fixtures/autopilot-dir';
const clean = [`${dir}/web.yaml`, `${dir}/worker.yaml`, `${dir}/config.yaml`, `${dir}/charts`, `${dir}/docker-compose.yaml`];
const run = (args: string[]) => runCli(args, { cwd: repoRoot, timeoutMs: 25_000 });

/** Text the yaml library or Node prints for a warning: none of it may reach the user. */
const LIBRARY_WARNING = /YAMLWarning|\(node:\d+\)|Keys with collection values|--trace-warnings|mapAsMap/;

function assertDiagnostics(stderr: string, withInvalid: boolean) {
  assert.doesNotMatch(stderr, LIBRARY_WARNING);
  for (const f of ['charts/values.yaml', 'docker-compose.yaml']) {
    assert.ok(stderr.includes(`note: ${dir}/${f}: not a Kubernetes object (no apiVersion/kind); skipped\n`), `${f} skipped with a note:\n${stderr}`);
  }
  assert.match(stderr, /^note: test\/fixtures\/autopilot-dir\/config\.yaml:9:5: .*\[region, zone\]/m, 'the stringified key is a located note');
  assert.match(stderr, /^note: test\/fixtures\/autopilot-dir\/config\.yaml:11:15: .*!vault/m, 'the unknown tag is a located note');
  const errors = [
    `error: ${dir}/invalid/broken.yaml:4:9: Nested mappings are not allowed in compact mappings`,
    `error: ${dir}/invalid/negative-cpu.yaml:19:20: spec.template.spec.containers[0].resources.requests.cpu: Invalid value: "-1": must be greater than or equal to 0`,
  ];
  for (const e of errors) assert.equal(stderr.includes(`${e}\n`), withInvalid, `${withInvalid ? '' : 'no '}${e}\n${stderr}`);
}

describe('autopilot check/simulate on a folder of mixed YAML', { timeout: 120_000 }, () => {
  it('check DIR: every valid workload has its result, both invalid files are located errors, both non-Kubernetes files are skipped, exit 2', { timeout: 30_000 }, async () => {
    const r = await run(['autopilot', 'check', dir]);
    assert.equal(r.code, 2, `${r.stdout}${r.stderr}`);
    assertDiagnostics(r.stderr, true);
    assert.doesNotMatch(r.stdout, LIBRARY_WARNING);
    assert.match(r.stdout, /^admitted  Deployment shop\/web  general-purpose, 2 pods: .*\[test\/fixtures\/autopilot-dir\/web\.yaml:1\]$/m);
    assert.match(r.stdout, /^admitted  Deployment shop\/worker  general-purpose, 1 pod: .*\[test\/fixtures\/autopilot-dir\/worker\.yaml:2\]$/m);
    assert.match(r.stdout, /^DENIED    Pod shop\/debugger .*\[test\/fixtures\/autopilot-dir\/denied\/privileged\.yaml:2\]$/m);
    assert.match(r.stdout, /^3 workloads: 2 admitted, 1 denied\. 2 objects without pods\.$/m, 'the Service and the ConfigMap were read');
    assert.match(r.stdout, /^Not checked: 2 invalid files \(errors above\), 2 files skipped \(not Kubernetes objects\)\.$/m);
    assert.doesNotMatch(r.stdout, /negative-cpu|broken/, 'an invalid object has no result');
  });

  it('check -o json: entries as today, plus errors and skipped', { timeout: 30_000 }, async () => {
    const r = await run(['-o', 'json', 'autopilot', 'check', dir]);
    assert.equal(r.code, 2, r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, LIBRARY_WARNING);
    const out = JSON.parse(r.stdout) as { entries: { name: string; kind: string }[]; errors: { file: string; line: number; column: number; message: string }[]; skipped: { file: string; reason: string }[]; notes: { file: string; line: number }[] };
    assert.deepEqual(out.entries.map((e) => `${e.kind}/${e.name}`), ['ConfigMap/settings', 'Pod/debugger', 'Deployment/web', 'Deployment/worker', 'Service/worker']);
    assert.deepEqual(out.errors.map((e) => `${e.file}:${e.line}:${e.column}`), [`${dir}/invalid/broken.yaml:4:9`, `${dir}/invalid/negative-cpu.yaml:19:20`]);
    assert.deepEqual(out.skipped.map((s) => s.file), [`${dir}/charts/values.yaml`, `${dir}/docker-compose.yaml`]);
    assert.deepEqual(out.notes.map((n) => `${n.file}:${n.line}`), [`${dir}/config.yaml:9`, `${dir}/config.yaml:11`]);
  });

  it('a folder of valid and non-Kubernetes files exits 0, and 1 once something is denied', { timeout: 30_000 }, async () => {
    const ok = await run(['autopilot', 'check', ...clean]);
    assert.equal(ok.code, 0, `${ok.stdout}${ok.stderr}`);
    assertDiagnostics(ok.stderr, false);
    assert.match(ok.stdout, /^2 workloads: 2 admitted, 0 denied\. 2 objects without pods\.$/m);
    assert.match(ok.stdout, /^Not checked: 2 files skipped \(not Kubernetes objects\)\.$/m);
    const denied = await run(['autopilot', 'check', ...clean, `${dir}/denied`]);
    assert.equal(denied.code, 1, `${denied.stdout}${denied.stderr}`);
    assertDiagnostics(denied.stderr, false);
  });

  it('simulate DIR applies the same rules: valid workloads planned, errors located, skips noted, exit 2', { timeout: 30_000 }, async () => {
    const r = await run(['autopilot', 'simulate', '--provisioning', 'fast', dir]);
    assert.equal(r.code, 2, `${r.stdout}${r.stderr}`);
    assertDiagnostics(r.stderr, true);
    assert.doesNotMatch(r.stdout, LIBRARY_WARNING);
    assert.match(r.stdout, /^Node plan for us-central1/m);
    assert.match(r.stdout, /pod-bound .*web-0, web-1/m);
    assert.match(r.stdout, /worker-0/);
    assert.match(r.stdout, /^  Pod shop\/debugger \[test\/fixtures\/autopilot-dir\/denied\/privileged\.yaml:2\]$/m);
    const ok = await run(['autopilot', 'simulate', '--provisioning', 'fast', ...clean]);
    assert.equal(ok.code, 0, `${ok.stdout}${ok.stderr}`);
    assertDiagnostics(ok.stderr, false);
    const json = await run(['-o', 'json', 'autopilot', 'simulate', '--provisioning', 'fast', dir]);
    assert.equal(json.code, 2, json.stderr);
    const plan = JSON.parse(json.stdout) as { errors: { file: string }[]; skipped: { file: string }[] };
    assert.deepEqual(plan.errors.map((e) => e.file), [`${dir}/invalid/broken.yaml`, `${dir}/invalid/negative-cpu.yaml`]);
    assert.deepEqual(plan.skipped.map((e) => e.file), [`${dir}/charts/values.yaml`, `${dir}/docker-compose.yaml`]);
  });
});
