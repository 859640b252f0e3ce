import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mapChangesToTargets } from './targets.js';
import type { Ignorer, WatchTarget } from './types.js';

const none: Ignorer = { ignores: () => false };
const t = (name: string, paths: string[], ignore: Ignorer = none): WatchTarget => ({ name, paths, ignore });
const plain = (m: Map<string, string[]>) => Object.fromEntries(m);

test('a file belongs to the target whose folder contains it, at any depth', () => {
  const m = mapChangesToTargets(['/p/api/src/a/b/c.ts', '/p/web/index.ts', '/p/README.md'], [t('api', ['/p/api']), t('web', ['/p/web/'])]);
  assert.deepEqual(plain(m), { api: ['/p/api/src/a/b/c.ts'], web: ['/p/web/index.ts'] });
});

test('a target path may be a single file', () => {
  const m = mapChangesToTargets(['/p/Dockerfile', '/p/Dockerfile.dev'], [t('api', ['/p/Dockerfile'])]);
  assert.deepEqual(plain(m), { api: ['/p/Dockerfile'] });
});

test('a file shared by two targets is reported for both', () => {
  const m = mapChangesToTargets(['/p/lib/util.ts'], [t('api', ['/p/api', '/p/lib']), t('web', ['/p/lib/util.ts']), t('other', ['/p/other'])]);
  assert.deepEqual(plain(m), { api: ['/p/lib/util.ts'], web: ['/p/lib/util.ts'] });
});

test('nested paths of one target report the file once', () => {
  const m = mapChangesToTargets(['/p/a/b/c', '/p/a/b/c'], [t('x', ['/p/a', '/p/a/b'])]);
  assert.deepEqual(plain(m), { x: ['/p/a/b/c'] });
});

test('prefix traps: /src2 is not inside /src', () => {
  const m = mapChangesToTargets(['/p/src2/a.ts', '/p/src.ts', '/p/src/a.ts'], [t('src', ['/p/src']), t('src2', ['/p/src2'])]);
  assert.deepEqual(plain(m), { src: ['/p/src/a.ts'], src2: ['/p/src2/a.ts'] });
});

test('the root folder contains everything', () => {
  const m = mapChangesToTargets(['/x', '/p/q'], [t('all', ['/'])]);
  assert.deepEqual(plain(m), { all: ['/x', '/p/q'] });
});

test("a target's ignore rules drop files for that target only", () => {
  const noLogs: Ignorer = { ignores: (p) => p.endsWith('.log') };
  const m = mapChangesToTargets(['/p/a.log', '/p/a.ts'], [t('api', ['/p'], noLogs), t('logs', ['/p'])]);
  assert.deepEqual(plain(m), { api: ['/p/a.ts'], logs: ['/p/a.log', '/p/a.ts'] });
});

test('targets without changes are absent', () => {
  assert.equal(mapChangesToTargets(['/q/z'], [t('a', ['/p'])]).size, 0);
});

// The time this takes is a figure in bench/watch.bench.ts ("watch: map 10k files x 50 targets"):
// a bound here failed on a loaded machine and said nothing about speed on an idle one.
test('10,000 files x 50 targets map exactly, in input order, to every target that contains them', { timeout: 30_000 }, () => {
  const targets = Array.from({ length: 50 }, (_, i) => t(`svc${i}`, [`/repo/services/svc${i}`, `/repo/libs/lib${i % 5}`]));
  const files = Array.from({ length: 10_000 }, (_, i) =>
    i % 2 ? `/repo/services/svc${i % 50}/src/deep/er/file${i}.ts` : `/repo/libs/lib${i % 7}/src/file${i}.ts`);
  const m = mapChangesToTargets(files, targets);
  for (const target of targets) {
    const expected = files.filter((f) => target.paths.some((p) => f.startsWith(p + '/')));
    assert.deepEqual(m.get(target.name) ?? [], expected, target.name);
  }
  // lib5 and lib6 belong to no target: those files are absent everywhere.
  assert.equal([...m.values()].flat().some((f) => /\/libs\/lib[56]\//.test(f)), false);
});
