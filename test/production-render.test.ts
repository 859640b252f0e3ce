/**
 * `devloop render --env prod --target gke|cloudrun` (plugins/production/render.ts): the fixture
 * project test/fixtures/production rendered for both targets and compared byte for byte with the
 * golden files beside it (DEVLOOP_UPDATE_GOLDEN=1 rewrites them); every GKE object re-admitted by
 * Autopilot changes nothing; every Cloud Run file passes the product's Cloud Run validation; two
 * renders are identical; the CLI prints the stream or writes the files.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { loadDevfile, type LoadedDevfile } from '../core/devfile/load.js';
import type { DevfileConfig } from '../core/devfile/types.js';
import { DevloopError } from '../core/errors.js';
import { admit } from '../plugins/autopilot/admission.js';
import { parseServiceYaml, validateSpec } from '../plugins/cloud-run/spec.js';
import { modelObjects } from '../plugins/model-serving/kubernetes.js';
import { renderProduction, renderProductionWithNotes, type RenderedFile } from '../plugins/production/render.js';
import { repoRoot, runCli } from './helpers.js';

const fixture = path.join(repoRoot, 'test', 'fixtures', 'production');
const golden = path.join(fixture, 'golden');
const TARGETS = ['gke', 'cloudrun'] as const;
const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const load = () => loadDevfile({ cwd: fixture, mode: 'prod', command: 'render' });

/** Every file under `dir`, relative, sorted. */
function listFiles(dir: string, base = dir): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(path.join(dir, e.name), base) : [path.relative(base, path.join(dir, e.name))])).sort();
}

/** A Devfile made in code, for the cases the fixture does not cover. */
function inMemory(config: DevfileConfig): LoadedDevfile {
  return { file: '/nowhere/Devfile.ts', dir: '/nowhere', config, dependencies: [], loadMs: 0 };
}

