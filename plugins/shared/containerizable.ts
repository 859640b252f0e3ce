/**
 * Whether a service could run in a container: a Dockerfile build, an esbuild bundle on a base
 * image, or a ready image. The Docker plugin's `resolveRuntime` uses it to choose, and the process
 * runtime to tell a service that fell back from Docker (its live-update rules name container paths).
 */
import type { ServiceConfig } from '../../core/devfile/types.js';

export function containerizable(config: ServiceConfig): boolean {
  const b = config.build;
  if (!b) return Boolean(config.image);
  return b.type === 'docker' || (b.type === 'esbuild' && Boolean(b.baseImage));
}
