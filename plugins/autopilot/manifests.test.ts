import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ManifestError, parseManifests, readManifests } from './manifests.js';

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
    assert.throws(() => parseManifests('- a\n- b\n', 'list.yaml'), /list\.yaml:1:1: expected a Kubernetes object/);
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
    await assert.rejects(readManifests(['missing.yaml'], { cwd: dir }), /missing\.yaml:0:0: no such file or directory/);
  });
});
