/**
 * `devloop models serve FILE.onnx`: one model behind the Open Inference Protocol v2 in the
 * foreground, without a Devfile (plugins/model-serving/main.ts is the same server a Devfile's
 * `ai.modelServing` model runs as a service).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { DevloopError } from '../../core/errors.js';
import { EXIT } from '../shared.js';

export interface ModelsServeOptions {
  cwd: string;
  name?: string;
  port?: number;
  host?: string;
  gpu?: boolean;
  maxBatchSize?: number;
  maxBatchDelayMs?: number;
  instances?: number;
  maxQueue?: number;
}

export async function modelsServe(file: string, o: ModelsServeOptions): Promise<number> {
  const model = path.resolve(o.cwd, file);
  if (!existsSync(model)) {
    throw new DevloopError(`model file not found: ${model}`, { code: 'MODEL_NOT_FOUND', exitCode: EXIT.usage, hint: 'give the path of a .onnx file, or of a folder of numbered versions (1/model.onnx, 2/model.onnx)' });
  }
  const { serve, nameFromPath } = await import('../../plugins/model-serving/main.js');
  const name = o.name ?? nameFromPath(model);
  if (!/^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$/i.test(name)) {
    throw new DevloopError(`invalid model name ${JSON.stringify(name)}: it is part of the URL (/v2/models/NAME)`, { code: 'BAD_FLAGS', exitCode: EXIT.usage, hint: 'use letters, digits, "-", "_" and "."' });
  }
  return serve({
    name, model, port: o.port ?? 8000, host: o.host ?? '127.0.0.1', gpu: o.gpu ?? false,
    maxBatchSize: o.maxBatchSize ?? 1, maxBatchDelayMs: o.maxBatchDelayMs ?? 0, instances: o.instances ?? 1, maxQueue: o.maxQueue ?? 128,
  }, {
    log: (line) => process.stdout.write(`${line}\n`),
    warn: (line) => process.stderr.write(`warning: ${line}\n`),
    error: (line) => process.stderr.write(`error: ${line}\n`),
  });
}