describe('production render of the fixture project (--env prod)', () => {
  let loaded: LoadedDevfile;
  const rendered = new Map<string, RenderedFile[]>();
  before(async () => {
    loaded = await load();
    for (const target of TARGETS) rendered.set(target, await renderProduction(loaded, { env: 'prod', target }));
  });

  for (const target of TARGETS) {
    it(`${target}: matches the golden files byte for byte`, () => {
      const files = rendered.get(target)!;
      if (process.env.DEVLOOP_UPDATE_GOLDEN === '1') {
        rmSync(path.join(golden, target), { recursive: true, force: true });
        for (const f of files) {
          mkdirSync(path.dirname(path.join(golden, f.path)), { recursive: true });
          writeFileSync(path.join(golden, f.path), f.text);
        }
      }
      assert.deepEqual(files.map((f) => f.path).sort(), listFiles(path.join(golden, target)).map((p) => `${target}/${p}`),
        'the rendered files are the golden ones (DEVLOOP_UPDATE_GOLDEN=1 rewrites them)');
      for (const f of files) assert.equal(f.text, readFileSync(path.join(golden, f.path), 'utf8'), `${f.path} differs from its golden file`);
    });
  }

  it('renders the services with a build or an image, and skips the command-only one', () => {
    assert.deepEqual(rendered.get('gke')!.map((f) => f.path), ['gke/api.yaml', 'gke/docs.yaml', 'gke/worker.yaml', 'gke/monitoring/gmp-rules.yaml', 'gke/monitoring/prometheusrule.yaml']);
    assert.deepEqual(rendered.get('cloudrun')!.map((f) => f.path), ['cloudrun/api.service.yaml', 'cloudrun/docs.service.yaml', 'cloudrun/worker.service.yaml', 'cloudrun/monitoring/prometheus-rules.yaml']);
  });

  it('gke: every object, re-admitted by Autopilot, is allowed and left exactly as written', () => {
    let workloads = 0;
    for (const f of rendered.get('gke')!) {
      const fromText = parseAllDocuments(f.text).map((d) => d.toJS());
      assert.deepEqual(fromText, f.objects, `${f.path}: the text holds the objects`);
      for (const object of fromText) {
        const r = admit(object);
        const what = `${f.path} ${object.kind}`;
        assert.equal(r.allowed, true, `${what}: ${r.message}`);
        assert.deepEqual(r.adjustments, [], `${what}: admission adjusted nothing`);
        assert.deepEqual(r.warnings, [], `${what}: admission warned of no mutation`);
        assert.deepEqual(r.mutated, object, `${what}: admission changed nothing`);
        if (object.kind === 'Deployment') workloads++;
      }
    }
    assert.equal(workloads, 3);
  });

  it('gke: the Deployment carries prod settings: secrets as secretKeyRef, requests = limits, probes, HPA and PDB where due', () => {
    const api = rendered.get('gke')!.find((f) => f.path === 'gke/api.yaml')!.objects as any[];
    assert.deepEqual(api.map((o) => o.kind), ['Deployment', 'Service', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'NetworkPolicy']);
    const c = api[0].spec.template.spec.containers[0];
    assert.equal(api[0].spec.replicas, undefined, 'the HPA owns the replica count');
    assert.deepEqual(c.env.find((e: any) => e.name === 'DATABASE_URL'), { name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'db-url', key: 'url' } } });
    assert.deepEqual(c.env.find((e: any) => e.name === 'STRIPE_KEY'), { name: 'STRIPE_KEY', valueFrom: { secretKeyRef: { name: 'stripe', key: 'api-key' } } });
    assert.deepEqual(c.env.find((e: any) => e.name === 'LOG_LEVEL'), { name: 'LOG_LEVEL', value: 'info' }, 'envByEnvironment.prod wins');
    assert.ok(!JSON.stringify(api).includes('postgres://localhost'), 'the local stand-in of a secret never reaches the render');
    assert.deepEqual(c.resources.requests, c.resources.limits);
    assert.equal(c.resources.requests.cpu, '1');
    assert.deepEqual(c.readinessProbe, { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 5, timeoutSeconds: 2 });
    assert.deepEqual([api[2].spec.minReplicas, api[2].spec.maxReplicas], [2, 10]);
    const worker = rendered.get('gke')!.find((f) => f.path === 'gke/worker.yaml')!.objects as any[];
    assert.deepEqual(worker.map((o) => o.kind), ['Deployment', 'Service', 'NetworkPolicy'], 'one replica: no HPA, no PDB');
    assert.equal(worker[0].spec.template.spec.containers[0].resources.limits.memory, '512Mi', "Docker's 512m is 512 MiB");
    assert.equal(worker[0].spec.template.spec.nodeSelector['cloud.google.com/gke-spot'], 'true');
  });

  it('cloudrun: every Service file passes the product\'s Cloud Run validation, with nothing unsupported', () => {
    for (const f of rendered.get('cloudrun')!.filter((x) => x.path.endsWith('.service.yaml'))) {
      const spec = parseServiceYaml(f.text, f.path);
      assert.deepEqual(validateSpec(spec), [], f.path);
      assert.deepEqual(spec.unsupported, [], `${f.path}: everything in it is simulated`);
    }
    const api = parseServiceYaml(rendered.get('cloudrun')!.find((f) => f.path === 'cloudrun/api.service.yaml')!.text, 'api');
    assert.deepEqual([api.template.minScale, api.template.maxScale, api.template.containerConcurrency, api.template.timeoutSeconds], [2, 10, 40, 60]);
    assert.deepEqual(api.template.env.find((e) => e.name === 'STRIPE_KEY'), { name: 'STRIPE_KEY', secretKeyRef: { name: 'stripe', key: '3' } });
    assert.deepEqual(api.template.env.find((e) => e.name === 'DATABASE_URL'), { name: 'DATABASE_URL', secretKeyRef: { name: 'db-url', key: 'latest' } });
    assert.equal(api.template.livenessProbe?.path, '/healthz');
    const docs = parseServiceYaml(rendered.get('cloudrun')!.find((f) => f.path === 'cloudrun/docs.service.yaml')!.text, 'docs');
    assert.equal(docs.template.containerConcurrency, 1, 'below one CPU, Cloud Run needs concurrency 1');
  });

  it('is deterministic: a second load and render give byte-identical files', async () => {
    const again = await load();
    for (const target of TARGETS) {
      const second = await renderProduction(again, { env: 'prod', target });
      assert.deepEqual(second.map((f) => [f.path, f.text]), rendered.get(target)!.map((f) => [f.path, f.text]));
    }
  });

  it('uses the given images, and says when an image is a placeholder', async () => {
    const placeholder = await renderProductionWithNotes(loaded, { env: 'prod', target: 'gke' });
    assert.ok(placeholder.notes.some((n) => n.startsWith('api: image "europe-docker.pkg.dev/shop-prod/apps/api:placeholder" is a placeholder')), placeholder.notes.join('\n'));
    assert.ok(placeholder.notes.some((n) => n.startsWith('seed: skipped')), placeholder.notes.join('\n'));
    const ref = 'europe-docker.pkg.dev/shop-prod/apps/api@sha256:' + 'a'.repeat(64);
    const r = await renderProductionWithNotes(loaded, { env: 'prod', target: 'cloudrun', images: new Map([['api', ref]]) });
    const api = r.files.find((f) => f.path === 'cloudrun/api.service.yaml')!;
    assert.equal(parseServiceYaml(api.text, 'api').template.image, ref);
    assert.ok(!api.text.includes('placeholder'));
    assert.ok(!r.notes.some((n) => n.startsWith('api: image')));
  });

  it('staging gets its own settings: one replica, no secrets', async () => {
    const staging = await loadDevfile({ cwd: fixture, mode: 'staging', command: 'render' });
    const files = await renderProduction(staging, { env: 'staging', target: 'gke' });
    const docs = files.find((f) => f.path === 'gke/docs.yaml')!.objects as any[];
    assert.deepEqual(docs.map((o) => o.kind), ['Deployment', 'Service', 'NetworkPolicy']);
    assert.equal(docs[0].spec.replicas, 1);
    assert.equal(docs[0].spec.template.spec.containers[0].env.some((e: any) => e.valueFrom), false);
  });
});

