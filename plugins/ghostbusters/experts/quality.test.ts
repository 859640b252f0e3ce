import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { openRepo } from '../repo.js';
import type { Finding } from '../types.js';
import { qualityExpert } from './quality.js';

const fixtures = path.resolve(import.meta.dirname, '../../../test/fixtures/ghostbusters-quality');
const where = (fs: Finding[]) => fs.map((f) => `${f.file}:${f.line}:${f.column} ${f.ruleId}`);
const detect = (root: string) => qualityExpert.detect(openRepo(root), new AbortController().signal);

describe('quality expert', () => {
  it('finds each planted problem at its file:line:col, with its rule id', async () => {
    const found = await detect(path.join(fixtures, 'planted'));
    assert.deepEqual(where(found), [
      'src/lint.ts:2:1 quality/unused-import',
      'src/lint.ts:4:30 quality/no-explicit-any',
      'src/lint.ts:5:13 quality/eqeqeq',
      'src/lint.ts:8:5 quality/no-empty-catch',
      'src/lint.ts:9:3 quality/no-console-log',
      'src/lint.ts:10:3 quality/no-debugger',
      'src/typed.ts:1:14 quality/ts2322',
    ]);
    const ts2322 = found.find((f) => f.ruleId === 'quality/ts2322')!;
    assert.equal(ts2322.severity, 'error');
    assert.match(ts2322.message, /TS2322: Type 'string' is not assignable to type 'number'/);
    assert.ok(found.every((f) => f.expert === 'quality'));
  });

  it('reports nothing on the clean fixture (no tsconfig.json: strict defaults), near misses included', async () => {
    assert.deepEqual(where(await detect(path.join(fixtures, 'clean'))), []);
  });

  it('keeps the unused locals the project did not ask for out, and reports tsconfig.json problems', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gb-quality-'));
    try {
      writeFileSync(path.join(dir, 'tsconfig.json'), '{ "compilerOptions": { "strict": true, "types": [], "noSuchOption": 1 } }');
      writeFileSync(path.join(dir, 'a.ts'), 'export function f(): number {\n  const unused = 1;\n  return 2;\n}\n');
      const found = await detect(dir);
      assert.deepEqual(where(found), ['tsconfig.json:1:53 quality/ts5023']);
      assert.match(found[0].message, /Unknown compiler option 'noSuchOption'/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops when the run is cancelled', async () => {
    const ac = new AbortController();
    ac.abort(new Error('cancelled by test'));
    await assert.rejects(qualityExpert.detect(openRepo(path.join(fixtures, 'clean')), ac.signal), /cancelled by test/);
  });
});
