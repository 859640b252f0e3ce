import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { bundleDevfile } from './bundle.js';
import { locateThrow } from './stack.js';

test('a frame in the temp .mjs is mapped back through the inline source map', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'devloop-stack-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'Devfile.ts');
  await writeFile(path.join(dir, 'helper.ts'), `export function fail(): never {\n  throw new Error('boom');\n}\n`);
  await writeFile(file, `import { fail } from './helper.ts';\ntype T = { a: number };\n\nexport default (): T => fail();\n`);
  const tmp = `${file}.timestamp-1-ab.mjs`;
  const { code, dependencies } = await bundleDevfile(file, tmp, dir);
  // Where the throw landed in the bundle, as a stack frame would name it (1-based).
  const lines = code.split('\n');
  const line = lines.findIndex((l) => l.includes('throw new Error'));
  const column = lines[line].indexOf('throw') + 1;
  const err = new Error('boom');
  err.stack = `Error: boom\n    at fail (${pathToFileURL(tmp).href}?t=5:${line + 1}:${column})\n    at node:internal/x:1:1`;
  assert.deepEqual(locateThrow(err, tmp, code, dependencies), { file: path.join(dir, 'helper.ts'), line: 2, column: 3 });
});

test('a frame already naming a bundled source is taken as is; other frames are skipped', () => {
  const err = new Error('x');
  err.stack = 'Error: x\n    at inner (/elsewhere/lib.js:3:4)\n    at /p/Devfile.ts:7:9\n';
  assert.deepEqual(locateThrow(err, '/p/Devfile.ts.timestamp-1-a.mjs', '', ['/p/Devfile.ts']), { file: '/p/Devfile.ts', line: 7, column: 9 });
  assert.equal(locateThrow('not an error', '/p/t.mjs', '', ['/p/Devfile.ts']), undefined);
});
