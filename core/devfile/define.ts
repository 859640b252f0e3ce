/**
 * `defineDevfile()` does nothing at run time. It exists so the editor type-checks a Devfile
 * against `DevfileConfig` (and shows the TSDoc) without the user writing a type annotation.
 */
import type { DevfileConfig, DevfileContext } from './types.js';

/** Declares a Devfile as a plain object. */
export function defineDevfile(config: DevfileConfig): DevfileConfig;
/** Declares a Devfile as a function of the selected environment, the process env and the command. */
export function defineDevfile(
  config: (ctx: DevfileContext) => DevfileConfig | Promise<DevfileConfig>,
): (ctx: DevfileContext) => DevfileConfig | Promise<DevfileConfig>;
export function defineDevfile<T>(config: T): T {
  return config;
}