describe('production render: refusals and special services', () => {
  const base = (services: DevfileConfig['services']): DevfileConfig => ({ services, environments: { prod: { registry: 'r.example/p' } } });

  it('an environment the Devfile does not declare is an error naming the known ones', async () => {
    await assert.rejects(renderProduction(inMemory(base({ a: { image: 'x:1' } })), { env: 'production', target: 'gke' }),
      (e: DevloopError) => e.code === 'UNKNOWN_ENVIRONMENT' && e.exitCode === 2 && /prod/.test(e.hint ?? ''));
  });

  it('a container Autopilot denies (privileged) is an error naming the service', async () => {
    const cfg = base({ bad: { image: 'x:1', port: 80, extensions: { 'devloop:autopilot': { securityContext: { privileged: true } } } } });
    await assert.rejects(renderProduction(inMemory(cfg), { env: 'prod', target: 'gke' }),
      (e: DevloopError) => e.code === 'PRODUCTION_AUTOPILOT_DENIED' && e.service === 'bad' && /services\.bad/.test(e.message) && /privileged/.test(e.message));
  });

  it('settings Cloud Run refuses are an error naming the service and the field', async () => {
    const cfg = base({ slow: { image: 'x:1', environments: { prod: { resources: { cpu: '0.5' }, scaling: { concurrency: 50 } } } } });
    await assert.rejects(renderProduction(inMemory(cfg), { env: 'prod', target: 'cloudrun' }),
      (e: DevloopError) => e.code === 'PRODUCTION_CLOUD_RUN_INVALID' && e.service === 'slow' && /containerConcurrency/.test(e.message));
  });

  it('a model served on Kubernetes keeps its own objects on GKE (admitted, image substituted) and is skipped on Cloud Run', async () => {
    const model = { name: 'embed', path: 'm.onnx', runtime: 'kubernetes' as const, image: 'embed-server' };
    const cfg = base({ embed: { runtime: 'kubernetes', image: 'embed-server', k8s: { objects: modelObjects(model) } } });
    const ref = 'r.example/p/embed-server@sha256:' + 'b'.repeat(64);
    const gke = await renderProductionWithNotes(inMemory(cfg), { env: 'prod', target: 'gke', images: new Map([['embed-server', ref]]) });
    const objects = gke.files[0].objects as any[];
    assert.deepEqual(objects.map((o) => o.kind), ['Deployment', 'Service']);
    assert.equal(objects[0].spec.template.spec.containers[0].image, ref);
    for (const o of objects) assert.deepEqual(admit(o).adjustments, []);
    const cr = await renderProductionWithNotes(inMemory(cfg), { env: 'prod', target: 'cloudrun' });
    assert.deepEqual(cr.files, []);
    assert.ok(cr.notes.some((n) => n.startsWith('embed: skipped')));
  });
});

