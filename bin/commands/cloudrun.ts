/**
 * `devloop cloudrun validate FILE...`: checks Knative Service YAML the way Cloud Run would, and
 * prints what each file deploys (or every problem, with file:line:col and field path).
 *
 * `devloop cloudrun replace FILE`: the local `gcloud run services replace`: serves the service
 * the YAML describes (its image, run as is) behind the Cloud Run simulator until Ctrl-C or
 * `devloop down`, applying the file again whenever it is saved: a changed template makes a new
 * revision, a changed traffic block moves traffic.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { LoadedDevfile } from '../../core/devfile/load.js';
import type { DevfileConfig } from '../../core/devfile/types.js';
import { DevloopError } from '../../core/errors.js';
import { parseServiceYaml } from '../../plugins/cloud-run/spec.js';
import type { CloudRunSpec } from '../../plugins/cloud-run/types.js';
import { EXIT, reportError, type GlobalOptions } from '../shared.js';
import { up } from './up.js';

function readSpec(file: string, cwd: string): CloudRunSpec {
  const abs = path.resolve(cwd, file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    throw new DevloopError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`, {
      code: 'CLOUD_RUN_SPEC', exitCode: 2, hint: 'give the path of a Knative Service YAML (gcloud run services describe NAME --format export > service.yaml)',
    });
  }
  return parseServiceYaml(text, path.relative(cwd, abs) || file);
}

export async function cloudrunValidate(opts: Pick<GlobalOptions, 'output' | 'cwd' | 'color'>, files: string[]): Promise<number> {
  if (files.length === 0) throw new DevloopError('cloudrun validate needs at least one file', { code: 'USAGE', exitCode: 2, hint: 'devloop cloudrun validate service.yaml' });
  let failed = false;
  const results: unknown[] = [];
  for (const file of files) {
    try {
      const spec = readSpec(file, opts.cwd);
      results.push({ file, valid: true, spec });
      if (opts.output !== 'json') process.stdout.write(`${describeSpec(file, spec)}\n`);
    } catch (err) {
      failed = true;
      if (opts.output === 'json') results.push({ file, valid: false, error: err instanceof DevloopError ? err.toJSON() : String(err) });
      else reportError(err, opts);
    }
  }
  if (opts.output === 'json') process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  return failed ? EXIT.usage : EXIT.ok;
}

/** A short human summary of what a valid file deploys. */
export function describeSpec(file: string, spec: CloudRunSpec): string {
  const t = spec.template;
  const lines = [
    `${file}: service ${spec.name} is valid`,
    `  image        ${t.image ?? '(from the Devfile build)'}`,
    `  container    port ${t.port.containerPort} (${t.port.name}), ${t.cpuText} vCPU, ${t.memoryText}${t.executionEnvironment ? `, ${t.executionEnvironment}` : ''}`,
    `  requests     concurrency ${t.containerConcurrency}, timeout ${t.timeoutSeconds} s`,
    `  scaling      ${t.minScale}..${t.maxScale} instances, CPU ${t.cpuThrottling ? 'only during requests' : 'always allocated'}${t.startupCpuBoost ? ', startup boost' : ''}`,
    `  traffic      ${spec.traffic.map((x) => `${x.latestRevision ? 'latest' : x.revisionName} ${x.percent}%${x.tag ? ` (tag ${x.tag})` : ''}`).join(', ')}`,
  ];
  for (const n of spec.unsupported) lines.push(`  not simulated: ${n.line ? `line ${n.line}: ` : ''}${n.path}: ${n.message}`);
  return lines.join('\n');
}

export interface ReplaceOptions {
  port?: number;
  instances?: 'auto' | 'docker' | 'process';
  preset?: 'dev' | 'parity';
}

export async function cloudrunReplace(opts: GlobalOptions, file: string, o: ReplaceOptions): Promise<number> {
  const abs = path.resolve(opts.cwd, file);
  const spec = readSpec(file, opts.cwd);
  if (!spec.template.image) {
    throw new DevloopError(`${file}: spec.template.spec.containers[0].image is not set`, {
      code: 'CLOUD_RUN_SPEC', exitCode: 2,
      hint: 'cloudrun replace runs the image the file names (build it first, e.g. docker build -t my-service .); to build from source, declare the service in Devfile.ts with cloudRun: { service: "' + file + '" }',
    });
  }
  const root = opts.cwd;
  const config: DevfileConfig = {
    name: path.basename(root),
    simulation: { cloudRun: { enabled: true, ...(o.instances ? { instances: o.instances } : {}), ...(o.preset ? { preset: o.preset } : {}) } },
    services: {
      [spec.name]: { image: spec.template.image, runtime: 'cloud-run', cloudRun: { service: path.relative(root, abs) }, src: path.relative(root, abs), ...(o.port ? { port: o.port } : {}) },
    },
  };
  const loaded: LoadedDevfile = { file: abs, dir: root, config, dependencies: [abs], loadMs: 0 };
  return up(opts, { services: [] }, {
    loaded,
    command: `cloudrun replace ${file}`,
    async reload(engine) {
      // Re-read now so a broken save is reported at once (the running revision keeps serving).
      const next = readSpec(file, opts.cwd);
      if (next.name !== spec.name) {
        throw new DevloopError(`${file}: metadata.name changed from ${spec.name} to ${next.name}`, {
          code: 'CLOUD_RUN_SPEC', exitCode: 2, hint: 'a replace keeps the service name; restart devloop cloudrun replace to serve another service',
        });
      }
      engine.trigger(spec.name, { reason: 'config-change', files: [path.relative(root, abs)] });
    },
  });
}
