/**
 * One image build through the Engine API (`POST /build`, the classic builder: BuildKit needs a
 * session the API alone does not give). The tag is content-addressed, so "is it built?" is a
 * question for the daemon: an image that exists under the tag is reused, across devloop restarts
 * and across checkouts of the same inputs.
 */
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import type { Logger } from '../../core/engine/contexts.js';
import { LineSplitter, LineTail } from '../shared/lines.js';
import { buildFailure, parseStep, type StepInfo } from './build-errors.js';
import { daemonMessage, statusOf, unreachable, type DockerDaemon } from './client.js';
import { readProgress } from './progress-stream.js';
import { packEntries, type TarEntry } from './tar.js';

export interface ImageBuildRequest {
  root: string;
  service: string;
  /** `repo:tag` to build. */
  ref: string;
  entries: TarEntry[];
  dockerfileInContext: string;
  /** For error messages: the Dockerfile on disk and its text. */
  dockerfile: string;
  dockerfileText: string;
  generated?: boolean;
  args?: Record<string, string>;
  target?: string;
  platform?: string;
  labels?: Record<string, string>;
  /** A healthy earlier deployment of the service runs (see BuildFailureInput): the failure hint says it keeps running. */
  lastGoodRunning?: boolean;
  signal: AbortSignal;
  logger: Logger;
}

export interface ImageBuildOutcome {
  imageId: string;
  cached: boolean;
}

/** The image id behind `ref`, or undefined when the daemon has no such image. */
export async function imageId(docker: Docker, ref: string): Promise<string | undefined> {
  try {
    return (await docker.getImage(ref).inspect()).Id;
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
}

export async function buildOrReuse(daemon: DockerDaemon, req: ImageBuildRequest): Promise<ImageBuildOutcome> {
  await daemon.connect();
  const existing = await imageId(daemon.docker, req.ref);
  if (existing) return { imageId: existing, cached: true };
  req.signal.throwIfAborted();
  return { imageId: await runBuild(daemon, req), cached: false };
}

async function runBuild(daemon: DockerDaemon, req: ImageBuildRequest): Promise<string> {
  const { docker } = daemon;
  const context = packEntries(req.entries);
  let response: Readable;
  try {
    response = (await docker.buildImage(context as unknown as NodeJS.ReadableStream, {
      t: req.ref,
      dockerfile: req.dockerfileInContext,
      buildargs: req.args && Object.keys(req.args).length ? req.args : undefined,
      target: req.target || undefined,
      platform: req.platform || undefined,
      labels: req.labels,
      rm: true,
      forcerm: true,
      abortSignal: req.signal,
    } as Docker.ImageBuildOptions)) as unknown as Readable;
  } catch (err) {
    context.destroy();
    req.signal.throwIfAborted();
    if (statusOf(err) === undefined) throw unreachable(daemon.address, err);
    throw failure(req, undefined, daemonMessage(err), []);
  }

  const labelSteps = Object.keys(req.labels ?? {}).length;
  // The failing step's own output: the tail restarts at every step.
  let tail = new LineTail(15);
  let step: StepInfo | undefined;
  let error: string | undefined;
  let builtId: string | undefined;
  const output = new LineSplitter((line) => {
    req.logger.output(line);
    const s = parseStep(line);
    // The classic builder appends one LABEL step per build label (devloop's own: session-images.ts);
    // the user's Dockerfile has that many fewer, and its step numbers are what a message names.
    if (s) { step = { ...s, total: Math.max(s.index, s.total - labelSteps) }; tail = new LineTail(15); return; }
    // The builder's own chatter (" ---> 1a2b3c", "Removing intermediate container") is noise in a
    // failure message.
    if (!/^ ---> |^Removing intermediate container |^Successfully (built|tagged) /.test(line)) tail.push(line);
  });
  const onMessage = (raw: string) => {
    if (!raw.trim()) return;
    let msg: { stream?: string; error?: string; errorDetail?: { message?: string }; status?: string; progress?: string; id?: string; aux?: { ID?: string } };
    try { msg = JSON.parse(raw); } catch { output.push(`${raw}\n`); return; }
    if (msg.stream) output.push(msg.stream);
    if (msg.status) output.push(`${msg.id ? `${msg.id}: ` : ''}${msg.status}${msg.progress ? ` ${msg.progress}` : ''}\n`);
    if (msg.aux?.ID) builtId = msg.aux.ID;
    if (msg.error) error = msg.errorDetail?.message || msg.error;
  };
  try {
    await readProgress(response, onMessage, req.signal, 'build', () => context.destroy());
  } catch (err) {
    req.signal.throwIfAborted();
    throw failure(req, step, `the connection to the daemon broke: ${err instanceof Error ? err.message : String(err)}`, tail.lines());
  } finally {
    output.end();
  }
  req.signal.throwIfAborted();
  if (error) throw failure(req, step, error, tail.lines());
  // The aux ID is only sent by newer daemons; the tag is the reliable answer.
  const id = (await imageId(docker, req.ref)) ?? builtId;
  if (!id) throw failure(req, step, 'the build ended without producing an image', tail.lines());
  return id;
}

function failure(req: ImageBuildRequest, step: StepInfo | undefined, error: string, lastLines: string[]) {
  return buildFailure({
    service: req.service,
    root: req.root,
    dockerfile: req.dockerfile,
    dockerfileText: req.dockerfileText,
    generated: req.generated,
    step,
    error,
    lastLines,
    lastGoodRunning: req.lastGoodRunning,
  });
}
