/** `devloop init [--from gke-local.yaml]`: writes a Devfile.ts into the current folder. */
import { existsSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import path from 'node:path';
import { DevloopError } from '../../core/errors.js';
import { convertGkeLocalYaml, renderDevfile } from '../../core/devfile/init.js';
import { EXIT, type GlobalOptions } from '../shared.js';

export interface InitOptions { from?: string; name?: string; force: boolean }

export async function init(opts: GlobalOptions, initOpts: InitOptions): Promise<number> {
  const target = path.resolve(opts.cwd, opts.file ?? 'Devfile.ts');
  if (existsSync(target) && !initOpts.force) {
    throw new DevloopError(`${path.relative(opts.cwd, target) || target} already exists`, { code: 'DEVFILE_EXISTS', exitCode: 2, hint: 'pass --force to overwrite it' });
  }
  let source: string;
  if (initOpts.from) {
    const from = path.resolve(opts.cwd, initOpts.from);
    if (!existsSync(from)) throw new DevloopError(`--from: ${initOpts.from} not found`, { code: 'FILE_NOT_FOUND', exitCode: 2 });
    source = convertGkeLocalYaml(readFileSync(from, 'utf8'), path.relative(opts.cwd, from) || initOpts.from, initOpts.name ?? path.basename(path.dirname(target)));
  } else {
    source = renderDevfile({ name: initOpts.name ?? path.basename(path.dirname(target)) });
  }
  writeFileSync(target, source);
  const gitignore = path.join(path.dirname(target), '.gitignore');
  const ignored = existsSync(gitignore) && readFileSync(gitignore, 'utf8').split('\n').some((l) => l.trim() === '.devloop/' || l.trim() === '.devloop');
  if (!ignored) appendFileSync(gitignore, `${existsSync(gitignore) && !readFileSync(gitignore, 'utf8').endsWith('\n') ? '\n' : ''}.devloop/\n`);
  process.stdout.write(`wrote ${path.relative(opts.cwd, target)}${initOpts.from ? ` (converted from ${initOpts.from})` : ''}\nnext: edit its services, then run "devloop up"\n`);
  return EXIT.ok;
}
