/**
 * `devloop init --template ai-service [DIR]`: copies a recipe into a new (or empty) folder and
 * renames it after the project. The copy depends on this devloop through a `file:` dependency
 * (its `devloop/agents` import), so `npm install` there links the very devloop that wrote it.
 * `ai-service-python` (FastAPI) has no package.json: its next step makes a venv in `.venv`, where
 * its Devfile looks for Python (or DEVLOOP_PYTHON).
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../core/errors.js';

/** Recipes that `--template` accepts: each is recipes/<name> in the devloop package. */
export const TEMPLATES = ['ai-service', 'ai-service-python'] as const;

/** Left behind: what `npm install`, `devloop up`, builds, venvs and Python runs make. */
const SKIP = new Set(['node_modules', '.devloop', 'dist', '.venv', '__pycache__', '.pytest_cache']);
/** What to run in the copy before `devloop up`. */
const SETUP: Record<Template, string> = {
  'ai-service': 'npm install',
  'ai-service-python': 'python3 -m venv .venv && .venv/bin/pip install -r requirements.txt',
};
/** Files where the recipe's own name stands for the project's. */
const RENAMED = ['Devfile.ts', 'service.yaml', 'k8s/deployment.yaml', 'k8s/service.yaml'];
// Cloud Run service names: lowercase letters, digits and dashes, starting with a letter, up to 49.
const NAME = /^[a-z]([-a-z0-9]{0,47}[a-z0-9])?$/;

type Template = (typeof TEMPLATES)[number];

export interface TemplateResult { dir: string; name: string; files: string[]; /** The commands to run in the copy, in order (`npm install`, then `devloop up`). */ next: string }

/** `devloopRoot`: the folder holding this devloop's package.json and recipes/. */
export function copyTemplate(template: string, dir: string, devloopRoot: string, name = path.basename(dir)): TemplateResult {
  if (!(TEMPLATES as readonly string[]).includes(template)) {
    throw new UsageError(`unknown template "${template}"`, { code: 'UNKNOWN_TEMPLATE', hint: `use one of: ${TEMPLATES.join(', ')}` });
  }
  const source = path.join(devloopRoot, 'recipes', template);
  if (!existsSync(source)) {
    throw new UsageError(`template "${template}" is missing from this devloop (no ${source})`, { code: 'TEMPLATE_MISSING', hint: 'reinstall devloop; the recipes folder ships with it' });
  }
  if (!NAME.test(name)) {
    throw new UsageError(`"${name}" cannot name the service: Cloud Run wants lowercase letters, digits and dashes, starting with a letter, at most 49`, {
      code: 'BAD_PROJECT_NAME', hint: `pass --name my-service (the folder name "${path.basename(dir)}" is the default)`,
    });
  }
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new UsageError(`${dir} is not empty: a template is only written into a new or empty folder`, {
      code: 'INIT_DIR_NOT_EMPTY', hint: `choose a new folder: devloop init --template ${template} my-service`,
    });
  }
  mkdirSync(dir, { recursive: true });
  cpSync(source, dir, { recursive: true, filter: (src) => !SKIP.has(path.basename(src)) });

  for (const rel of RENAMED) {
    const file = path.join(dir, rel);
    if (existsSync(file)) writeFileSync(file, readFileSync(file, 'utf8').replace(new RegExp(`\\b${template}\\b`, 'g'), name));
  }
  const pkgFile = path.join(dir, 'package.json');
  if (existsSync(pkgFile)) {
    const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { name: string; dependencies?: Record<string, string> };
    pkg.name = name;
    if (pkg.dependencies?.devloop) pkg.dependencies.devloop = `file:${devloopRoot}`;
    writeFileSync(pkgFile, `${JSON.stringify(pkg, null, 2)}\n`);
  }
  return { dir, name, files: listFiles(dir), next: `${SETUP[template as Template]} && devloop up` };
}

function listFiles(dir: string, rel = ''): string[] {
  return readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const child = rel ? `${rel}/${e.name}` : e.name;
    return e.isDirectory() ? listFiles(dir, child) : [child];
  }).sort();
}
