/**
 * Pushing an image by digest: tag it into the registry's namespace, push, and read the digest the
 * registry computed from the push stream. The runtime then pulls `host/repo@sha256:...`, which
 * cannot drift the way a tag can (Kubernetes would not even notice a moved tag).
 */
import type Docker from 'dockerode';
import type { Logger } from '../../core/engine/contexts.js';
import { DevloopError } from '../../core/errors.js';
import { daemonMessage, statusOf } from '../docker/client.js';
import { readProgress } from '../docker/progress-stream.js';
import { registryAuth } from './auth.js';

export interface PushResult {
  /** `host/repo@sha256:...` */
  ref: string;
  digest: string;
  /** `host/repo:tag`, as pushed. */
  tagged: string;
}

export function splitRef(ref: string): { repository: string; tag: string } {
  const at = ref.lastIndexOf(':');
  const slash = ref.lastIndexOf('/');
  return at > slash ? { repository: ref.slice(0, at), tag: ref.slice(at + 1) } : { repository: ref, tag: 'latest' };
}

export async function pushImage(docker: Docker, localRef: string, registryHost: string, opts: { signal: AbortSignal; logger: Logger; service: string }): Promise<PushResult> {
  const { repository, tag } = splitRef(localRef);
  // A local image named `host/x` already (a user's image) keeps its last path part only.
  const name = repository.split('/').pop()!;
  const remoteRepo = `${registryHost}/${name}`;
  const tagged = `${remoteRepo}:${tag}`;
  await docker.getImage(localRef).tag({ repo: remoteRepo, tag });
  let stream: NodeJS.ReadableStream & { destroy(err?: Error): void };
  try {
    stream = (await docker.getImage(remoteRepo).push({ tag, authconfig: registryAuth(registryHost), abortSignal: opts.signal } as never)) as never;
  } catch (err) {
    opts.signal.throwIfAborted();
    throw pushFailed(tagged, registryHost, opts.service, statusOf(err) ? daemonMessage(err) : String(err), err);
  }
  let digest: string | undefined;
  let error: string | undefined;
  const onMessage = (raw: string) => {
    let msg: { status?: string; id?: string; error?: string; aux?: { Digest?: string } };
    try { msg = JSON.parse(raw); } catch { return; }
    if (msg.error) error = msg.error;
    if (msg.aux?.Digest) digest = msg.aux.Digest;
    // Layer-by-layer progress is noise in a log; the outcome of each layer is not.
    if (msg.status && /^(Pushed|Layer already exists|Mounted from)/.test(msg.status)) opts.logger.output(`${msg.id ? `${msg.id}: ` : ''}${msg.status}`);
    const m = msg.status ? /digest: (sha256:[0-9a-f]{64})/.exec(msg.status) : null;
    if (m) digest ??= m[1];
  };
  try {
    await readProgress(stream, onMessage, opts.signal, 'push');
  } catch (err) {
    opts.signal.throwIfAborted();
    throw pushFailed(tagged, registryHost, opts.service, err instanceof Error ? err.message : String(err), err);
  }
  opts.signal.throwIfAborted();
  if (error) throw pushFailed(tagged, registryHost, opts.service, error);
  if (!digest) throw pushFailed(tagged, registryHost, opts.service, 'the registry reported no digest');
  // The registry-named tag was only needed for the push; `docker images` stays readable without it.
  await docker.getImage(tagged).remove({ noprune: true }).catch(() => {});
  return { ref: `${remoteRepo}@${digest}`, digest, tagged };
}

function pushFailed(ref: string, host: string, service: string, why: string, cause?: unknown): DevloopError {
  return new DevloopError(`cannot push ${ref}: ${why}`, {
    code: 'PUSH_FAILED',
    service,
    cause,
    hint: /unauthorized|denied|authentication required/i.test(why)
      ? `log in first: docker login ${host}`
      : /http: server gave HTTP response to HTTPS client/i.test(why)
        ? `${host} speaks plain http: add it to "insecure-registries" in the daemon's daemon.json (127.0.0.0/8 is allowed by default)`
        : `check that the registry at ${host} is up (curl http://${host}/v2/) and has room`,
  });
}
