/**
 * Runtime names in the Devfile that no plugin provides. Which runtimes exist is known only once
 * the plugins are applied (a plugin taps `hooks.deploy.for(name)`), so this runs then, before any
 * service is started, rather than with the schema; the error is located like the schema's.
 */
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../errors.js';
import { suggest, type ValidationIssue } from './issues.js';
import type { DevfileConfig } from './types.js';

/** The part of a tapable HookMap this reads. */
export interface DeployHooks {
  get(key: string): { taps: readonly unknown[] } | undefined;
}

/**
 * The runtimes with at least one deploy tap. tapable's HookMap has no public way to list its
 * keys; its `_map` has held them since tapable 1. Without it the list is empty and only the
 * did-you-mean is lost: whether a runtime exists is still asked through `get`.
 */
export function providedRuntimes(deploy: DeployHooks): string[] {
  const map = (deploy as { _map?: unknown })._map;
  if (!(map instanceof Map)) return [];
  return [...map.entries()]
    .filter(([key, hook]) => typeof key === 'string' && (hook as { taps?: unknown[] }).taps?.length)
    .map(([key]) => key as string)
    .sort();
}

/** Every `runtime` field (services and environments) naming a runtime no plugin provides. */
export function runtimeIssues(config: DevfileConfig, deploy: DeployHooks): ValidationIssue[] {
  const provided = providedRuntimes(deploy);
  const known = (name: string) => (deploy.get(name)?.taps.length ?? 0) > 0;
  const issue = (at: string, name: string): ValidationIssue => ({
    path: at,
    message: `no plugin provides runtime ${JSON.stringify(name)}${suggest(name, provided)}`
      + (provided.length ? `; the runtimes here are ${provided.map((r) => JSON.stringify(r)).join(', ')}` : ''),
  });
  const issues: ValidationIssue[] = [];
  for (const [name, svc] of Object.entries(config.services)) {
    if (svc.runtime !== undefined && !known(svc.runtime)) issues.push(issue(`services.${name}.runtime`, svc.runtime));
  }
  for (const [env, settings] of Object.entries(config.environments ?? {})) {
    if (settings.runtime !== undefined && !known(settings.runtime)) issues.push(issue(`environments.${env}.runtime`, settings.runtime));
  }
  return issues;
}

/**
 * Throws a located `ConfigError` (exit 2) when a runtime is unknown. `file` is the Devfile, for
 * the locations; without it the messages name the field only.
 */
export async function checkRuntimes(config: DevfileConfig, deploy: DeployHooks, file?: string, cwd = process.cwd()): Promise<void> {
  const issues = runtimeIssues(config, deploy);
  if (issues.length === 0) return;
  const shown = file ? path.relative(cwd, file) || path.basename(file) : 'the Devfile';
  const source = file ? await readFile(file, 'utf8').catch(() => undefined) : undefined;
  // A config that did not come from a TypeScript Devfile (`cloudrun replace`) has nothing to locate in.
  const located = source !== undefined && /\.[cm]?[jt]sx?$/.test(file!)
    ? await (await import('./locate.js')).locateIssues(source, shown, issues)
    : issues.map(({ path: p, message }) => ({ path: p, message }));
  throw new ConfigError(located, {
    code: 'DEVFILE_RUNTIME',
    hint: `set each runtime above to one a plugin provides, or add the plugin that provides it to "plugins" in ${shown}`,
  });
}
