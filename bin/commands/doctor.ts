/**
 * `devloop doctor`: checks what devloop needs and says, for each missing piece, what it is for
 * and how to get it. Exit 1 only when something required fails; optional pieces warn.
 */
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { styleText } from 'node:util';
import type { LoadedDevfile } from '../../core/devfile/load.js';
import { ConfigError, DevloopError } from '../../core/errors.js';
import { EXIT, load, type GlobalOptions } from '../shared.js';

type Level = 'ok' | 'warn' | 'fail';
interface Check { name: string; level: Level; detail: string; fix?: string }

export async function doctor(opts: GlobalOptions): Promise<number> {
  const devfile = loadDevfile(opts);
  const checks = (await Promise.all([checkNode(), devfile.then((d) => d.check), checkDocker(), checkRegistry(), checkKube(opts, devfile), checkInotify(), checkNative()])).flat();
  if (opts.output === 'json') {
    process.stdout.write(`${JSON.stringify(checks, null, 2)}\n`);
  } else {
    for (const c of checks) {
      const mark = c.level === 'ok' ? '✔' : c.level === 'warn' ? '!' : '✖';
      const colour = c.level === 'ok' ? 'green' : c.level === 'warn' ? 'yellow' : 'red';
      process.stdout.write(`${opts.color ? styleText(colour, mark) : mark} ${c.name}: ${c.detail}\n`);
      if (c.fix) process.stdout.write(`    fix: ${c.fix}\n`);
    }
  }
  return checks.some((c) => c.level === 'fail') ? EXIT.failed : EXIT.ok;
}

async function checkNode(): Promise<Check> {
  const major = Number(process.versions.node.split('.')[0]);
  return major >= 20
    ? { name: 'Node.js', level: 'ok', detail: `v${process.versions.node}` }
    : { name: 'Node.js', level: 'fail', detail: `v${process.versions.node} is too old`, fix: 'install Node.js 20 or newer' };
}

async function loadDevfile(opts: GlobalOptions): Promise<{ check: Check; loaded?: LoadedDevfile }> {
  try {
    const loaded = await load(opts, 'doctor');
    return { loaded, check: { name: 'Devfile', level: 'ok', detail: `${loaded.file}: ${Object.keys(loaded.config.services).length} services, loaded in ${Math.round(loaded.loadMs)} ms` } };
  } catch (err) {
    if (err instanceof ConfigError) return { check: { name: 'Devfile', level: 'fail', detail: err.message, fix: err.hint } };
    if (err instanceof DevloopError && err.code === 'DEVFILE_NOT_FOUND') return { check: { name: 'Devfile', level: 'warn', detail: 'no Devfile.ts here or in a parent folder', fix: 'run "devloop init"' } };
    return { check: { name: 'Devfile', level: 'fail', detail: err instanceof Error ? err.message : String(err) } };
  }
}

function dockerSocket(): string {
  const host = process.env.DOCKER_HOST;
  if (host?.startsWith('unix://')) return host.slice('unix://'.length);
  return '/var/run/docker.sock';
}

function get(options: http.RequestOptions): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ timeout: 2000, ...options }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

async function checkDocker(): Promise<Check> {
  const socketPath = dockerSocket();
  try {
    const res = await get({ socketPath, path: '/version' });
    const v = JSON.parse(res.body) as { Version?: string; ApiVersion?: string };
    return { name: 'Docker', level: 'ok', detail: `daemon ${v.Version} (API ${v.ApiVersion}) at ${socketPath}` };
  } catch (err) {
    return {
      name: 'Docker', level: 'warn',
      detail: `no Docker daemon answers at ${socketPath} (${err instanceof Error ? err.message : String(err)}); services will run as local processes`,
      fix: 'install and start Docker (Debian: apt-get install docker.io && dockerd &), or set DOCKER_HOST',
    };
  }
}

