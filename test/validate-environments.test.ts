/**
 * `devloop validate`: every environment checked before a deploy. The fixture plants one problem
 * of each kind (a local secret without a value, a prod memory Autopilot would raise, a Cloud Run
 * concurrency production refuses, a secret prod has and staging lacks); the corrected copy passes.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { repoRoot, runCli } from './helpers.js';

const temps: string[] = [];
after(() => { for (const d of temps) rmSync(d, { recursive: true, force: true }); });

function fixture(): string {
  const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-validate-')));
  temps.push(dir);
  cpSync(path.join(repoRoot, 'test/fixtures/validate'), dir, { recursive: true });
  writeFileSync(path.join(dir, 'secrets.local.yaml'), 'OTHER: x\n');
  return dir;
}

test('each planted problem is an error at its Devfile line and field path; exit 2', { timeout: 60_000 }, async () => {
  const dir = fixture();
  const r = await runCli(['validate'], { cwd: dir });
  assert.equal(r.code, 2, r.stdout + r.stderr);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('error: '));
  assert.deepEqual(lines.map((l) => /^error: (Devfile\.ts:\d+:\d+) \[(\w+)\] (\S+):/.exec(l)?.slice(1)), [
    ['Devfile.ts:25:36', 'local', 'environments.local.secrets.API_TOKEN'],
    ['Devfile.ts:12:51', 'prod', 'services.api.environments.prod.resources.memory'],
    ['Devfile.ts:20:85', 'prod', 'services.web.environments.prod.scaling.concurrency'],
    ['Devfile.ts:26:14', 'staging', 'environments.staging.secrets.DATABASE_URL'],
  ]);
  assert.match(r.stderr, /API_TOKEN is a secret in local, but secrets\.local\.yaml has no value for it/);
  assert.match(r.stderr, /Autopilot would change memory requests of Deployment api from 100Mi to 256Mi/);
  assert.match(r.stderr, /try: set services\.api\.environments\.prod\.resources\.memory to 256Mi/);
  assert.match(r.stderr, /Cloud Run would refuse it: spec\.template\.spec\.containerConcurrency: must be 1 when cpu is below 1/);
  assert.match(r.stderr, /DATABASE_URL is a secret of every service in prod, but staging has no reference for it/);
  assert.match(r.stderr, /4 problems in 3 of 3 environments \(local, prod, staging\)/);

  const json = await runCli(['validate', '-o', 'json'], { cwd: dir });
  assert.equal(json.code, 2);
  const doc = JSON.parse(json.stdout);
  assert.deepEqual(doc.environments, ['local', 'prod', 'staging']);
  assert.equal(doc.ok, false);
  assert.equal(doc.issues.length, 4);
  assert.deepEqual(doc.issues[1].location, { file: 'Devfile.ts', line: 12, column: 51 });
});

test('the corrected Devfile passes every environment', { timeout: 60_000 }, async () => {
  const dir = fixture();
  writeFileSync(path.join(dir, 'secrets.local.yaml'), 'API_TOKEN: dev-token\n');
  const fixed = readFileSync(path.join(dir, 'Devfile.ts'), 'utf8')
    .replace("memory: '100Mi'", "memory: '256Mi'")
    .replace('scaling: { concurrency: 80 }', 'scaling: { concurrency: 1 }')
    .replace('staging: { replicas: 1 }', "staging: { replicas: 1, secrets: { DATABASE_URL: { secret: 'db-url-staging' } } }");
  writeFileSync(path.join(dir, 'Devfile.ts'), fixed);
  const r = await runCli(['validate'], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /all 3 environments valid \(local, prod, staging\)/);
  // The secret's value never shows.
  assert.doesNotMatch(r.stdout + r.stderr, /dev-token/);
});

test('a function-form Devfile is evaluated for each environment it declares', { timeout: 60_000 }, async () => {
  const dir = fixture();
  writeFileSync(path.join(dir, 'secrets.local.yaml'), 'API_TOKEN: dev-token\n');
  writeFileSync(path.join(dir, 'Devfile.ts'), `import { defineDevfile } from 'devloop';
export default defineDevfile(({ mode }) => ({
  services: { api: { build: { type: 'docker' }, port: 8080, resources: { cpu: '250m', memory: mode === 'prod' ? '64Mi' : '256Mi' } } },
  environments: { staging: {}, prod: {} },
}));
`);
  const r = await runCli(['validate'], { cwd: dir });
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /\[prod\] services\.api\.resources\.memory: Autopilot would change memory requests of Deployment api from 64Mi to 256Mi/);
  assert.doesNotMatch(r.stderr, /\[staging\]/);
});
