/**
 * The model a Devfile names for the crew (`ai.ghostbusters.model`), read through devloop's own
 * loader like the layering rules (layers.ts): a Devfile is a program, and its values may be
 * computed. The schema (core/devfile/schema.ts) has already checked the shape when this returns.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { DEVFILE_NAME } from '../../core/devfile/find.js';
import type { ModelConfig } from './model.js';

/** `ai.ghostbusters.model` of the Devfile at the repository root; undefined when there is no Devfile or no model. A Devfile that does not load throws its own error. */
export async function devfileModel(root: string): Promise<ModelConfig | undefined> {
  if (!existsSync(path.join(root, DEVFILE_NAME))) return undefined;
  const { loadDevfile } = await import('../../core/devfile/load.js');
  const { config } = await loadDevfile({ cwd: root, file: DEVFILE_NAME, command: 'agents' });
  const gb = config.ai?.ghostbusters;
  return typeof gb === 'object' && gb !== null ? gb.model : undefined;
}
