import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, it } from 'node:test';
import { collectBuildInputs } from './context.js';

const roots: string[] = [];
after(() => { for (const r of roots) rmSync(r, { recursive: true, force: true }); });

function project(files: Record<string, string>): string {
  const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-docker-context-')));
  roots.push(root);
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  }
  return root;
}

it('sends what .dockerignore lets through, with Docker\'s semantics (anchored, !re-include, last match wins)', { timeout: 30_000 }, async () => {
  const root = project({
    'app/Dockerfile': 'FROM x\n',
    'app/.dockerignore': 'node_modules\n*.md\n!README.md\ndocs/**\n!docs/keep.txt\n',
    'app/index.js': '',
    'app/README.md': '',
    'app/NOTES.md': '',
    'app/node_modules/x/index.js': '',
    'app/lib/node_modules/y.js': '',
    'app/docs/a.txt': '',
    'app/docs/keep.txt': '',
  });
  const inputs = await collectBuildInputs(root, { type: 'docker', context: 'app' }, 'api');
  const files = inputs.files.filter((f) => f.type === 'file').map((f) => f.rel);
  assert.deepEqual(files, ['.dockerignore', 'Dockerfile', 'README.md', 'docs/keep.txt', 'index.js', 'lib/node_modules/y.js']);
});

it('sends a Dockerfile from outside the context under a fixed name, and hashes it', { timeout: 30_000 }, async () => {
  const root = project({ 'docker/api.Dockerfile': 'FROM x\n', 'src/a.js': '1' });
  const inputs = await collectBuildInputs(root, { type: 'docker', context: 'src', dockerfile: '../docker/api.Dockerfile' }, 'api');
  assert.equal(inputs.dockerfileInContext, '.devloop.Dockerfile');
  assert.equal(inputs.extra[0].name, '.devloop.Dockerfile');
  writeFileSync(path.join(root, 'docker/api.Dockerfile'), 'FROM y\n');
  const changed = await collectBuildInputs(root, { type: 'docker', context: 'src', dockerfile: '../docker/api.Dockerfile' }, 'api');
  assert.notEqual(changed.hash, inputs.hash);
});

it('hashes content and mode, not mtime', { timeout: 30_000 }, async () => {
  const root = project({ Dockerfile: 'FROM x\n', 'run.sh': 'echo hi\n' });
  const a = await collectBuildInputs(root, { type: 'docker' }, 'api');
  writeFileSync(path.join(root, 'run.sh'), 'echo hi\n'); // same bytes, new mtime
  assert.equal((await collectBuildInputs(root, { type: 'docker' }, 'api')).hash, a.hash);
  chmodSync(path.join(root, 'run.sh'), 0o755);
  assert.notEqual((await collectBuildInputs(root, { type: 'docker' }, 'api')).hash, a.hash);
});

it('says which Dockerfile is missing and how to point at another', { timeout: 30_000 }, async () => {
  const root = project({ 'a.js': '' });
  await assert.rejects(collectBuildInputs(root, { type: 'docker' }, 'api'), (err: Error & { code?: string; hint?: string }) =>
    err.code === 'BUILD_FAILED' && err.message === 'no Dockerfile at Dockerfile' && /services\.api\.build\.dockerfile/.test(err.hint ?? ''));
});
