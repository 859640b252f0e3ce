/** What the process runtime runs for a service. */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import type { ServiceConfig } from '../../core/devfile/types.js';
import type { BuildResult } from '../../core/engine/contexts.js';
import { DevloopError } from '../../core/errors.js';
import { toArgv } from '../shared/process-group.js';

/**
 * `command` when given (a string runs under `/bin/sh -c`, an array is executed directly);
 * otherwise the build's output: a JS bundle runs under this devloop's own Node with source maps
 * on, so stack traces point into the TypeScript; a single executable (`go build -o bin/api`)
 * runs as is.
 */
export function serviceArgv(service: string, config: ServiceConfig, build: BuildResult): string[] {
  if (typeof config.command === 'string' ? config.command.trim() : config.command?.length) return toArgv(config.command!);
  const artifacts = build.artifacts ?? [];
  const js = artifacts.find((a) => /\.(m|c)?js$/.test(a));
  if (js && (config.build?.type === 'esbuild' || artifacts.length === 1)) return [process.execPath, '--enable-source-maps', js];
  if (artifacts.length === 1 && isExecutableFile(artifacts[0])) return [artifacts[0]];
  throw new DevloopError(`devloop does not know how to start ${service}`, {
    code: 'NO_COMMAND',
    service,
    hint: artifacts.length
      ? `set services.${service}.command; the build produced ${artifacts.map((a) => path.basename(a)).join(', ')}, none of which is a single JS bundle or executable`
      : `set services.${service}.command, e.g. command: 'node server.js'`,
  });
}

function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
