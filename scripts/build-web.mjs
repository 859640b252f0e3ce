#!/usr/bin/env node
/**
 * Builds the web dashboard's page (ui/web/client) into dist/web/app.js and dist/web/app.css, the
 * two assets ui/web/server.ts serves. The client is type-checked first with its own tsconfig
 * (DOM lib, no Node types): esbuild only strips types, so a type error would otherwise ship.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const started = Date.now();

const tsc = join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'tsc.cmd' : 'tsc');
if (!existsSync(tsc)) fail(`${tsc} not found; run npm install first`);
const check = spawnSync(tsc, ['-p', 'ui/web/client/tsconfig.json'], { cwd: root, stdio: 'inherit' });
if (check.status !== 0) fail('type errors in ui/web/client (listed above); fix them and run node scripts/build-web.mjs again');

try {
  await esbuild.build({
    absWorkingDir: root,
    entryPoints: { app: 'ui/web/client/main.ts' },
    outdir: 'dist/web',
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    sourcemap: 'external',
    legalComments: 'none',
    logLevel: 'warning',
    // main.ts imports uPlot's CSS and style.css: esbuild writes them, in that order, to app.css.
    loader: { '.css': 'css' },
  });
} catch (err) {
  fail(`esbuild could not bundle ui/web/client/main.ts: ${err instanceof Error ? err.message : err}`);
}
console.log(`build-web: dist/web/app.js, dist/web/app.css in ${Date.now() - started} ms`);

function fail(message) {
  console.error(`build-web: ${message}`);
  process.exit(1);
}