describe('devloop render --target (built CLI)', () => {
  it('prints the YAML stream to stdout, the same documents as the files', async () => {
    const r = await runCli(['render', '--env', 'prod', '--target', 'cloudrun'], { cwd: fixture });
    assert.equal(r.code, 0, r.stderr);
    const expected = (await renderProduction(await load(), { env: 'prod', target: 'cloudrun' })).map((f) => `# Source: ${f.path}\n${f.text}`).join('---\n');
    assert.equal(r.stdout, expected);
    assert.match(r.stderr, /note: api: image ".*api:placeholder" is a placeholder/);
  });

  it('--out writes the golden files and prints their paths; the Cloud Run files pass devloop cloudrun validate, the GKE ones devloop autopilot check', async () => {
    const out = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-prodrender-')));
    dirs.push(out);
    for (const target of TARGETS) {
      const r = await runCli(['render', '--env', 'prod', '--target', target, '--out', out], { cwd: fixture });
      assert.equal(r.code, 0, r.stderr);
      const listed = r.stdout.trim().split('\n');
      assert.deepEqual(listed.map((p) => path.relative(out, p)).sort(), listFiles(path.join(golden, target)).map((p) => `${target}/${p}`));
      for (const p of listed) assert.equal(readFileSync(p, 'utf8'), readFileSync(path.join(golden, path.relative(out, p)), 'utf8'));
    }
    const services = listFiles(path.join(out, 'cloudrun')).filter((p) => p.endsWith('.service.yaml')).map((p) => path.join(out, 'cloudrun', p));
    const validate = await runCli(['cloudrun', 'validate', ...services], { cwd: out });
    assert.equal(validate.code, 0, validate.stderr);
    assert.equal((validate.stdout.match(/ is valid/g) ?? []).length, 3, validate.stdout);
    const check = await runCli(['autopilot', 'check', '-o', 'json', path.join(out, 'gke')], { cwd: out });
    assert.equal(check.code, 0, check.stderr);
    const report = JSON.parse(check.stdout);
    assert.equal(report.summary.workloads.checked, 3);
    assert.equal(report.summary.workloads.denied, 0);
    for (const e of report.entries) {
      assert.deepEqual([e.adjustments, e.warnings], [[], []], `${e.kind} ${e.name}: no mutation`);
    }
  });

  it('bad combinations are usage errors with a hint', async () => {
    const cases: [string[], RegExp][] = [
      [['render', '--target', 'aws'], /unknown --target "aws"/],
      [['render', '--env', 'prod', '--target', 'gke', '--monitoring'], /--target renders the whole project/],
      [['render', '--env', 'prod', '--target', 'gke', 'api'], /--target renders the whole project/],
      [['render', '--env', 'prod', '--target', 'gke', '--image', 'api'], /is not service=reference/],
      [['render', '--env', 'prod', '--target', 'gke', '--image', 'nope=x:1'], /no service in/],
      [['render', '--env', 'qa', '--target', 'gke'], /no environment "qa"/],
      [['render', '--out', 'x'], /--out only applies to --monitoring or --target/],
      [['render', '--image', 'api=x:1'], /--image only applies to --target/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args, { cwd: fixture });
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
      assert.match(r.stderr, /hint|try/i, `${args.join(' ')} gives a hint`);
    }
  });
});
