/**
 * `devloop render --monitoring`: the rule file, the PrometheusRule and the GMP Rules written for a
 * real project (its Devfile loaded as the CLI loads it), checked with the real promtool.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { render } from '../bin/commands/render.js';
import type { GlobalOptions } from '../bin/shared.js';
import { DevloopError } from '../core/errors.js';
import { repoRoot, runCli } from './helpers.js';
import { promtool } from './promtool.js';

const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

/** A project folder holding `Devfile.ts` with `body` as its default export. */
function project(folder: string, body: string): string {
  const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-monrender-')));
  dirs.push(root);
  const dir = path.join(root, folder);
  mkdirSync(path.join(dir, 'k8s'), { recursive: true });
  writeFileSync(path.join(dir, 'k8s', 'deploy.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata: {}\n');
  writeFileSync(path.join(dir, 'Devfile.ts'), `import { defineDevfile } from 'devloop';\nexport default defineDevfile(${body});\n`);
  return dir;
}

const opts = (cwd: string, output: 'plain' | 'json' = 'plain'): GlobalOptions => ({ cwd, env: 'local', output, tui: false, color: false });

/**
 * Runs render() from the source in a child process (the built CLI is tested last): its stdout is
 * the command's, apart from the test runner's own reporting.
 */
function renderHere(o: GlobalOptions, r: Parameters<typeof render>[1]): { code: number | null; stdout: string; stderr: string } {
  const script = `const { render } = await import(${JSON.stringify(pathToFileURL(path.join(repoRoot, 'bin', 'commands', 'render.ts')).href)});
    process.exitCode = await render(${JSON.stringify(o)}, ${JSON.stringify(r)});`;
  const c = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
  return { code: c.status, stdout: c.stdout, stderr: c.stderr };
}

const K8S_PROJECT = `{
  name: 'Shop_App',
  services: {
    web: { build: { type: 'docker' }, runtime: 'kubernetes', k8s: { manifests: 'k8s/*.yaml', namespace: 'shop' } },
  },
}`;
const PROCESS_PROJECT = `{ services: { api: { command: 'node server.js', runtime: 'process' } } }`;
const FILES = ['prometheus-rules.yaml', 'prometheusrule.yaml', 'gmp-rules.yaml'];

describe('devloop render --monitoring', () => {
  it('writes the rule file, PrometheusRule and GMP Rules under .devloop/monitoring/rendered and prints their paths', { timeout: 60_000 }, async () => {
    const dir = project('shop', K8S_PROJECT);
    const r = renderHere(opts(dir), { monitoring: true });
    assert.equal(r.code, 0, r.stderr);
    const out = path.join(dir, '.devloop', 'monitoring', 'rendered');
    assert.deepEqual(r.stdout.trim().split('\n'), FILES.map((f) => path.join(out, f)));
    for (const f of FILES) assert.ok(existsSync(path.join(out, f)), f);

    const check = promtool(['check', 'rules', path.join(out, 'prometheus-rules.yaml')]);
    assert.equal(check.code, 0, check.out);
    assert.match(check.out, /SUCCESS: 17 rules found/);

    const { groups } = parse(readFileSync(path.join(out, 'prometheus-rules.yaml'), 'utf8'));
    assert.deepEqual(groups.map((g: { name: string }) => g.name), ['devloop.recording', 'devloop.alerts']);
    const crd = parse(readFileSync(path.join(out, 'prometheusrule.yaml'), 'utf8'));
    assert.equal(crd.apiVersion, 'monitoring.coreos.com/v1');
    assert.equal(crd.kind, 'PrometheusRule');
    assert.equal(crd.metadata.name, 'shop-app-devloop', 'the project name made fit for Kubernetes');
    assert.equal(crd.metadata.namespace, 'shop');
    assert.deepEqual(crd.spec.groups, groups);
    const gmp = parse(readFileSync(path.join(out, 'gmp-rules.yaml'), 'utf8'));
    assert.equal(gmp.apiVersion, 'monitoring.googleapis.com/v1');
    assert.equal(gmp.kind, 'Rules');
    assert.deepEqual(gmp.metadata, { name: 'shop-app-devloop', namespace: 'shop' }, 'the namespace the services deploy to');
    assert.deepEqual(gmp.spec.groups, groups);
  });

  it('--out DIR is relative to the working folder; without Kubernetes settings the namespace is default; -o json lists the files', { timeout: 60_000 }, async () => {
    const dir = project('api-project', PROCESS_PROJECT);
    const r = renderHere(opts(dir, 'json'), { monitoring: true, out: 'build/rules' });
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.dir, path.join(dir, 'build', 'rules'));
    assert.equal(doc.namespace, 'default');
    assert.equal(doc.name, 'api-project-devloop');
    for (const f of Object.values(doc.files) as string[]) assert.ok(existsSync(f), f);
    assert.equal(parse(readFileSync(doc.files.gmpRules, 'utf8')).metadata.namespace, 'default');
    assert.ok(!existsSync(path.join(dir, '.devloop', 'monitoring', 'rendered')), 'nothing in the default folder');
  });

  it('takes its thresholds from the Devfile\'s monitoring.alerts', { timeout: 60_000 }, async () => {
    const dir = project('tuned', `{ services: { api: { command: 'node server.js', runtime: 'process' } }, monitoring: { alerts: { errorRatio: 0.1, p99LatencyMs: 250, for: '1m' } } }`);
    const r = renderHere(opts(dir), { monitoring: true });
    assert.equal(r.code, 0, r.stderr);
    const { groups } = parse(readFileSync(path.join(dir, '.devloop', 'monitoring', 'rendered', 'prometheus-rules.yaml'), 'utf8'));
    const alerts = new Map(groups[1].rules.map((x: { alert: string }) => [x.alert, x]));
    assert.match((alerts.get('DevloopHighErrorRate') as { expr: string }).expr, / > 0\.1$/);
    assert.match((alerts.get('DevloopHighLatencyP99') as { expr: string }).expr, / > 0\.25 /);
    assert.equal((alerts.get('DevloopServiceDown') as { for: string }).for, '1m');
  });

  it('refuses --out without --monitoring, and service names with it (exit 2)', async () => {
    const dir = project('flags', PROCESS_PROJECT);
    await assert.rejects(render(opts(dir), { out: 'x' }), (e: unknown) => e instanceof DevloopError && e.code === 'BAD_FLAGS' && e.exitCode === 2);
    await assert.rejects(render(opts(dir), { monitoring: true, services: ['api'] }), (e: unknown) => e instanceof DevloopError && e.code === 'BAD_FLAGS');
  });

  it('the built CLI: devloop render --monitoring --out DIR exits 0 and prints the three paths', { timeout: 120_000 }, async () => {
    const dir = project('cli', PROCESS_PROJECT);
    const r = await runCli(['render', '--monitoring', '--out', 'rules'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), FILES.map((f) => path.join(dir, 'rules', f)));
    const check = promtool(['check', 'rules', path.join(dir, 'rules', 'prometheus-rules.yaml')]);
    assert.equal(check.code, 0, check.out);
  });
});
