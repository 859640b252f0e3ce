import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { DevloopError } from '../../core/errors.js';
import { assertSyncDestination } from './sync-targets.js';

describe('assertSyncDestination', { timeout: 10_000 }, () => {
  const base = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-sync-')));
  const cwd = path.join(base, 'svc');
  const outside = path.join(base, 'outside');
  mkdirSync(path.join(cwd, 'public'), { recursive: true });
  mkdirSync(outside);
  symlinkSync(outside, path.join(cwd, 'link'));
  after(() => rmSync(base, { recursive: true, force: true }));

  it('allows a file inside the folder, existing or not', async () => {
    await assertSyncDestination(cwd, path.join(cwd, 'public', 'a.txt'), 'r');
    await assertSyncDestination(cwd, path.join(cwd, 'new', 'deep', 'b.txt'), 'r');
  });

  for (const [what, dest] of [['the folder itself', cwd], ['a sibling', path.join(outside, 'a.txt')], ['a path through a symlink that leaves it', path.join(cwd, 'link', 'a.txt')], ['the root', '/']] as const) {
    it(`refuses ${what}`, async () => {
      await assert.rejects(assertSyncDestination(cwd, dest, 'public -> x'), (err: unknown) => err instanceof DevloopError && err.code === 'LIVE_UPDATE_TARGET' && /not inside the service's folder/.test(err.message));
    });
  }
});
