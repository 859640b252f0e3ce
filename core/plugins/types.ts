/**
 * The plugin API. A plugin is an object `{ name, apply(engine) }`, usually returned by a factory
 * that takes options. `apply` taps the engine's hooks; it runs once when the engine starts.
 */
import type { Engine } from '../engine/engine.js';

export interface DevloopPlugin {
  /** Unique name: `devloop:<name>` for built-ins, the npm package name for third-party ones. */
  name: string;
  /** Taps hooks. May be async (for example to probe a daemon). */
  apply(engine: Engine): void | Promise<void>;
}

/** A factory as exported by a plugin package: `export default function (options) { return { name, apply } }`. */
export type PluginFactory<Options = Record<string, unknown>> = (options: Options) => DevloopPlugin | Promise<DevloopPlugin>;

/**
 * How a Devfile names a plugin:
 * - an inline plugin object;
 * - a string: an npm package name (`devloop-plugin-foo`, `foo` -> tries `devloop-plugin-foo` too,
 *   or any scoped name) resolved from the project, or a relative path (`./plugins/mine.ts`);
 * - a tuple `[nameOrPath, options]`.
 */
export type PluginSpec = DevloopPlugin | string | [string, Record<string, unknown>];
