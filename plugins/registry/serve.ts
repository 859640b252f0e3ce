/**
 * Starting a local registry when asked (never automatically): Debian's `docker-registry` (Docker
 * Distribution) with its config and storage under `<root>/.devloop/registry`, listening on
 * loopback only. Without the binary, the error says what to install or run instead.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, openSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DevloopError } from '../../core/errors.js';
import { sleep } from '../shared/time.js';
import { registryAnswers } from './detect.js';

export interface LocalRegistryOptions {
  root: string;
  /** Default 5001, the port local-cluster tooling (kind, ctlptl) uses by convention. */
  port?: number;
  /** How long to wait for `/v2/` to answer. Default 10 s. */
  timeoutMs?: number;
  /** The binary; default `docker-registry` looked up on PATH. */
  binary?: string;
}

export interface LocalRegistry {
  host: string;
  pid: number;
  /** Folder holding config.yml, data/ and registry.log. */
  dir: string;
  stop(): Promise<void>;
}

export async function startLocalRegistry(options: LocalRegistryOptions): Promise<LocalRegistry> {
  const port = options.port ?? 5001;
  const host = `127.0.0.1:${port}`;
  const binary = options.binary ? (executable(options.binary) ? options.binary : undefined) : findOnPath('docker-registry');
  if (!binary) {
    throw new DevloopError(`cannot start a local registry: ${options.binary ? `${options.binary} is not an executable` : 'the `docker-registry` program is not installed'}`, {
      code: 'REGISTRY_UNAVAILABLE',
      hint: `install it (Debian/Ubuntu: \`apt-get install docker-registry\`), or run one in Docker: \`docker run -d -p ${host}:5000 --name devloop-registry registry:2\`, or point DEVLOOP_REGISTRY at an existing registry`,
    });
  }
  if (await registryAnswers(host)) {
    throw new DevloopError(`a registry already answers on ${host}`, {
      code: 'REGISTRY_RUNNING',
      hint: 'use it as is (devloop finds it on its own), or pick another port',
    });
  }
  const dir = path.join(options.root, '.devloop', 'registry');
  mkdirSync(path.join(dir, 'data'), { recursive: true });
  const config = path.join(dir, 'config.yml');
  writeFileSync(config, [
    '# Written by devloop: a local registry for this project (loopback only, plain http).',
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(path.join(dir, 'data'))}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: ${host}`,
    '',
  ].join('\n'));
  const log = openSync(path.join(dir, 'registry.log'), 'a');
  const child = spawn(binary, ['serve', config], { detached: true, stdio: ['ignore', log, log] });
  child.unref();
  let exited: number | null | undefined;
  child.once('exit', (code) => { exited = code; });
  child.once('error', () => { exited ??= -1; });
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  while (!(await registryAnswers(host, 500))) {
    if (exited !== undefined || Date.now() > deadline) {
      if (exited === undefined) child.kill('SIGTERM');
      throw new DevloopError(`the local registry did not start on ${host}`, {
        code: 'REGISTRY_UNAVAILABLE',
        hint: `its log is ${path.join(dir, 'registry.log')}; is the port taken?`,
      });
    }
    await sleep(100);
  }
  return {
    host,
    pid: child.pid!,
    dir,
    async stop() {
      if (exited !== undefined) return;
      child.kill('SIGTERM');
      for (let i = 0; i < 50 && exited === undefined; i++) await sleep(100);
      if (exited === undefined) child.kill('SIGKILL');
    },
  };
}

function findOnPath(name: string): string | undefined {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).concat(['/usr/bin', '/usr/local/bin']);
  return dirs.filter(Boolean).map((dir) => path.join(dir, name)).find(executable);
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
