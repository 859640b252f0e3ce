import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isEditorTemp } from './editor-temp.js';
import { ProjectIgnores } from './ignore.js';

const temps = [
  '/p/src/4913', '/p/src/5036', '/p/src/5159', // vim's write probe, and its next names
  '/p/src/.server.ts.swp', '/p/src/.server.ts.swo', '/p/src/.server.ts.swx', '/p/src/.swp', // vim swap
  '/p/src/server.ts~', // backup (vim, emacs, kate, gedit)
  '/p/src/.#server.ts', '/p/src/#server.ts#', // emacs lock and auto-save
  '/p/src/server.ts___jb_tmp___', '/p/src/server.ts___jb_old___', // JetBrains safe write
  '/p/src/.server.ts.kate-swp', // kate
  '/p/src/server.ts.vsctmp', // VS Code atomic write
  '/p/src/.goutputstream-X1Y2Z3', // GIO (gedit)
];

const real = [
  '/p/src/server.ts', '/p/src/4912', '/p/src/4914', '/p/src/2024', '/p/src/123', '/p/src/49130',
  '/p/src/app.swift', '/p/src/swp.ts', '/p/src/config.swp.ts', '/p/src/styles.sass',
  '/p/src/~', '/p/src/#', '/p/src/#tag', '/p/src/.gitignore', '/p/src/readme.md', '/p/src/a~b.ts',
  '/p/src/.vsctmp', '/p/src/___jb_tmp___',
];

test('editor swap, lock, backup and temp files are recognised by name', () => {
  for (const p of temps) assert.equal(isEditorTemp(p), true, p);
});

test('ordinary source names are not taken for editor files', () => {
  for (const p of real) assert.equal(isEditorTemp(p), false, p);
});

test('the ignore rules drop editor files, unless a target names one itself', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'devloop-editor-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const named = join(root, 'notes~');
  const ig = new ProjectIgnores({ root }).forTarget({ name: 'api', paths: [join(root, 'src'), named] });
  assert.equal(ig.ignores(join(root, 'src/.a.ts.swp')), true);
  assert.equal(ig.ignores(join(root, 'src/4913')), true);
  assert.equal(ig.ignores(join(root, 'src/a.ts')), false);
  assert.equal(ig.ignores(named), false, 'named on purpose in src');
});
