import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffYaml, forDiff, unifiedDiff } from './diff.js';

describe('unifiedDiff', () => {
  it('is empty for equal texts', () => {
    assert.equal(unifiedDiff('a\nb\n', 'a\nb\n', 'x', 'y'), '');
  });

  it('shows a new object as all added', () => {
    assert.equal(unifiedDiff('', 'a: 1\nb: 2\n', '/dev/null', 'cm/x'), '--- /dev/null\n+++ cm/x\n@@ -0,0 +1,2 @@\n+a: 1\n+b: 2\n');
  });

  it('prints one hunk with three lines of context, numbered from 1', () => {
    const a = ['l1', 'l2', 'l3', 'l4', 'replicas: 1', 'l6', 'l7', 'l8', 'l9'].join('\n');
    const b = a.replace('replicas: 1', 'replicas: 2');
    assert.equal(unifiedDiff(a, b, 'live', 'new'), [
      '--- live', '+++ new', '@@ -2,7 +2,7 @@', ' l2', ' l3', ' l4', '-replicas: 1', '+replicas: 2', ' l6', ' l7', ' l8', '',
    ].join('\n'));
  });

  it('splits changes far apart into two hunks and keeps near ones in one', () => {
    const a = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`);
    const far = [...a]; far[1] = 'changed 2'; far[17] = 'changed 18';
    const hunks = unifiedDiff(a.join('\n'), far.join('\n'), 'a', 'b').split('\n').filter((l) => l.startsWith('@@'));
    assert.deepEqual(hunks, ['@@ -1,5 +1,5 @@', '@@ -15,6 +15,6 @@']);
    const near = [...a]; near[5] = 'x'; near[10] = 'y';
    assert.equal(unifiedDiff(a.join('\n'), near.join('\n'), 'a', 'b').split('\n').filter((l) => l.startsWith('@@')).length, 1);
  });

  it('shows an insertion and a deletion in the right places', () => {
    const out = unifiedDiff('a\nb\nc\n', 'a\nc\nd\n', 'x', 'y');
    assert.equal(out, '--- x\n+++ y\n@@ -1,3 +1,3 @@\n a\n-b\n c\n+d\n');
  });
});

describe('forDiff and diffYaml', () => {
  it('drops what the server owns and prints keys sorted, so live and dry-run compare field by field', () => {
    const live = {
      kind: 'ConfigMap', apiVersion: 'v1',
      metadata: { name: 'x', uid: 'u', resourceVersion: '7', generation: 2, creationTimestamp: 't', managedFields: [{ manager: 'devloop' }], labels: { b: '1', a: '2' } },
      data: { k: 'v' }, status: { phase: 'x' },
    };
    const text = diffYaml(forDiff(live));
    assert.equal(text, 'apiVersion: v1\ndata:\n  k: v\nkind: ConfigMap\nmetadata:\n  labels:\n    a: "2"\n    b: "1"\n  name: x\n');
    assert.equal(live.metadata.uid, 'u', 'the input is not modified');
  });

  it('a changed env var shows as one changed line', () => {
    const obj = (v: string) => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { template: { spec: { containers: [{ name: 'web', env: [{ name: 'GREETING', value: v }] }] } } } });
    const out = unifiedDiff(diffYaml(obj('hello')), diffYaml(obj('bye')), 'live', 'new');
    assert.deepEqual(out.split('\n').filter((l) => /^[-+][^-+]/.test(l)), ['-              value: hello', '+              value: bye']);
  });
});
