/**
 * The model server as a process: what a Devfile model service runs (core/devfile/model-services.ts
 * builds its command line) and what `devloop models serve` runs in the foreground.
 *
 *   node main.js --name N --model PATH [--port P] [--host H] [--gpu] [--max-batch-size K]
 *                [--max-batch-delay-ms D] [--instances I] [--max-queue Q] [--version-policy JSON]
 *
 * Without --port it listens on $PORT (what devloop's process runtime sets), else 8000. A model
 * that does not load ends the process with status 1 and one line saying why, so devloop marks the
 * service failed; changes after that are reloaded in place (host.ts).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DevloopError } from '../../core/errors.js';
import type { VersionPolicy } from './host.js';
import { ModelServer } from './server.js';

export interface ServeArgs {
  name: string;
  model: string;
  port: number;
  host: string;
  gpu: boolean;
  maxBatchSize: number;
  maxBatchDelayMs: number;
  instances: number;
  maxQueue: number;
  versionPolicy?: VersionPolicy;
}

function integer(flag: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new DevloopError(`${flag} must be an integer of at least ${min}, got ${JSON.stringify(value)}`, { code: 'BAD_FLAGS', exitCode: 2 });
  return n;
}

/** A model name from its file: `models/text-embed.onnx` -> `text-embed`. */
export function nameFromPath(file: string): string {
  const base = path.basename(file).replace(/\.onnx$/i, '');
  const cleaned = base.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  return cleaned || 'model';
}

export function parseServeArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ServeArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      name: { type: 'string' }, model: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, gpu: { type: 'boolean' },
      'max-batch-size': { type: 'string' }, 'max-batch-delay-ms': { type: 'string' }, instances: { type: 'string' },
      'max-queue': { type: 'string' }, 'version-policy': { type: 'string' },
    },
    strict: true,
  });
  if (!values.model) throw new DevloopError('--model PATH is required: a .onnx file or a folder of numbered versions', { code: 'BAD_FLAGS', exitCode: 2 });
  let versionPolicy: VersionPolicy | undefined;
  if (values['version-policy'] !== undefined) {
    try {
      versionPolicy = JSON.parse(values['version-policy']) as VersionPolicy;
    } catch {
      throw new DevloopError(`--version-policy must be JSON like {"latest":1}, {"all":true} or {"specific":[1,3]}, got ${values['version-policy']}`, { code: 'BAD_FLAGS', exitCode: 2 });
    }
  }
  return {
    name: values.name ?? nameFromPath(values.model),
    model: path.resolve(values.model),
    port: integer('--port', values.port ?? env.PORT, 8000, 0),
    host: values.host ?? '127.0.0.1',
    gpu: values.gpu ?? false,
    maxBatchSize: integer('--max-batch-size', values['max-batch-size'], 1, 1),
    maxBatchDelayMs: integer('--max-batch-delay-ms', values['max-batch-delay-ms'], 0, 0),
    instances: integer('--instances', values.instances, 1, 1),
    maxQueue: integer('--max-queue', values['max-queue'], 128, 1),
    versionPolicy,
  };
}

/** Starts the server and stops it on SIGINT/SIGTERM. Resolves with the exit status. */
export async function serve(args: ServeArgs, out: { log(line: string): void; warn(line: string): void; error(line: string): void }): Promise<number> {
  const server = new ModelServer({
    host: args.host, port: args.port, log: out.log, warn: out.warn, error: out.error,
    models: [{ name: args.name, path: args.model, gpu: args.gpu, maxBatchSize: args.maxBatchSize, maxBatchDelayMs: args.maxBatchDelayMs, instances: args.instances, maxQueue: args.maxQueue, versionPolicy: args.versionPolicy, projectDir: process.cwd() }],
  });
  let address: string;
  try {
    address = await server.start();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') out.error(`port ${args.port} on ${args.host} is in use; pass --port with a free one (0 picks any)`);
    else if (err instanceof DevloopError) out.error(`${err.message}${err.hint ? `\n  try: ${err.hint}` : ''}`);
    else out.error(`model "${args.name}" did not start: ${e.message}`);
    return 1;
  }
  const batching = args.maxBatchSize > 1 ? `, batching up to ${args.maxBatchSize} rows or ${args.maxBatchDelayMs} ms` : '';
  out.log(`serving model "${args.name}" at ${address}/v2/models/${args.name} (Open Inference Protocol v2${batching}); metrics at ${address}/metrics`);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      out.log(`${signal}: finishing requests in flight, then stopping`);
      server.close().then(() => resolve(0), () => resolve(1));
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}

const isMain = process.argv[1] !== undefined && import.meta.url === new URL(`file://${path.resolve(process.argv[1])}`).href;
if (isMain) {
  const out = {
    log: (line: string) => process.stdout.write(`${line}\n`),
    warn: (line: string) => process.stderr.write(`warning: ${line}\n`),
    error: (line: string) => process.stderr.write(`error: ${line}\n`),
  };
  let args: ServeArgs;
  try {
    args = parseServeArgs(process.argv.slice(2));
  } catch (err) {
    out.error((err as Error).message);
    process.exit(2);
  }
  process.exitCode = await serve(args, out);
}
