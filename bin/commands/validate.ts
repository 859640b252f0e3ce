/**
 * `devloop validate`: the Devfile checked for every environment it declares (and `local`), before
 * anyone deploys: the shape (as every command does), then what each environment's production would
 * change or refuse (plugins/production/environments-check.ts). Exit 0 when all are clean, 2 with
 * each problem at its field path otherwise.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { loadDevfile, type LoadedDevfile } from '../../core/devfile/load.js';
import { locateIssues } from '../../core/devfile/locate.js';
import { findDevfile } from '../../core/devfile/find.js';
import { EXIT, type GlobalOptions } from '../shared.js';

export async function validate(opts: GlobalOptions): Promise<number> {
  await findDevfile(opts.cwd, opts.file);
  const first = await loadDevfile({ file: opts.file, cwd: opts.cwd, mode: 'local', command: 'validate', env: process.env });
  const envs = ['local', ...Object.keys(first.config.environments ?? {}).filter((e) => e !== 'local').sort()];
  const byEnv = new Map<string, LoadedDevfile>([['local', first]]);
  // A function-form Devfile can differ per environment: each is evaluated for its own mode.
  for (const env of envs.slice(1)) byEnv.set(env, await loadDevfile({ file: opts.file, cwd: opts.cwd, mode: env, command: 'validate', env: process.env }));
  const { checkEnvironments } = await import('../../plugins/production/environments-check.js');
  const found = checkEnvironments(byEnv);
  // Each at the Devfile line that sets the field (or the nearest enclosing one when it is missing).
  const shown = path.relative(opts.cwd, first.file) || first.file;
  const located = await locateIssues(await readFile(first.file, 'utf8'), shown, found);
  const issues = found.map((i, n) => ({ ...i, location: located[n]?.location ? { file: shown, line: located[n]!.location!.line, column: located[n]!.location!.column } : undefined }));
  if (opts.output === 'json') {
    process.stdout.write(`${JSON.stringify({ devfile: first.file, environments: envs, ok: issues.length === 0, issues }, null, 2)}\n`);
    return issues.length ? EXIT.usage : EXIT.ok;
  }
  for (const i of issues) {
    const where = i.location ? `${i.location.file}:${i.location.line}:${i.location.column} ` : '';
    process.stderr.write(`error: ${where}[${i.env}] ${i.path}: ${i.message}\n`);
    if (i.hint) process.stderr.write(`  try: ${i.hint}\n`);
  }
  if (issues.length) {
    process.stderr.write(`${issues.length} problem${issues.length === 1 ? '' : 's'} in ${new Set(issues.map((i) => i.env)).size} of ${envs.length} environments (${envs.join(', ')})\n`);
    return EXIT.usage;
  }
  process.stdout.write(`${first.file}: all ${envs.length} environments valid (${envs.join(', ')})\n`);
  return EXIT.ok;
}
