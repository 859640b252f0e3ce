// The content ledger on real files in a temp folder (no watcher: its decisions only).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, openSync, closeSync, realpathSync, renameSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContentLedger, printOf } from './contents.js';
import { isOwnOutput, ownOutputs } from './own-output.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tempDir(t: { after(fn: () => void): void }): string {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'devloop-ledger-')));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  return root;
}

/** A ledger scanned over `root`, with a watch that began after the files were written. */
async function scanned(root: string): Promise<ContentLedger> {
  await sleep(150); // past the ctime margin: the files predate the watch
  const ledger = new ContentLedger();
  await ledger.scan({ path: root, relevant: () => true, skipDirs: [] }, Date.now());
  return ledger;
}

test('a touch, a save of the same bytes, and delete + write back are no change', async (t) => {
  const root = tempDir(t);
  const a = join(root, 'a.ts');
  const b = join(root, 'b.ts');
  const c = join(root, 'c.ts');
  for (const f of [a, b, c]) writeFileSync(f, 'export const x = 1;\n');
  const ledger = await scanned(root);
  const later = new Date(Date.now() + 5000);
  utimesSync(a, later, later);
  writeFileSync(b, 'export const x = 1;\n');
  unlinkSync(c);
  writeFileSync(c, 'export const x = 1;\n');
  assert.deepEqual(await ledger.changed([a, b, c]), []);
});

test('a real change, a deletion and a new file are changes, reported once each', async (t) => {
  const root = tempDir(t);
  const a = join(root, 'a.ts');
  const gone = join(root, 'gone.ts');
  writeFileSync(a, '1');
  writeFileSync(gone, '1');
  const ledger = await scanned(root);
  writeFileSync(a, '2');
  unlinkSync(gone);
  const fresh = join(root, 'new.ts');
  writeFileSync(fresh, 'x');
  assert.deepEqual(await ledger.changed([a, gone, fresh]), [a, gone, fresh]);
  assert.deepEqual(await ledger.changed([a, gone, fresh]), [], 'what was reported is the new baseline');
  writeFileSync(a, '1');
  assert.deepEqual(await ledger.changed([a]), [a], 'going back is a change too');
});

test('a temp file that comes and goes within a batch is no change; an atomic rename over a file is', async (t) => {
  const root = tempDir(t);
  const a = join(root, 'a.ts');
  writeFileSync(a, '1');
  const ledger = await scanned(root);
  const tmp = join(root, 'a.ts.tmp1234');
  writeFileSync(tmp, '2');
  renameSync(tmp, a);
  assert.deepEqual(await ledger.changed([tmp, a]), [a]);
});

test('a file changed after the watch began is not taken as the baseline', async (t) => {
  const root = tempDir(t);
  const a = join(root, 'a.ts');
  writeFileSync(a, '1');
  await sleep(150);
  const since = Date.now();
  // The edit lands after the watch began but before the scan reads the file; its event is late.
  writeFileSync(a, '2');
  const ledger = new ContentLedger();
  await ledger.scan({ path: root, relevant: () => true, skipDirs: [] }, since);
  assert.deepEqual(await ledger.changed([a]), [a]);
});

test('a path with an event during the scan is reported even when absent now', async (t) => {
  const root = tempDir(t);
  const a = join(root, 'a.ts');
  writeFileSync(a, '1');
  await sleep(150);
  const ledger = new ContentLedger();
  const scan = ledger.scan({ path: root, relevant: () => true, skipDirs: [] }, Date.now());
  unlinkSync(a); // deleted while the scan runs: the scan does not see it, its event does
  ledger.noteEvent(a);
  await scan;
  assert.deepEqual(await ledger.changed([a]), [a]);
});

test('without a finished scan, every path is a change', async (t) => {
  const root = tempDir(t);
  const a = join(root, 'a.ts');
  writeFileSync(a, '1');
  const ledger = new ContentLedger();
  assert.deepEqual(await ledger.changed([a, join(root, 'never.ts')]), [a, join(root, 'never.ts')]);
});

test('ignored folders are not read, and what they hold has no baseline', async (t) => {
  const root = tempDir(t);
  mkdirSync(join(root, 'dist'));
  writeFileSync(join(root, 'dist/out.js'), '1');
  writeFileSync(join(root, 'a.ts'), '1');
  await sleep(150);
  const ledger = new ContentLedger();
  await ledger.scan({ path: root, relevant: (p) => !p.includes('/dist'), skipDirs: [] }, Date.now());
  assert.equal(ledger.size, 1);
  unlinkSync(join(root, 'dist/out.js'));
  assert.deepEqual(await ledger.changed([join(root, 'dist/out.js')]), [join(root, 'dist/out.js')]);
});

test('printOf tells folders, links, missing paths and contents apart', async (t) => {
  const root = tempDir(t);
  writeFileSync(join(root, 'f'), 'x');
  mkdirSync(join(root, 'd'));
  assert.equal(printOf(join(root, 'd')).print, 'dir');
  assert.equal(printOf(join(root, 'nope')).print, 'missing');
  assert.match(printOf(join(root, 'f')).print, /^sha1:[0-9a-f]{40}$/);
});

test('own outputs: a regular file behind a descriptor is named and recognised; a pipe is not', async (t) => {
  const root = tempDir(t);
  const log = join(root, 'out.log');
  const fd = openSync(log, 'a');
  t.after(() => closeSync(fd));
  const own = ownOutputs([fd]);
  if (process.platform === 'linux') assert.deepEqual(own.paths, [log]);
  assert.equal(isOwnOutput(printOf(log).id, own), true);
  writeFileSync(join(root, 'other.log'), '');
  assert.equal(isOwnOutput(printOf(join(root, 'other.log')).id, own), false);
  // The test runner's stdout is a pipe: nothing on disk to ignore.
  assert.deepEqual(ownOutputs([1]).ids, []);
  // The skip hook drops the file and records nothing for it.
  const ledger = new ContentLedger();
  writeFileSync(log, 'line\n');
  assert.deepEqual(await ledger.changed([log], (p) => isOwnOutput(p.id, own)), []);
});
