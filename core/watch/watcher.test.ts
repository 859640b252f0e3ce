// Integration tests: the real @parcel/watcher on a temp folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createWatcher } from './watcher.js';
import type { WatchBatch, Watcher, WatcherOptions } from './types.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tempProject(files: Record<string, string> = {}): string {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'devloop-watch-')));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
  return root;
}

interface Harness {
  root: string;
  watcher: Watcher;
  batches: WatchBatch[];
  errors: Error[];
  /** Resolves with the first batch (from `from` on) that satisfies `pred`. */
  waitFor(pred: (b: WatchBatch) => boolean, timeoutMs?: number, from?: number): Promise<WatchBatch>;
}

async function start(t: { after(fn: () => unknown): void }, root: string, opts: Partial<WatcherOptions>): Promise<Harness> {
  const batches: WatchBatch[] = [];
  const errors: Error[] = [];
  const waiters: (() => void)[] = [];
  const watcher = await createWatcher({
    root,
    targets: [],
    ...opts,
    onBatch: (b) => { batches.push(b); for (const w of waiters.splice(0)) w(); },
    onError: (e) => { errors.push(e); },
  });
  t.after(async () => {
    await watcher.close();
    rmSync(root, { recursive: true, force: true });
  });
  const waitFor = (pred: (b: WatchBatch) => boolean, timeoutMs = 5000, from = 0) =>
    new Promise<WatchBatch>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching batch in ${timeoutMs} ms; got ${JSON.stringify(batches.map((b) => b.all))}`)), timeoutMs);
      const check = () => {
        const hit = batches.slice(from).find(pred);
        if (hit) { clearTimeout(timer); resolve(hit); } else waiters.push(check);
      };
      check();
    });
  return { root, watcher, batches, errors, waitFor };
}

const plain = (m: Map<string, string[]>) => Object.fromEntries(m);

test('one edit yields one batch for the right target', async (t) => {
  const root = tempProject({ 'api/src/a.ts': '1', 'web/src/b.ts': '1' });
  const h = await start(t, root, { targets: [{ name: 'api', paths: [join(root, 'api')] }, { name: 'web', paths: [join(root, 'web')] }] });
  writeFileSync(join(root, 'api/src/a.ts'), '2');
  const b = await h.waitFor(() => true);
  await sleep(300);
  assert.equal(h.batches.length, 1);
  assert.deepEqual(plain(b.byTarget), { api: [join(root, 'api/src/a.ts')] });
  assert.deepEqual(b.all, [join(root, 'api/src/a.ts')]);
  assert.ok(b.flushedAt >= b.firstEventAt + 99, 'waited for the quiet window');
  assert.deepEqual(h.errors, []);
});

test('gitignored and .devloop files never appear, nor make empty batches', async (t) => {
  const root = tempProject({ '.gitignore': '*.log\ndist/\nnode_modules/\n', 'api/src/a.ts': '1', 'api/node_modules/x/i.js': '1' });
  const h = await start(t, root, { targets: [{ name: 'api', paths: [join(root, 'api')] }] });
  mkdirSync(join(root, 'api/dist'));
  writeFileSync(join(root, 'api/dist/out.js'), 'x');
  writeFileSync(join(root, 'api/debug.log'), 'x');
  writeFileSync(join(root, 'api/node_modules/x/i.js'), '2');
  mkdirSync(join(root, 'api/.devloop'));
  writeFileSync(join(root, 'api/.devloop/state.json'), '{}');
  await sleep(400);
  assert.equal(h.batches.length, 0, JSON.stringify(h.batches.map((b) => b.all)));
  writeFileSync(join(root, 'api/src/a.ts'), '2');
  writeFileSync(join(root, 'api/other.log'), 'x');
  const b = await h.waitFor(() => true);
  assert.deepEqual(b.all, [join(root, 'api/src/a.ts')]);
});

test('a changed .gitignore is re-read', async (t) => {
  const root = tempProject({ '.gitignore': '', 'api/a.ts': '1' });
  const h = await start(t, root, { targets: [{ name: 'api', paths: [join(root, 'api')] }] });
  writeFileSync(join(root, '.gitignore'), '*.tmp\n');
  await sleep(300); // the root is not watched recursively: this goes through a folder watch
  writeFileSync(join(root, 'api/x.tmp'), 'x');
  writeFileSync(join(root, 'api/a.ts'), '2');
  const b = await h.waitFor(() => true);
  assert.deepEqual(b.all, [join(root, 'api/a.ts')]);
});

test('extra files are reported in batch.files even if no target has them', async (t) => {
  const root = tempProject({ 'Devfile.ts': '1', 'lib/config.ts': '1', 'api/a.ts': '1', 'README.md': '' });
  const devfile = join(root, 'Devfile.ts');
  const h = await start(t, root, { targets: [{ name: 'api', paths: [join(root, 'api')] }], files: [devfile] });
  writeFileSync(join(root, 'README.md'), 'not watched');
  writeFileSync(devfile, '2');
  const b = await h.waitFor(() => true);
  assert.deepEqual(b.files, [devfile]);
  assert.deepEqual(b.all, [devfile]);
  assert.equal(b.byTarget.size, 0);
});

test('files written into a brand-new folder are all reported', async (t) => {
  const root = tempProject({ 'api/a.ts': '1' });
  const h = await start(t, root, { targets: [{ name: 'api', paths: [join(root, 'api')] }] });
  // Written before inotify can add a watch on the new folders.
  mkdirSync(join(root, 'api/new/deep'), { recursive: true });
  for (let i = 0; i < 20; i++) writeFileSync(join(root, `api/new/deep/f${i}.ts`), 'x');
  const seen = new Set<string>();
  await h.waitFor((b) => { for (const p of b.all) seen.add(p); return seen.has(join(root, 'api/new/deep/f19.ts')); });
  for (let i = 0; i < 20; i++) assert.ok(seen.has(join(root, `api/new/deep/f${i}.ts`)), `f${i}`);
});

test('update() adds and removes targets', async (t) => {
  const root = tempProject({ 'api/a.ts': '1', 'web/b.ts': '1' });
  const h = await start(t, root, { targets: [{ name: 'api', paths: [join(root, 'api')] }] });
  await h.watcher.update([{ name: 'web', paths: [join(root, 'web')] }]);
  writeFileSync(join(root, 'api/a.ts'), '2');
  writeFileSync(join(root, 'web/b.ts'), '2');
  const b = await h.waitFor(() => true);
  await sleep(200);
  assert.equal(h.batches.length, 1);
  assert.deepEqual(plain(b.byTarget), { web: [join(root, 'web/b.ts')] });
});

test('a target path that does not exist yet is picked up when created', async (t) => {
  const root = tempProject({ 'api/a.ts': '1' });
  const h = await start(t, root, { targets: [{ name: 'gen', paths: [join(root, 'gen/out.json')] }] });
  mkdirSync(join(root, 'gen'));
  writeFileSync(join(root, 'gen/other.json'), '{}');
  writeFileSync(join(root, 'gen/out.json'), '{}');
  const b = await h.waitFor(() => true);
  assert.deepEqual(plain(b.byTarget), { gen: [join(root, 'gen/out.json')] });
});

test('a touch or a save of the same content is not reported; a real change is', async (t) => {
  const root = tempProject({ 'api/a.ts': 'export const a = 1;\n', 'api/b.ts': 'b', 'Devfile.ts': 'x' });
  await sleep(150); // the files predate the watch, so their contents are the baseline
  const h = await start(t, root, { targets: [{ name: 'api', paths: [join(root, 'api')] }], files: [join(root, 'Devfile.ts')] });
  await h.watcher.settled();
  const later = new Date(Date.now() + 10_000);
  utimesSync(join(root, 'api/a.ts'), later, later); // touch
  writeFileSync(join(root, 'api/b.ts'), 'b'); // a save without change
  writeFileSync(join(root, 'Devfile.ts'), 'x');
  rmSync(join(root, 'api/b.ts'));
  writeFileSync(join(root, 'api/b.ts'), 'b'); // gone and back, the same
  await sleep(600);
  await h.watcher.settled();
  assert.deepEqual(h.batches.map((b) => b.all), []);
  writeFileSync(join(root, 'api/a.ts'), 'export const a = 2;\n');
  const b = await h.waitFor(() => true);
  assert.deepEqual(plain(b.byTarget), { api: [join(root, 'api/a.ts')] });
});

test('a vim-style save names the real file, never the probe, swap or backup files', async (t) => {
  const root = tempProject({ 'api/a.ts': '1' });
  await sleep(150);
  // A 1 s quiet window: the save's steps stay in one batch even on a loaded machine.
  const h = await start(t, root, { debounceMs: 1000, targets: [{ name: 'api', paths: [join(root, 'api')] }] });
  await h.watcher.settled();
  const a = join(root, 'api/a.ts');
  // What vim does on :w with 'writebackup' and no 'backupcopy': probe the folder with 4913,
  // rename the file to its backup, write the new file, delete the backup; its swap file is
  // written meanwhile.
  writeFileSync(join(root, 'api/.a.ts.swp'), 'swap 1');
  writeFileSync(join(root, 'api/4913'), '');
  rmSync(join(root, 'api/4913'));
  renameSync(a, `${a}~`);
  writeFileSync(a, '2');
  rmSync(`${a}~`);
  writeFileSync(join(root, 'api/.a.ts.swp'), 'swap 2');
  const b = await h.waitFor(() => true);
  await sleep(1300);
  assert.deepEqual(h.batches.map((x) => x.all), [[a]]);
  assert.deepEqual(plain(b.byTarget), { api: [a] });
});

test('a write through a temp file renamed over the real one names the real file', async (t) => {
  const root = tempProject({ 'api/a.ts': '1' });
  await sleep(150);
  const h = await start(t, root, { debounceMs: 1000, targets: [{ name: 'api', paths: [join(root, 'api')] }] });
  await h.watcher.settled();
  const a = join(root, 'api/a.ts');
  // A temp name no rule knows (write-file-atomic's `<file>.<hash>`): it is gone by the flush.
  // The pause puts the two steps in separate slices from the backend, which would otherwise fold
  // a create and a delete of one path into nothing; the batch's quiet window still spans both.
  writeFileSync(`${a}.3735928559`, '2');
  await sleep(40);
  renameSync(`${a}.3735928559`, a);
  const b = await h.waitFor(() => true);
  assert.deepEqual(b.all, [a]);
});

test('no zombie child process is left by starting the watcher (no watchman probe)', { skip: process.platform !== 'linux' && 'reads /proc' }, async (t) => {
  const root = tempProject({ 'api/a.ts': '1' });
  await start(t, root, { targets: [{ name: 'api', paths: [join(root, 'api')] }] });
  await sleep(300); // a probe's shell exits at once; what matters is that it is never reaped
  const zombies = childrenOf(process.pid).filter((c) => c.state === 'Z');
  assert.deepEqual(zombies, []);
});

/** The child processes of `pid`, from /proc/<child>/stat. */
function childrenOf(pid: number): { pid: number; comm: string; state: string }[] {
  const out: { pid: number; comm: string; state: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try { stat = readFileSync(`/proc/${entry}/stat`, 'utf8'); } catch { continue; }
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split at the last ')'.
    const close = stat.lastIndexOf(')');
    const [state, ppid] = stat.slice(close + 2).split(' ');
    if (Number(ppid) === pid) out.push({ pid: Number(entry), comm: stat.slice(stat.indexOf('(') + 1, close), state });
  }
  return out;
}

/** Writes `count` files over `dirs` as fast as fs.promises allows, in parallel chunks. */
async function burst(root: string, dirs: string[], count: number): Promise<{ files: string[]; ms: number }> {
  const files = Array.from({ length: count }, (_, i) => join(root, dirs[i % dirs.length], `file${i}.ts`));
  const t0 = performance.now();
  for (let i = 0; i < files.length; i += 500) await Promise.all(files.slice(i, i + 500).map((f) => writeFile(f, `export const v = ${f.length};\n`)));
  return { files, ms: performance.now() - t0 };
}

const describe = (batches: WatchBatch[], t0: number) =>
  batches.map((b) => `${(b.firstEventAt - t0).toFixed(0)}-${(b.flushedAt - t0).toFixed(0)}: ${b.all.length}`).join(', ');

function burstProject(): { root: string; dirs: string[] } {
  const root = tempProject({ 'a/pkg/one/.keep': '', 'a/pkg/two/.keep': '', 'b/x.ts': '' });
  return { root, dirs: ['a/pkg/one', 'a/pkg/two'] };
}

test('a 10,000-file burst arrives as few batches holding every file (default timing)', async (t) => {
  const { root, dirs } = burstProject();
  const h = await start(t, root, { targets: [{ name: 'A', paths: [join(root, 'a')] }, { name: 'B', paths: [join(root, 'b')] }] });
  const t0 = performance.now();
  const { files, ms } = await burst(root, dirs, 10_000);
  const seen = new Set<string>();
  await h.waitFor((b) => { for (const p of b.byTarget.get('A') ?? []) seen.add(p); return seen.size >= files.length; }, 20_000);
  await sleep(300);
  const withA = h.batches.filter((b) => b.byTarget.has('A')).length;
  t.diagnostic(`burst written in ${ms.toFixed(0)} ms; batches (start-end ms: files): ${describe(h.batches, t0)}`);
  assert.ok(withA <= Math.ceil(ms / 2000) + 2, `${withA} batches for a ${ms.toFixed(0)} ms burst`);
  assert.deepEqual([...seen].sort(), [...files].sort());
  assert.ok(h.batches.every((b) => !b.byTarget.has('B')));
});

test('a 10,000-file burst is exactly one batch when maxWait exceeds the burst', async (t) => {
  const { root, dirs } = burstProject();
  // What is checked is that maxWait does not cut a burst. The quiet window is 1 s here, not the
  // default 100 ms: this process writes the burst itself, and on a loaded machine (four test files
  // at once) its writes can pause for longer than 100 ms, which rightly ends a batch.
  const h = await start(t, root, { maxWaitMs: 60_000, debounceMs: 1000, targets: [{ name: 'A', paths: [join(root, 'a')] }, { name: 'B', paths: [join(root, 'b')] }] });
  const t0 = performance.now();
  const { files, ms } = await burst(root, dirs, 10_000);
  await h.waitFor(() => true, 20_000);
  await sleep(1500);
  t.diagnostic(`burst written in ${ms.toFixed(0)} ms; batches (start-end ms: files): ${describe(h.batches, t0)}`);
  assert.equal(h.batches.length, 1);
  assert.equal(h.batches[0].byTarget.get('A')?.length, files.length);
  assert.deepEqual([...h.batches[0].byTarget.keys()], ['A']);
});

test('a burst over more folders than the probe covers still arrives as few batches', async (t) => {
  const root = tempProject({ 'b/x.ts': '' });
  const dirs = Array.from({ length: 40 }, (_, i) => `a/d${i}`);
  for (const d of dirs) mkdirSync(join(root, d), { recursive: true });
  const h = await start(t, root, { maxWaitMs: 60_000, targets: [{ name: 'A', paths: [join(root, 'a')] }] });
  const { files, ms } = await burst(root, dirs, 10_000);
  const seen = new Set<string>();
  await h.waitFor((b) => { for (const p of b.all) seen.add(p); return seen.size >= files.length; }, 20_000);
  t.diagnostic(`burst over 40 folders written in ${ms.toFixed(0)} ms, delivered in ${h.batches.length} batch(es)`);
  assert.ok(h.batches.length <= 3, `${h.batches.length} batches`);
  assert.equal(seen.size, files.length);
});

test('close() leaves the process able to exit', async () => {
  const root = tempProject({ 'api/a.ts': '1' });
  const url = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), 'watcher.ts')).href;
  const code = `
    import { writeFileSync } from 'node:fs';
    const { createWatcher } = await import(${JSON.stringify(url)});
    const root = ${JSON.stringify(root)};
    let done;
    const got = new Promise((r) => (done = r));
    const w = await createWatcher({ root, targets: [{ name: 'api', paths: [root + '/api'] }], files: [root + '/Devfile.ts'],
      onBatch: done, onError: (e) => { console.error(e); process.exit(3); } });
    writeFileSync(root + '/api/a.ts', '2');
    await got;
    writeFileSync(root + '/api/a.ts', '3'); // leaves a pending batch and its timer behind
    await new Promise((r) => setTimeout(r, 20));
    await w.close();
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'inherit', 'inherit'] });
  const exit = await Promise.race([
    new Promise<number | null>((r) => child.on('exit', (c) => r(c))),
    sleep(15_000).then(() => 'timeout' as const),
  ]);
  if (exit === 'timeout') child.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
  assert.equal(exit, 0);
});
