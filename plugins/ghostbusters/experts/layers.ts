/**
 * Layering rules for the architecture expert, as a Devfile declares them:
 *
 *   ai: { ghostbusters: { layers: [
 *     { from: 'core/**', notImport: ['ui/**', 'plugins/**', 'ink', 'react'], because: 'the engine runs headless' },
 *   ] } }
 *
 * `from` and path patterns in `notImport` are globs (picomatch) over repository paths; a pattern
 * with no `/` and no glob character names a package (`react` forbids `react` and `react/jsx-runtime`).
 * The Devfile is read through devloop's own loader (bundled and evaluated, like every command
 * does), never by reading its text: a Devfile is a program, and its layers may be computed.
 * There are no default rules: which folder may import which is the project's call.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import { DEVFILE_NAME } from '../../../core/devfile/find.js';

import type { LayerRule } from '../../../core/devfile/types.js';

export type { LayerRule };

export interface LayerMatcher {
  rule: LayerRule;
  index: number;
  /** The pattern of `notImport` an import breaks, or undefined. */
  forbids(from: string, specifier: string, target: string | undefined): string | undefined;
}

const GLOB_CHARS = /[*?[\]{}!]/;

export function compileLayers(rules: readonly LayerRule[]): LayerMatcher[] {
  return rules.map((rule, index) => {
    const from = picomatch(rule.from, { dot: true });
    const tests = rule.notImport.map((pattern) => {
      const isPackage = !GLOB_CHARS.test(pattern) && (!pattern.includes('/') || (pattern.startsWith('@') && pattern.split('/').length === 2));
      const glob = picomatch(pattern, { dot: true });
      return (specifier: string, target: string | undefined): boolean => {
        if (target !== undefined) return glob(target);
        if (specifier.startsWith('.')) return false;
        return isPackage ? specifier === pattern || specifier.startsWith(`${pattern}/`) : glob(specifier);
      };
    });
    return {
      rule, index,
      forbids(file, specifier, target) {
        if (!from(file)) return undefined;
        const i = tests.findIndex((t) => t(specifier, target));
        return i === -1 ? undefined : rule.notImport[i];
      },
    };
  });
}

/** Layers as read from a Devfile, or why they could not be: `problem` names the field and says what to do. */
export interface DevfileLayers {
  layers: LayerRule[];
  problem?: { message: string; line: number; column: number };
}

function invalid(value: unknown, at: string): string | undefined {
  if (!Array.isArray(value)) return `${at} must be a list of { from, notImport } rules`;
  for (const [i, r] of value.entries()) {
    const rule = r as Partial<Record<keyof LayerRule, unknown>>;
    const isGlobs = (v: unknown) => typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string'));
    if (typeof r !== 'object' || r === null) return `${at}.${i} must be an object { from, notImport }`;
    if (!isGlobs(rule.from)) return `${at}.${i}.from must be a glob or a list of globs (e.g. 'core/**')`;
    if (!Array.isArray(rule.notImport) || rule.notImport.length === 0 || !rule.notImport.every((x) => typeof x === 'string')) return `${at}.${i}.notImport must be a non-empty list of globs or package names`;
    if (rule.because !== undefined && typeof rule.because !== 'string') return `${at}.${i}.because must be a string`;
  }
  return undefined;
}

/** The `ai.ghostbusters.layers` of the Devfile at the repository root; none when there is no Devfile there. */
export async function devfileLayers(root: string): Promise<DevfileLayers> {
  const file = path.join(root, DEVFILE_NAME);
  if (!existsSync(file)) return { layers: [] };
  const { loadDevfile } = await import('../../../core/devfile/load.js');
  let config;
  try {
    config = (await loadDevfile({ cwd: root, file: DEVFILE_NAME, command: 'agents' })).config;
  } catch (err) {
    // A ConfigError (the schema checks `layers` too) carries its location on its first issue.
    const e = err as { location?: { line: number; column: number }; issues?: { location?: { line: number; column: number } }[] };
    const loc = e.location ?? e.issues?.find((i) => i.location)?.location;
    return { layers: [], problem: { message: `the Devfile did not load, so its layering rules were not checked: ${(err as Error).message}`, line: loc?.line ?? 1, column: loc?.column ?? 1 } };
  }
  const gb = config.ai?.ghostbusters;
  if (typeof gb !== 'object' || gb === null || gb.layers === undefined) return { layers: [] };
  const why = invalid(gb.layers, 'ai.ghostbusters.layers');
  if (!why) return { layers: gb.layers as LayerRule[] };
  const { locatePath } = await import('../../../core/devfile/locate.js');
  const field = why.split(' ')[0];
  const at = await locatePath(readFileSync(file, 'utf8'), DEVFILE_NAME, field).catch(() => undefined);
  return { layers: [], problem: { message: `${DEVFILE_NAME}: ${why}; layering rules were not checked`, line: at?.line ?? 1, column: at?.column ?? 1 } };
}
