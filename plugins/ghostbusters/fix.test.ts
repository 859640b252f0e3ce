/**
 * Fix planning: edits applied from the end backwards, overlapping fixes left out with a note,
 * insertions at one point kept in finding order, and a patch that git itself applies.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { applyPlan, planFixes, writePatch } from './fix.js';
import type { Finding, TextEdit } from './types.js';

const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

function repo(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'devloop-fix-'));
  dirs.push(root);
  for (const [f, body] of Object.entries(files)) writeFileSync(path.join(root, f), body);
  return root;
}

let n = 0;
const finding = (...edits: TextEdit[]): Finding => ({
  ruleId: `test/r${++n}`, expert: 'test', message: `m${n}`, severity: 'error', confidence: 'high', file: edits[0].file, line: n, column: 1,
  fix: { description: `fix ${n}`, edits },
});

describe('planFixes', () => {
  it('applies several edits of one file from the end, so each offset is the one read', () => {
    const root = repo({ 'a.txt': 'one two three\n' });
    const plan = planFixes(root, [
      finding({ file: 'a.txt', start: 0, end: 3, text: 'ONE!' }),
      finding({ file: 'a.txt', start: 8, end: 13, text: '3' }),
    ]);
    assert.equal(plan.changes[0].after, 'ONE! two 3\n');
    assert.equal(plan.taken.length, 2);
  });

  it('leaves out the later finding whose edit overlaps one already taken, naming it', () => {
    const root = repo({ 'a.txt': 'abcdef\n' });
    const first = finding({ file: 'a.txt', start: 1, end: 4, text: 'X' });
    const second = finding({ file: 'a.txt', start: 3, end: 5, text: 'Y' }, { file: 'b.txt', start: 0, end: 0, text: 'new\n', create: true });
    const plan = planFixes(root, [first, second]);
    assert.deepEqual(plan.taken, [first]);
    assert.equal(plan.leftOut.length, 1);
    assert.match(plan.leftOut[0].why, new RegExp(`overlaps the fix of ${first.ruleId} at a.txt:${first.line}:1`));
    assert.deepEqual(plan.changes.map((c) => [c.file, c.after]), [['a.txt', 'aXef\n']], 'none of the left-out fix, not even its other file');
  });

  it('keeps insertions at one point in finding order', () => {
    const root = repo({});
    const plan = planFixes(root, [
      finding({ file: 'n.txt', start: 0, end: 0, text: 'A\n', create: true }),
      finding({ file: 'n.txt', start: 0, end: 0, text: 'B\n', create: true }),
    ]);
    assert.equal(plan.changes[0].after, 'A\nB\n');
    assert.equal(plan.changes[0].created, true);
  });

  it('writes a patch git apply accepts, and applying it gives the planned files', () => {
    const root = repo({ 'a.txt': 'keep\nold\nkeep\n', 'c.txt': 'no newline' });
    const plan = planFixes(root, [
      finding({ file: 'a.txt', start: 5, end: 8, text: 'new' }),
      finding({ file: 'd/new.txt', start: 0, end: 0, text: 'hello\n', create: true }),
      finding({ file: 'c.txt', start: 10, end: 10, text: '\nmore' }),
    ]);
    const patch = writePatch(root, plan, new Date('2026-01-02T03:04:05.678Z'));
    assert.equal(path.relative(root, patch), path.join('.devloop', 'agents', 'fixes-2026-01-02T03-04-05-678Z.patch'));
    const check = spawnSync('git', ['apply', '--check', '-v', patch], { cwd: root, encoding: 'utf8' });
    assert.equal(check.status, 0, check.stderr);
    applyPlan(root, plan);
    assert.equal(readFileSync(path.join(root, 'a.txt'), 'utf8'), 'keep\nnew\nkeep\n');
    assert.equal(readFileSync(path.join(root, 'd', 'new.txt'), 'utf8'), 'hello\n');
    assert.equal(readFileSync(path.join(root, 'c.txt'), 'utf8'), 'no newline\nmore');
    const reverse = spawnSync('git', ['apply', '--check', '-R', patch], { cwd: root, encoding: 'utf8' });
    assert.equal(reverse.status, 0, `the applied files are what the patch makes: ${reverse.stderr}`);
  });
});
