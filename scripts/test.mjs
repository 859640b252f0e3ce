#!/usr/bin/env node
// Runs every *.test.ts / *.test.tsx under the source folders with node's own test runner.
// Node 20 has no glob support in `--test`, so the file list is collected here.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const roots = ['core', 'plugins', 'ui', 'bin', 'test'];
const skipDirs = new Set(['node_modules', 'dist', 'fixtures']);
const filter = process.argv.slice(2);

function collect(dir, out) {
  let entries;
  try { entries = readdirSync(dir); } catch { return out; }
  for (const name of entries) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) { if (!skipDirs.has(name)) collect(p, out); }
    else if (/\.test\.tsx?$/.test(name)) out.push(relative(root, p));
  }
  return out;
}

let files = roots.flatMap((r) => collect(join(root, r), [])).sort();
if (filter.length) files = files.filter((f) => filter.some((x) => f.includes(x)));
if (files.length === 0) { console.error('no test files matched'); process.exit(1); }

// A backstop for hangs: Node 20 applies --test-timeout to each test file as a whole (its children
// do not inherit it), so a file that hangs fails after this long instead of holding CI for its
// 90 minutes. Tests and suites also carry their own, shorter timeouts.
const fileTimeoutMs = Number(process.env.DEVLOOP_TEST_FILE_TIMEOUT_MS ?? 600_000);
// Two files at a time fits the 2-core machines this runs on; DEVLOOP_TEST_CONCURRENCY=4 checks
// that the suite holds under more contention.
const concurrency = Number(process.env.DEVLOOP_TEST_CONCURRENCY ?? 2);
const args = ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, `--test-timeout=${fileTimeoutMs}`, ...files];
const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
