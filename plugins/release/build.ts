/**
 * `devloop release` without `--image`: a service with `build: { type: 'docker' }` is built by the
 * docker plugin's own builder (buildDockerService: content-hash tag `devloop-<hash16>`,
 * .dockerignore, args, target, platform) and pushed by the registry plugin's pushImage to
 * `environments.<env>.registry`, as `<registry>/<service>`; the release then deploys the pushed
 * `<registry>/<service>@sha256:...`.
 *
 * Reproducible as far as the classic builder allows: the tag is a hash of the build inputs, so
 * unchanged sources reuse the image the daemon already holds, and pushing that same image again
 * gives the same digest. An image rebuilt from scratch (after `docker rmi`, or on another machine)
 * gets a new `created` time in its config, hence a new digest for the same tag.
 *
 * Not built here: esbuild and command builds (the docker plugin's esbuild image is made by an
 * afterBuild hook from the engine's bundle, which a release does not run). They still need --image.
 */
import type { DockerBuildConfig, DevfileConfig } from '../../core/devfile/types.js';
import type { BuildContext, Logger } from '../../core/engine/contexts.js';
import { DevloopError } from '../../core/errors.js';

export interface ReleaseBuild {
  service: string;
  /** Build context, relative to the Devfile's folder. */
  context: string;
  /** `<registry>/<service>`: where the image is pushed. */
  repository: string;
}

/**
 * The services of `names` that release builds: a docker build and no `--image`. Throws (exit 2)
 * for a build of another type, and when the environment names no registry to push to.
 */
export function releaseBuilds(cfg: DevfileConfig, env: string, names: string[], images: Map<string, string>, file: string): ReleaseBuild[] {
  const builds: ReleaseBuild[] = [];
  for (const name of names) {
    const build = cfg.services[name]?.build;
    if (!build || images.has(name)) continue;
    if (build.type !== 'docker') {
      throw new DevloopError(`${name} has a build of type ${build.type}, which devloop release does not build yet (only type docker)`, {
        code: 'RELEASE_NO_IMAGE', exitCode: 2, service: name,
        hint: `push the image yourself and pass it by digest: devloop release --env ${env} --image ${name}=REGISTRY/${name}@sha256:...`,
      });
    }
    // A trailing slash would make `host//name`, which no registry accepts.
    const registry = cfg.environments?.[env]?.registry?.replace(/\/+$/, '');
    if (!registry) {
      throw new DevloopError(`${name} is built from source, and environment "${env}" names no registry to push its image to`, {
        code: 'RELEASE_NO_REGISTRY', exitCode: 2, service: name,
        hint: `set environments.${env}.registry in ${file} (e.g. '127.0.0.1:5001/shop' or 'europe-docker.pkg.dev/PROJECT/REPO'), or pass --image ${name}=REGISTRY/${name}@sha256:...`,
      });
    }
    builds.push({ service: name, context: (build as DockerBuildConfig).context ?? '.', repository: `${registry}/${name}` });
  }
  return builds;
}

export function describeBuild(b: ReleaseBuild): string {
  return `would build ${b.service} (docker, context ${b.context}) and push to ${b.repository}`;
}

/**
 * Builds and pushes each one; the digest reference of each, by service. The daemon is the one the
 * docker plugin uses (DOCKER_HOST, else the local socket).
 */
export async function buildAndPush(root: string, cfg: DevfileConfig, env: string, builds: ReleaseBuild[], log: (line: string) => void, signal: AbortSignal = new AbortController().signal): Promise<Map<string, string>> {
  const pushed = new Map<string, string>();
  if (!builds.length) return pushed;
  const [{ DockerDaemon }, { buildDockerService }, { pushImage }] = await Promise.all([
    import('../docker/client.js'), import('../docker/builder.js'), import('../registry/push.js'),
  ]);
  const daemon = new DockerDaemon();
  for (const b of builds) {
    const logger = serviceLogger(b.service, log);
    // What buildDockerService reads of a build context: no engine runs during a release.
    const ctx = {
      root, devfile: cfg, mode: env, command: 'release', logger, service: b.service, config: cfg.services[b.service],
      env: {}, signal, trigger: { reason: 'release', files: [] }, data: {}, kind: 'docker',
      dispatch() {}, getState: () => ({ services: {} }),
    } as unknown as BuildContext;
    const built = await buildDockerService(ctx, daemon, {}, false);
    log(`${b.service}: image ${built.image}${built.cached ? ' (already built for these inputs)' : ''}`);
    // pushImage names the remote repository after the local one's last path part: a local alias
    // `devloop-release/<service>` makes it `<registry>/<service>`, not `<registry>/devloop-<project>-<service>`.
    const tag = built.image.slice(built.image.lastIndexOf(':') + 1);
    const alias = `devloop-release/${b.service.toLowerCase()}`;
    await daemon.docker.getImage(built.image).tag({ repo: alias, tag });
    try {
      const registry = b.repository.slice(0, b.repository.lastIndexOf('/'));
      const result = await pushImage(daemon.docker, `${alias}:${tag}`, registry, { signal, logger, service: b.service });
      log(`${b.service}: pushed ${result.ref}`);
      pushed.set(b.service, result.ref);
    } finally {
      await daemon.docker.getImage(`${alias}:${tag}`).remove({ noprune: true }).catch(() => {});
    }
  }
  return pushed;
}

function serviceLogger(service: string, log: (line: string) => void): Logger {
  return {
    info: (m) => log(`${service}: ${m}`),
    warn: (m) => log(`${service}: warning: ${m}`),
    error: (m) => log(`${service}: ${m}`),
    output: (line) => log(`${service}: | ${line}`),
  };
}
