#!/usr/bin/env node
// Runs every bench/*.bench.ts (or those matching argv filters) and prints a table of figures,
// each with the baseline measured in the same run. Results also go to bench/results/latest.json.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);
const files = readdirSync(join(root, 'bench')).filter((f) => f.endsWith('.bench.ts') && (!filters.length || filters.some((x) => f.includes(x)))).sort();
const all = [];
for (const file of files) {
  // Each bench runs in its own process so one's warm caches and handles cannot skew another's.
  const res = spawnSync(process.execPath, ['--import', 'tsx', '-e', `
    const m = await import(${JSON.stringify(join(root, 'bench', file))});
    const results = await m.run();
    process.stdout.write('\\n@@RESULTS@@' + JSON.stringify(results) + '\\n');
    process.exit(0);
  `], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 15 * 60_000 });
  const marker = res.stdout?.split('\n').find((l) => l.startsWith('@@RESULTS@@'));
  if (!marker) {
    console.error(`${file}: no results (exit ${res.status})\n${res.stdout ?? ''}`);
    process.exitCode = 1;
    continue;
  }
  for (const r of JSON.parse(marker.slice('@@RESULTS@@'.length))) all.push({ bench: file.replace('.bench.ts', ''), ...r });
}
const rows = [['bench', 'figure', 'value', 'baseline (same run)', 'note']];
const fmt = (v, unit) => `${Number.isInteger(v) ? v : v.toFixed(v < 10 ? 2 : 1)} ${unit}`;
for (const r of all) rows.push([r.bench, r.name, fmt(r.value, r.unit), r.baseline ? `${r.baseline.name}: ${fmt(r.baseline.value, r.unit)}` : '', r.note ?? '']);
const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
for (const row of rows) console.log(row.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd());
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
writeFileSync(join(root, 'bench', 'results', 'latest.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, results: all }, null, 2));
