/**
 * The built-in plugins, by their `devloop:<name>` ids. Each is an ordinary plugin, written the
 * way a third-party one would be; the CLI applies the default set before the Devfile's own.
 */
import type { DevfileConfig } from '../core/devfile/types.js';
import type { BuiltinRegistry } from '../core/plugins/resolve.js';
import type { DevloopPlugin } from '../core/plugins/types.js';
import { autopilotPlugin } from './autopilot/plugin.js';
import { cloudRunPlugin } from './cloud-run/plugin.js';
import { commandPlugin } from './command/index.js';
import { dockerPlugin } from './docker/index.js';
import { esbuildPlugin } from './esbuild/index.js';
import { kubernetesPlugin } from './kubernetes/index.js';
import { modelServingPlugin } from './model-serving/plugin.js';
import { monitoringPlugin } from './monitoring/plugin.js';
import { processPlugin } from './local-process/index.js';
import { registryPlugin } from './registry/index.js';

export const builtinPlugins: BuiltinRegistry = {
  'devloop:command': commandPlugin,
  'devloop:esbuild': esbuildPlugin,
  'devloop:process': processPlugin,
  'devloop:docker': dockerPlugin,
  'devloop:registry': registryPlugin,
  'devloop:autopilot': autopilotPlugin,
  'devloop:cloud-run': cloudRunPlugin,
  'devloop:kubernetes': kubernetesPlugin,
  'devloop:monitoring': monitoringPlugin,
  'devloop:model-serving': modelServingPlugin,
};

/** The plugins every project gets unless the Devfile lists the same id itself. */
export function defaultPlugins(devfile: DevfileConfig): DevloopPlugin[] {
  const listed = new Set((devfile.plugins ?? []).map((p) => (typeof p === 'string' ? p : Array.isArray(p) ? p[0] : p.name)));
  return Object.entries(builtinPlugins)
    .filter(([id]) => !listed.has(id))
    .map(([, factory]) => factory({}));
}
