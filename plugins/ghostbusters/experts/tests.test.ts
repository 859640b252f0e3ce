import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { openRepo } from '../repo.js';
import type { Finding } from '../types.js';
import { testsExpert } from './tests.js';

const fixtures = path.resolve(import.meta.dirname, '../../../test/fixtures/ghostbusters-quality');
const where = (fs: Finding[]) => fs.map((f) => `${f.file}:${f.line}:${f.column} ${f.ruleId}`);
const detect = (root: string) => testsExpert.detect(openRepo(root), new AbortController().signal);

/**
 * The planted fixture with its test file of skipped and todo tests made here, from a template
 * whose markers are placeholders: the repository itself holds no skipped test.
 */
function planted(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'devloop-tests-expert-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(path.join(fixtures, 'planted'), dir, { recursive: true });
  const template = path.join(dir, 'src', 'helper.test.ts.template');
  const words: Record<string, string> = { skip: 'skip', todo: 'todo', xit: 'xit' };
  writeFileSync(path.join(dir, 'src', 'helper.test.ts'), readFileSync(template, 'utf8').replace(/\{\{(\w+)\}\}/g, (_m, w: string) => words[w]));
  rmSync(template);
  return dir;
}

describe('tests expert', () => {
  it('finds untested modules, a test that calls nothing, and each form of skipped test', async () => {
    const found = await detect(planted());
    assert.deepEqual(where(found), [
      'src/core/engine.ts:1:1 tests/untested-source',
      'src/cycle-a.ts:1:1 tests/untested-source',
      'src/cycle-b.ts:1:1 tests/untested-source',
      'src/helper.test.ts:8:3 tests/no-assertion',
      'src/helper.test.ts:11:3 tests/skipped-test', // it.skip
      'src/helper.test.ts:14:3 tests/skipped-test', // test.todo
      'src/helper.test.ts:15:3 tests/skipped-test', // { skip: true }
      'src/helper.test.ts:18:3 tests/skipped-test', // xit
      'src/helper.test.ts:26:1 tests/skipped-test', // describe.skip
      'src/lint.ts:1:1 tests/untested-source',
      'src/typed.ts:1:1 tests/untested-source',
      'src/ui/view.ts:1:1 tests/untested-source',
    ]);
    // covered.ts (imported by test/covered.test.ts), helper.ts (helper.test.ts beside it), shapes.ts
    // and type-*.ts (types only), Devfile.ts (configuration) and `{ skip: <condition> }` are not findings.
    assert.equal(found.find((f) => f.ruleId === 'tests/no-assertion')!.confidence, 'medium');
    assert.match(found.find((f) => f.line === 26)!.message, /describe\.skip: this suite does not run/);
  });

  it('reports nothing on the clean fixture', async () => {
    assert.deepEqual(where(await detect(path.join(fixtures, 'clean'))), []);
  });
});
