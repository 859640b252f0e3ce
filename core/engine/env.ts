/** The env a service gets in the selected environment: service env, then environment-wide, then per-environment overrides. */
import type { DevfileConfig, ServiceConfig } from '../devfile/types.js';

export function serviceEnv(devfile: DevfileConfig, service: ServiceConfig, mode: string): Record<string, string> {
  return {
    ...(devfile.environments?.[mode]?.env ?? {}),
    ...(service.env ?? {}),
    ...(service.envByEnvironment?.[mode] ?? {}),
  };
}