async function checkRegistry(): Promise<Check> {
  const hostPort = process.env.DEVLOOP_REGISTRY ?? '127.0.0.1:5001';
  const [host, port] = hostPort.split(':');
  try {
    const res = await get({ host, port: Number(port ?? 80), path: '/v2/' });
    if (res.status === 200 || res.status === 401) return { name: 'Registry', level: 'ok', detail: `registry API answers at ${hostPort}` };
    return { name: 'Registry', level: 'warn', detail: `${hostPort}/v2/ answered ${res.status}, not a registry` };
  } catch {
    return {
      name: 'Registry', level: 'warn',
      detail: `no registry at ${hostPort}; needed only to push images for a cluster (the local Docker runtime uses images directly)`,
      fix: registryFix(hostPort),
    };
  }
}

/**
 * How to serve a registry where devloop looks for one. Debian's docker-registry package ships a
 * config for :5000 that asks for htpasswd logins (a 401 to every push), so the command writes its
 * own plain one for this address, as test/infra/registry.sh does; checked by serving it and
 * pushing to it.
 */
export function registryFix(hostPort: string): string {
  const dir = '~/.cache/devloop-registry';
  return [
    `start one on ${hostPort}, or point DEVLOOP_REGISTRY=host:port at one; with Debian's docker-registry (apt-get install docker-registry; its own config listens on :5000 and asks for logins):`,
    `      mkdir -p ${dir} && printf 'version: 0.1\\nstorage:\\n  filesystem:\\n    rootdirectory: %s\\nhttp:\\n  addr: ${hostPort}\\n' ${dir}/data > ${dir}/config.yml && docker-registry serve ${dir}/config.yml`,
    `      or in Docker: docker run -d -p ${hostPort}:5000 registry:2`,
  ].join('\n');
}

/**
 * Only services with `runtime: 'kubernetes'` need a cluster (`autopilot check` and `simulate` need
 * none, nor does the embedded default). With such a service, or a kubeconfig, the cluster is
 * checked (plugins/kubernetes/preview.ts: context, API, RBAC, advertised registry); its failures
 * fail doctor only when the Devfile deploys to a cluster, else they warn. Without either, the
 * Kubernetes client is not even loaded.
 */
async function checkKube(opts: GlobalOptions, devfile: Promise<{ loaded?: LoadedDevfile }>): Promise<Check[]> {
  const notNeeded = 'only needed by services with runtime "kubernetes" ("devloop autopilot check/simulate" and the embedded default need no cluster)';
  const file = (process.env.KUBECONFIG ?? path.join(os.homedir(), '.kube', 'config')).split(path.delimiter)[0];
  const { loaded } = await devfile;
  const uses = !!loaded && Object.values(loaded.config.services).some((s) => (s.runtime ?? loaded.config.environments?.[opts.env]?.runtime) === 'kubernetes');
  if (uses || existsSync(file)) {
    const { kubeChecks } = await import('../../plugins/kubernetes/preview.js');
    return kubeChecks(loaded?.config, loaded?.dir, opts.env, uses);
  }
  return [{ name: 'Kubernetes', level: 'ok', detail: `no kubeconfig at ${file}; ${notNeeded}` }];
}

async function checkInotify(): Promise<Check> {
  const file = '/proc/sys/fs/inotify/max_user_watches';
  if (!existsSync(file)) return { name: 'File watching', level: 'ok', detail: 'no inotify limit to check on this OS' };
  const limit = Number(readFileSync(file, 'utf8').trim());
  return limit >= 65536
    ? { name: 'File watching', level: 'ok', detail: `inotify max_user_watches = ${limit}` }
    : { name: 'File watching', level: 'warn', detail: `inotify max_user_watches = ${limit} is low for large projects`, fix: 'sudo sysctl fs.inotify.max_user_watches=524288' };
}

async function checkNative(): Promise<Check> {
  try {
    const esbuild = await import('esbuild');
    await import('@parcel/watcher');
    return { name: 'Native modules', level: 'ok', detail: `esbuild ${esbuild.version}, @parcel/watcher loaded` };
  } catch (err) {
    return { name: 'Native modules', level: 'fail', detail: err instanceof Error ? err.message : String(err), fix: 'reinstall devloop (npm ci) so the prebuilt esbuild and @parcel/watcher binaries for this platform are present' };
  }
}
