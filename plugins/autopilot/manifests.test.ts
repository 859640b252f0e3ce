import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ManifestError, parseManifests, readManifests, scanManifests } from './manifests.js';

describe('manifests', () => {
  it('reads multi-document YAML with the line each object starts on, skipping empty documents', () => {
    const text = '---\napiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\n# nothing here\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: b\n';
    const objs = parseManifests(text, 'all.yaml');
    assert.deepEqual(objs.map((o) => [o.object.kind, o.source.line]), [['Service', 2], ['Deployment', 8]]);
  });

  it('flattens kind: List and skips kustomization.yaml', () => {
    const text = 'apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Pod\n    metadata: {name: p}\n  - apiVersion: v1\n    kind: Service\n    metadata: {name: s}\n---\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [a.yaml]\n';
    assert.deepEqual(parseManifests(text, 'x.yaml').map((o) => [o.object.kind, o.source.line]), [['Pod', 4], ['Service', 7]]);
  });

  it('reports a syntax error as file:line:column', () => {
    assert.throws(() => parseManifests('kind: Pod\nmetadata:\n  name: a: b\n', 'bad.yaml'), (err: unknown) => err instanceof ManifestError && err.message === 'bad.yaml:3:9: Nested mappings are not allowed in compact mappings');
    assert.throws(() => parseManifests('apiVersion: v1\nmetadata: {}\n', 'nokind.yaml'), /nokind\.yaml:1:1: object has no "kind"/);
    assert.deepEqual(parseManifests('- a\n- b\n', 'list.yaml'), [], 'a list is other YAML, skipped (see scanManifests)');
  });

  it('skips YAML that is not a Kubernetes object: one entry for a whole file, one per document in a mixed file', () => {
    assert.deepEqual(scanManifests('replicaCount: 2\nimage: {repository: web}\n', 'values.yaml'),
      { objects: [], errors: [], skipped: [{ file: 'values.yaml', reason: 'not a Kubernetes object (no apiVersion/kind)' }], notes: [] });
    assert.deepEqual(scanManifests('- hosts: all\n', 'play.yml').skipped, [{ file: 'play.yml', reason: 'not a Kubernetes object (a list, not a mapping with apiVersion/kind)' }]);
    assert.deepEqual(scanManifests('apiVersion: v2\nname: chart\nversion: 1.0.0\n', 'Chart.yaml').skipped.map((s) => s.file), ['Chart.yaml'], 'Helm\'s Chart.yaml has apiVersion but no kind or metadata');
    const mixed = scanManifests('apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\nfoo: bar\n', 'mixed.yaml');
    assert.deepEqual(mixed.objects.map((o) => o.object.kind), ['Service']);
    assert.deepEqual(mixed.skipped, [{ file: 'mixed.yaml', line: 5, column: 1, reason: 'not a Kubernetes object (no apiVersion/kind)' }]);
    assert.deepEqual(scanManifests('# only comments\n', 'empty.yaml'), { objects: [], errors: [], skipped: [], notes: [] });
    assert.deepEqual(scanManifests('resources: [a.yaml]\n', 'kustomization.yaml').skipped, [], 'a kustomization.yaml without apiVersion/kind is passed over silently');
  });

  it('keeps the valid objects of a file whose other object fails field validation', () => {
    const s = scanManifests('apiVersion: v1\nkind: Pod\nmetadata: {name: bad}\nspec:\n  containers: {name: a}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: good}\nspec:\n  containers: [{name: a}]\n', 'pods.yaml');
    assert.deepEqual(s.objects.map((o) => o.object.metadata?.name), ['good']);
    assert.deepEqual(s.errors.map((e) => e.message), ['pods.yaml:5:15: spec.containers: expected a list of containers, got a mapping']);
  });

  it('turns the yaml library\'s warnings into located notes and never lets it print them', { timeout: 10_000 }, async () => {
    const printed: string[] = [];
    const onWarning = (w: Error) => { printed.push(w.message); };
    process.on('warning', onWarning);
    try {
      const s = scanManifests('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  ? [a, b]\n  : x\n  y: !vault z\n', 'c.yaml');
      await new Promise((r) => setImmediate(r)); // emitWarning delivers on the next tick
      assert.deepEqual(s.notes.map((n) => `${n.line}:${n.column}`), ['5:5', '7:6']);
      assert.match(s.notes[0].message, /the key \[a, b\] is a list/);
      assert.match(s.notes[1].message, /Unresolved tag: !vault/);
      assert.equal(s.objects.length, 1);
    } finally { process.off('warning', onWarning); }
    assert.deepEqual(printed, []);
  });

  it('reads folders recursively in name order, and stdin for "-"', { timeout: 30_000 }, async (t) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ap-manifests-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(path.join(dir, 'sub'));
    writeFileSync(path.join(dir, 'b.yaml'), 'kind: Service\nmetadata: {name: b}\n');
    writeFileSync(path.join(dir, 'sub', 'a.yml'), 'kind: Service\nmetadata: {name: a}\n');
    writeFileSync(path.join(dir, 'notes.txt'), 'not yaml: [');
    const objs = await readManifests([dir, '-'], { cwd: dir, stdin: 'kind: Pod\nmetadata: {name: piped}\n' });
    assert.deepEqual(objs.map((o) => `${o.source.file}:${o.object.metadata?.name}`), ['b.yaml:b', 'sub/a.yml:a', '<stdin>:piped']);
    await assert.rejects(readManifests(['missing.yaml'], { cwd: dir }), /^ManifestError: file not found: missing\.yaml$/);
  });
});
