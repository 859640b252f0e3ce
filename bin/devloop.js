#!/usr/bin/env node
// The installed entry point: runs the compiled CLI. From a source checkout, run "npm run build" first.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/bin/devloop.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('devloop: dist/ is missing; run "npm run build" in the devloop checkout first\n');
  process.exit(70);
}
await import(entry.href);
