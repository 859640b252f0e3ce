/**
 * The manifests expert: Kubernetes YAML through devloop's Autopilot admission, Cloud Run YAML
 * through its validator, on the planted and clean fixtures; the resource fix raises values in
 * place and the raised manifest is admitted with no adjustment left.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { planFixes } from '../fix.js';
import { openRepo } from '../repo.js';
import type { Finding } from '../types.js';
import { manifestsExpert } from './manifests.js';

const fixtures = fileURLToPath(new URL('../../../test/fixtures/ghostbusters/', import.meta.url));
const signal = new AbortController().signal;
const where = (fs: Finding[]) => fs.map((f) => `${f.file}:${f.line}:${f.column} ${f.severity} ${f.ruleId}`).sort();
const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

describe('manifests expert', () => {
  it('finds each planted problem at its file:line:column: denials as errors, mutations as warnings', async () => {
    const found = await manifestsExpert.detect(openRepo(path.join(fixtures, 'planted')), signal);
    assert.deepEqual(where(found), [
      'cloudrun/service.yaml:8:29 error manifests/cloud-run-invalid',
      'k8s/pod.yaml:1:1 error manifests/autopilot-denied',
      'k8s/pod.yaml:1:1 warning manifests/autopilot-warning',
      'k8s/web.yaml:19:20 warning manifests/autopilot-resources-raised',
      'k8s/web.yaml:1:1 warning manifests/autopilot-warning',
      'k8s/web.yaml:20:23 warning manifests/autopilot-resources-raised',
      'k8s/web.yaml:23:20 warning manifests/autopilot-resources-raised',
      'k8s/web.yaml:24:23 warning manifests/autopilot-resources-raised',
    ]);
    assert.match(found.find((f) => f.ruleId === 'manifests/autopilot-denied')!.message, /autogke-disallow-privilege/);
    assert.match(found.find((f) => f.ruleId === 'manifests/cloud-run-invalid')!.message, /containerConcurrency/);
  });

  it('finds nothing in the clean fixture', async () => {
    assert.deepEqual(await manifestsExpert.detect(openRepo(path.join(fixtures, 'clean')), signal), []);
  });

  it('raises the values in place (quotes kept), and the raised file is admitted unchanged', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'devloop-manifests-'));
    dirs.push(root);
    const planted = openRepo(path.join(fixtures, 'planted'));
    writeFileSync(path.join(root, 'web.yaml'), planted.read('k8s/web.yaml'));
    const plan = planFixes(root, await manifestsExpert.detect(openRepo(root), signal));
    const after = plan.changes[0].after;
    assert.match(after, /requests:\n\s+cpu: 50m\n\s+memory: "52Mi"/);
    assert.match(after, /limits:\n\s+cpu: 50m\n\s+memory: "52Mi"/);
    writeFileSync(path.join(root, 'web.yaml'), after);
    assert.deepEqual(await manifestsExpert.detect(openRepo(root), signal), []);
  });

  it('a manifest the API server refuses is an error at its line', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'devloop-manifests-'));
    dirs.push(root);
    writeFileSync(path.join(root, 'bad.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: c\n      image: x\n      resources:\n        requests:\n          cpu: -1\n');
    const found = await manifestsExpert.detect(openRepo(root), signal);
    assert.deepEqual(found.map((f) => `${f.ruleId} ${f.line}`), ['manifests/invalid-manifest 11']);
  });
});
