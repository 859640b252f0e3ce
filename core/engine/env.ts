/**
 * The env a service gets in the selected environment (`--env`), merged from the least specific
 * to the most specific, the later winning on the same name:
 *
 *   1. `environments.<env>.env`          project-wide, for every service in that environment
 *   2. `services.<name>.env`             this service, in every environment
 *   3. `services.<name>.envByEnvironment.<env>`  this service in this environment
 *
 * A value written on a service beats one written for the whole project, and a service's own
 * per-environment value beats both (as a Skaffold profile's or a Helm values file's more specific
 * setting does): an environment-wide default never silently overrides what a service says.
 */
import type { DevfileConfig, ServiceConfig } from '../devfile/types.js';

export function serviceEnv(devfile: DevfileConfig, service: ServiceConfig, mode: string): Record<string, string> {
  return {
    ...(devfile.environments?.[mode]?.env ?? {}),
    ...(service.env ?? {}),
    ...(service.envByEnvironment?.[mode] ?? {}),
  };
}
