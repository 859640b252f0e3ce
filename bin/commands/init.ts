/**
 * `devloop init [--from gke-local.yaml] [DIR]`: writes a Devfile.ts into DIR (default: the current
 * folder), made from what the folder holds (service.yaml, Dockerfile, package.json, else a starter
 * service), and the editor types for `import ... from 'devloop'` (a tsconfig `paths` entry to
 * .devloop/types). `--template NAME` instead copies a whole recipe (init-template.ts).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DevloopError } from '../../core/errors.js';
import { convertGkeLocalYaml, mergeTsconfig, planInit, renderTsconfig, renderTypesShim, TYPES_SHIM } from '../../core/devfile/init.js';
import { EXIT, type GlobalOptions } from '../shared.js';

export interface InitOptions { from?: string; name?: string; force: boolean; template?: string; dir?: string }

// This file is bin/commands/init.ts from source and dist/bin/commands/init.js when built; the
// folder holding `core` is two levels up in either case, as core/devfile/bundle.ts finds it.
const HERE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The type declarations of this running devloop: `import 'devloop'` resolves to it at load time. */
export function devloopTypesFile(): string {
  const roots = [HERE, path.resolve(HERE, '..')];
  const candidates = roots.flatMap((r) => [path.join(r, 'dist/core/index.d.ts'), path.join(r, 'core/index.d.ts')]);
  return candidates.find((c) => existsSync(c)) ?? path.join(HERE, 'core/index.ts');
}

/** The devloop package root (package.json, recipes/): HERE from source, its parent when built. */
function devloopRoot(): string {
  return [HERE, path.resolve(HERE, '..')].find((r) => existsSync(path.join(r, 'recipes'))) ?? HERE;
}

export async function init(opts: GlobalOptions, initOpts: InitOptions): Promise<number> {
  if (initOpts.template) {
    const { copyTemplate } = await import('./init-template.js');
    const dir = path.resolve(opts.cwd, initOpts.dir ?? '.');
    const made = copyTemplate(initOpts.template, dir, devloopRoot(), initOpts.name);
    const shown = path.relative(opts.cwd, dir) || '.';
    process.stdout.write(`wrote ${made.files.length} files into ${shown} (template ${initOpts.template}, service ${made.name})\nnext: ${shown === '.' ? '' : `cd ${shown} && `}${made.next}\n`);
    return EXIT.ok;
  }
  if (initOpts.dir) {
    opts = { ...opts, cwd: path.resolve(opts.cwd, initOpts.dir) };
    mkdirSync(opts.cwd, { recursive: true });
  }
  const target = path.resolve(opts.cwd, opts.file ?? 'Devfile.ts');
  const dir = path.dirname(target);
  const notes: string[] = [];
  const exists = existsSync(target);
  // The types are this machine's: refreshed even when the Devfile exists (a fresh clone, a moved devloop).
  const wroteTypes = writeTypes(dir, notes);
  if (exists && !initOpts.force) {
    throw new DevloopError(`${path.relative(opts.cwd, target) || target} already exists`, { code: 'DEVFILE_EXISTS', exitCode: 2, hint: `pass --force to overwrite it${wroteTypes ? ` (the editor types in ${TYPES_SHIM} were written)` : ''}` });
  }
  let source: string;
  let made = '';
  const written: string[] = [];
  const name = initOpts.name ?? path.basename(dir);
  if (initOpts.from) {
    const from = path.resolve(opts.cwd, initOpts.from);
    if (!existsSync(from)) throw new DevloopError(`--from: ${initOpts.from} not found`, { code: 'FILE_NOT_FOUND', exitCode: 2 });
    source = convertGkeLocalYaml(readFileSync(from, 'utf8'), path.relative(opts.cwd, from) || initOpts.from, name);
    made = ` (converted from ${initOpts.from})`;
  } else {
    const files = readdirSync(dir);
    const read = (f: string) => (files.includes(f) ? readFileSync(path.join(dir, f), 'utf8') : undefined);
    const plan = planInit(name, { files, packageJson: read('package.json'), dockerfile: read('Dockerfile'), serviceYaml: read('service.yaml') });
    source = plan.devfile;
    made = plan.detected === 'starter' ? ' (a starter service)' : ` (from ${plan.detected})`;
    for (const [rel, text] of Object.entries(plan.files)) {
      const file = path.join(dir, rel);
      if (existsSync(file)) continue;
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, text);
      written.push(rel);
    }
  }
  writeFileSync(target, source);
  const gitignore = path.join(dir, '.gitignore');
  const ignored = existsSync(gitignore) && readFileSync(gitignore, 'utf8').split('\n').some((l) => l.trim() === '.devloop/' || l.trim() === '.devloop');
  if (!ignored) appendFileSync(gitignore, `${existsSync(gitignore) && !readFileSync(gitignore, 'utf8').endsWith('\n') ? '\n' : ''}.devloop/\n`);
  const also = [...written, ...(wroteTypes ? [wroteTypes] : [])];
  process.stdout.write(`wrote ${path.relative(opts.cwd, target)}${made}${also.length ? `, ${also.join(', ')}` : ''}\n${notes.map((n) => `note: ${n}\n`).join('')}next: edit its services, then run "devloop up"\n`);
  return EXIT.ok;
}

/** Writes .devloop/types/devloop.d.ts and the tsconfig `paths` entry; returns what it wrote, for the message. */
function writeTypes(dir: string, notes: string[]): string {
  const shim = path.join(dir, TYPES_SHIM);
  mkdirSync(path.dirname(shim), { recursive: true });
  writeFileSync(shim, renderTypesShim(devloopTypesFile()));
  const tsconfig = path.join(dir, 'tsconfig.json');
  if (!existsSync(tsconfig)) {
    writeFileSync(tsconfig, renderTsconfig());
    return `tsconfig.json (editor types for 'devloop')`;
  }
  const merged = mergeTsconfig(readFileSync(tsconfig, 'utf8'));
  if (merged.note) notes.push(merged.note);
  if (merged.text) {
    writeFileSync(tsconfig, merged.text);
    return `tsconfig.json (added paths.devloop)`;
  }
  return '';
}
