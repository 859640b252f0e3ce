/**
 * `ai.modelServing.models` as services: each model becomes `services.<name>`, run by the existing
 * runtimes, so scheduling, health, logs, `dependsOn` and `devloop render` need nothing of their own
 * for models. load.ts merges these in after validation (checks.ts has refused names that clash).
 *
 * - `process`: this devloop's Node runs the model server (plugins/model-serving/main.ts) on the
 *   model file; ready when `/v2/health/ready` answers 200.
 * - `kubernetes`: the Deployment and Service of plugins/model-serving/kubernetes.ts, as
 *   `k8s.objects`, applied by the kubernetes runtime like any service's objects.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { modelObjects, tuningFlags } from '../../plugins/model-serving/kubernetes.js';
import type { DevfileConfig, ModelConfig, ServiceConfig } from './types.js';

/** The `port` of a `process` model that sets none: the readiness check is HTTP and needs one. */
export const MODEL_BASE_PORT = 8500;

export function modelServices(config: DevfileConfig, devfileDir: string): Record<string, ServiceConfig> {
  const serving = config.ai?.modelServing;
  if (typeof serving !== 'object') return {};
  return Object.fromEntries(serving.models.map((model, index) => [
    model.name,
    model.runtime === 'kubernetes' ? kubernetesService(model) : processService(model, index, devfileDir),
  ]));
}

function processService(model: ModelConfig, index: number, devfileDir: string): ServiceConfig {
  return {
    runtime: 'process',
    // No --port: the process runtime passes PORT, the next free port when `port` is taken.
    command: [...serverCommand(), '--name', model.name, '--model', path.resolve(devfileDir, model.path), ...tuningFlags(model)],
    port: model.port ?? MODEL_BASE_PORT + index,
    health: { http: '/v2/health/ready' },
    restart: 'on-failure',
    // Only the model (watch-targets.ts: `src` replaces the default of the whole project). A
    // running server reloads a changed model itself, so the devloop:model-serving plugin turns
    // the change into no rebuild; a server that is not running (a corrupt file) is started again.
    src: [model.path],
    extensions: { 'devloop:model-serving': { model: model.name } },
    ...(model.resources ? { resources: { ...model.resources } } : {}),
  };
}

function kubernetesService(model: ModelConfig): ServiceConfig {
  return { runtime: 'kubernetes', image: model.image, k8s: { objects: modelObjects(model) } };
}

/**
 * How to start the server: `node dist/plugins/model-serving/main.js` in the built product. Run
 * from the TypeScript sources (devloop's own tests), main.js does not exist; main.ts is run
 * through the tsx loader this process has.
 */
function serverCommand(): string[] {
  const built = fileURLToPath(new URL('../../plugins/model-serving/main.js', import.meta.url));
  const source = built.replace(/\.js$/, '.ts');
  if (!existsSync(built) && import.meta.url.endsWith('.ts') && existsSync(source)) {
    try {
      return [process.execPath, '--import', import.meta.resolve('tsx'), source];
    } catch { /* no tsx: the built path, whose absence the process runtime reports */ }
  }
  return [process.execPath, built];
}
