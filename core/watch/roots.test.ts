import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coverDirs, ignoreFileDirs, parcelIgnoreGlobs, watchDirFor } from './roots.js';
import { translateWatchError, WATCH_FAILED_CODE, WATCH_LIMIT_CODE } from './errors.js';
import { DevloopError } from '../errors.js';

test('coverDirs keeps the fewest folders covering all', () => {
  assert.deepEqual(coverDirs(['/p/api/src', '/p/api', '/p/web', '/p/web/lib', '/p/api2'], []), ['/p/api', '/p/web', '/p/api2']);
  assert.deepEqual(coverDirs(['/p', '/p/a', '/q'], []), ['/p', '/q']);
});

test('coverDirs keeps a folder the outer watch would skip', () => {
  assert.deepEqual(coverDirs(['/p', '/p/node_modules/@org/lib', '/p/a/b'], ['node_modules', '.git']), ['/p', '/p/node_modules/@org/lib']);
});

test('parcelIgnoreGlobs covers the folder and its content at any depth', () => {
  assert.deepEqual(parcelIgnoreGlobs(['.git']), ['**/.git', '**/.git/**']);
});

test('ignoreFileDirs: folders above the watch roots, up to the project root', () => {
  assert.deepEqual(ignoreFileDirs('/p', ['/p/svc/api', '/p/svc/web'], ['/p/svc/api']), ['/p', '/p/svc']);
  assert.deepEqual(ignoreFileDirs('/p', ['/p'], []), []);
  assert.deepEqual(ignoreFileDirs('/p', ['/p/a'], ['/p/ctx']), ['/p', '/p/ctx']);
  assert.deepEqual(ignoreFileDirs('/p', ['/elsewhere'], []), []);
});

test('watchDirFor: folder, file, missing path', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'devloop-roots-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'a'));
  writeFileSync(join(root, 'a/Devfile.ts'), '');
  assert.equal(await watchDirFor(join(root, 'a'), root), join(root, 'a'));
  assert.equal(await watchDirFor(join(root, 'a/Devfile.ts'), root), join(root, 'a'));
  assert.equal(await watchDirFor(join(root, 'a/not/yet/there.ts'), root), join(root, 'a'));
  assert.equal(await watchDirFor(join(root, 'a/missing'), join(root, 'a/missing/deeper')), join(root, 'a'), 'outside the root: nearest ancestor');
  assert.equal(await watchDirFor('/no-such-dir-devloop/x', root), undefined, 'never the file-system root');
});

test('ENOSPC from the watcher is reported as the inotify watch limit', () => {
  for (const raw of [
    new Error('inotify_add_watch on /p/src failed: No space left on device'),
    Object.assign(new Error('watch /p ENOSPC'), { code: 'ENOSPC' }),
  ]) {
    const err = translateWatchError(raw, '/p');
    assert.ok(err instanceof DevloopError);
    assert.equal(err.code, WATCH_LIMIT_CODE);
    assert.match(err.message, /inotify watch limit/);
    assert.match(err.message, /not a full disk/);
    assert.match(err.hint ?? '', /sysctl fs\.inotify\.max_user_watches=524288/);
    assert.equal(err.cause, raw);
  }
});

test('other watcher errors keep their message', () => {
  const err = translateWatchError(new Error('boom'), '/p') as DevloopError;
  assert.equal(err.code, WATCH_FAILED_CODE);
  assert.match(err.message, /watching \/p: boom/);
});
