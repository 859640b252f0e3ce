/**
 * `devloop cluster create|delete`: a local kind cluster wired to a local registry the way kind
 * documents it (https://kind.sigs.k8s.io/docs/user/local-registry/): a `registry:2` container on
 * 127.0.0.1:PORT, containerd on every node told that `localhost:PORT` is that container, the
 * container joined to kind's network, and the KEP-1755 ConfigMap that tells devloop (and Tilt,
 * Skaffold) where to push. Deploys to the `kind-NAME` context then need no `kind load`.
 *
 * Everything is done by the `kind`, `docker` and `kubectl` binaries, whose output the user sees:
 * this command only puts the documented steps in order, and says what is missing when one is.
 */
import { spawn, spawnSync } from 'node:child_process';
import { DevloopError } from '../../core/errors.js';
import { EXIT, type GlobalOptions } from '../shared.js';

export interface ClusterOptions {
  name: string;
  registryPort: number;
  /** `delete` only: also remove the registry container. */
  registry?: boolean;
}

export const REGISTRY_CONTAINER = 'devloop-registry';
const KIND_INSTALL = 'install kind: https://kind.sigs.k8s.io/docs/user/quick-start/#installation (a release binary, or `go install sigs.k8s.io/kind@latest`), then run this again';

/** The kind cluster config: containerd reads per-registry hosts from certs.d (kind's local-registry recipe). */
export function kindConfig(): string {
  return [
    'kind: Cluster',
    'apiVersion: kind.x-k8s.io/v1alpha4',
    'containerdConfigPatches:',
    '- |-',
    '  [plugins."io.containerd.grpc.v1.cri".registry]',
    '    config_path = "/etc/containerd/certs.d"',
    '',
  ].join('\n');
}

/** containerd's hosts.toml on each node: `localhost:PORT` is the registry container on kind's network. */
export function hostsToml(): string {
  return `[host."http://${REGISTRY_CONTAINER}:5000"]\n`;
}

/** KEP-1755: where images for this cluster are pushed from the host. */
export function registryConfigMap(port: number): string {
  return [
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: local-registry-hosting',
    '  namespace: kube-public',
    'data:',
    '  localRegistryHosting.v1: |',
    `    host: "localhost:${port}"`,
    '    help: "https://kind.sigs.k8s.io/docs/user/local-registry/"',
    '',
  ].join('\n');
}

function which(bin: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;
}

function missing(bin: string, fix: string): DevloopError {
  return new DevloopError(`\`${bin}\` was not found on PATH; devloop cluster needs it`, { code: 'TOOL_MISSING', exitCode: EXIT.failed, hint: fix });
}

/** Runs a tool with its output shown; rejects with its exit code and what to do. */
function step(what: string, bin: string, args: string[], input?: string): Promise<void> {
  process.stderr.write(`devloop cluster: ${what}\n`);
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'inherit', 'inherit'] });
    if (input !== undefined) child.stdin!.end(input);
    child.once('error', (err) => reject(new DevloopError(`${what}: ${err.message}`, { code: 'CLUSTER_STEP_FAILED', exitCode: EXIT.failed })));
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new DevloopError(`${what} failed: \`${bin} ${args.join(' ')}\` exited with code ${code}`, {
      code: 'CLUSTER_STEP_FAILED', exitCode: EXIT.failed, hint: 'its output is above; fix what it says and run `devloop cluster create` again (each step is skipped when already done)',
    }))));
  });
}

function output(bin: string, args: string[]): string {
  const r = spawnSync(bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return r.status === 0 ? r.stdout.trim() : '';
}

function preflight(): void {
  if (!which('kind')) throw missing('kind', KIND_INSTALL);
  if (!which('docker')) throw missing('docker', 'install Docker (kind runs its nodes as containers)');
  if (spawnSync('docker', ['info'], { stdio: 'ignore' }).status !== 0) {
    throw new DevloopError('the Docker daemon does not answer; kind runs its nodes as containers', { code: 'DOCKER_DOWN', exitCode: EXIT.failed, hint: 'start Docker (or dockerd), then run this again' });
  }
}

export async function clusterCreate(_opts: GlobalOptions, o: ClusterOptions): Promise<number> {
  preflight();
  if (!which('kubectl')) throw missing('kubectl', 'install kubectl: https://kubernetes.io/docs/tasks/tools/');
  const context = `kind-${o.name}`;
  if (output('docker', ['inspect', '-f', '{{.State.Running}}', REGISTRY_CONTAINER]) !== 'true') {
    if (output('docker', ['inspect', '-f', '{{.Id}}', REGISTRY_CONTAINER])) await step('starting the registry container', 'docker', ['start', REGISTRY_CONTAINER]);
    else await step(`starting a registry on 127.0.0.1:${o.registryPort}`, 'docker', ['run', '-d', '--restart=always', '-p', `127.0.0.1:${o.registryPort}:5000`, '--network', 'bridge', '--name', REGISTRY_CONTAINER, 'registry:2']);
  }
  const clusters = output('kind', ['get', 'clusters']).split('\n');
  if (!clusters.includes(o.name)) await step(`creating the kind cluster "${o.name}"`, 'kind', ['create', 'cluster', '--name', o.name, '--config', '-'], kindConfig());
  else process.stderr.write(`devloop cluster: the kind cluster "${o.name}" exists; wiring the registry\n`);
  const dir = `/etc/containerd/certs.d/localhost:${o.registryPort}`;
  for (const node of output('kind', ['get', 'nodes', '--name', o.name]).split('\n').filter(Boolean)) {
    await step(`pointing ${node} at the registry`, 'docker', ['exec', '-i', node, 'sh', '-c', `mkdir -p '${dir}' && cat > '${dir}/hosts.toml'`], hostsToml());
  }
  const networks = output('docker', ['inspect', '-f', '{{json .NetworkSettings.Networks}}', REGISTRY_CONTAINER]);
  if (!networks.includes('"kind"')) await step('joining the registry to the kind network', 'docker', ['network', 'connect', 'kind', REGISTRY_CONTAINER]);
  await step('publishing the registry (KEP-1755 ConfigMap)', 'kubectl', ['--context', context, 'apply', '-f', '-'], registryConfigMap(o.registryPort));
  process.stdout.write(`cluster ${o.name} is ready: context ${context}, registry localhost:${o.registryPort}\n`
    + `deploy to it with kubernetes: { context: '${context}' } in Devfile.ts, or devloop up --context ${context}\n`);
  return EXIT.ok;
}

export async function clusterDelete(_opts: GlobalOptions, o: ClusterOptions): Promise<number> {
  preflight();
  const clusters = output('kind', ['get', 'clusters']).split('\n');
  if (clusters.includes(o.name)) await step(`deleting the kind cluster "${o.name}"`, 'kind', ['delete', 'cluster', '--name', o.name]);
  else process.stderr.write(`devloop cluster: no kind cluster named "${o.name}"\n`);
  if (o.registry && output('docker', ['inspect', '-f', '{{.Id}}', REGISTRY_CONTAINER])) await step('removing the registry container', 'docker', ['rm', '-f', REGISTRY_CONTAINER]);
  return EXIT.ok;
}
