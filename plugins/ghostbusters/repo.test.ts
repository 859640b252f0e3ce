import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { DevloopError } from '../../core/errors.js';
import { openRepo } from './repo.js';

const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

function tree(files: Record<string, string | Buffer>): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'devloop-repo-'));
  dirs.push(root);
  for (const [f, body] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    writeFileSync(path.join(root, f), body);
  }
  return root;
}

describe('openRepo', () => {
  it('lists text files, honouring .gitignore at every level and the folders no expert reads', () => {
    const root = tree({
      '.gitignore': '*.log\n/build/\n',
      'src/a.ts': 'export {};\n',
      'src/.gitignore': 'generated.ts\n',
      'src/generated.ts': 'x',
      'src/deep/generated.ts': 'x',
      'app.log': 'x',
      'build/out.js': 'x',
      'node_modules/p/index.js': 'x',
      'dist/x.js': 'x',
      '.devloop/state.json': '{}',
      'README.md': '# r\n',
    });
    const repo = openRepo(root);
    assert.deepEqual(repo.files, ['.gitignore', 'README.md', 'src/.gitignore', 'src/a.ts']);
    assert.equal(repo.read('src/a.ts'), 'export {};\n');
  });

  it('leaves binary and over-1-MiB files out, saying why', () => {
    const root = tree({ 'img.png': Buffer.from([0x89, 0x50, 0x00, 0x47]), 'big.txt': 'a'.repeat(1024 * 1024 + 1), 'ok.txt': 'ok' });
    const repo = openRepo(root, { ignore: ['ok.txt'] });
    assert.deepEqual(repo.files, []);
    assert.deepEqual(repo.skipped.map((s) => s.file).sort(), ['big.txt', 'img.png']);
    assert.match(repo.skipped.find((s) => s.file === 'img.png')!.why, /binary/);
    assert.match(repo.skipped.find((s) => s.file === 'big.txt')!.why, /too large/);
  });

  it('a root that does not exist is a DevloopError with a code and a hint', () => {
    assert.throws(() => openRepo('/nonexistent/devloop-repo'), (err: unknown) => err instanceof DevloopError && err.code === 'GHOSTBUSTERS_REPO_MISSING' && !!err.hint && err.exitCode === 2 && /nonexistent/.test(err.message));
  });
});
