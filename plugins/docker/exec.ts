/**
 * Running a command inside a container through the exec API: live-update `run` steps, deletions,
 * and `exec` health checks. Output is split into lines as it arrives, so a step's output shows in
 * the service log while it runs.
 */
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { LineSplitter, LineTail } from '../shared/lines.js';
import { sleep } from '../shared/time.js';

export interface ExecResult {
  exitCode: number;
  /** The last lines of stdout and stderr, interleaved as they came. */
  output: string[];
}

export interface ExecOptions {
  workdir?: string;
  user?: string;
  signal?: AbortSignal;
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  tailLines?: number;
}

/** A string is run by `sh -c`, as in a Dockerfile's RUN; an array as is. */
export function shellCommand(command: string | string[]): string[] {
  return Array.isArray(command) ? command : ['sh', '-c', command];
}

export async function execIn(docker: Docker, container: Docker.Container, command: string | string[], options: ExecOptions = {}): Promise<ExecResult> {
  options.signal?.throwIfAborted();
  const exec = await container.exec({
    Cmd: shellCommand(command),
    AttachStdout: true,
    AttachStderr: true,
    WorkingDir: options.workdir || undefined,
    User: options.user || undefined,
  });
  const stream = (await exec.start({ hijack: true, stdin: false })) as NodeJS.ReadableStream & { destroy(err?: Error): void };
  const tail = new LineTail(options.tailLines ?? 30);
  const sink = (name: 'stdout' | 'stderr') => {
    const pass = new PassThrough();
    const split = new LineSplitter((line) => { tail.push(line); options.onLine?.(line, name); });
    pass.on('data', (c: Buffer) => split.push(c));
    pass.on('end', () => split.end());
    return { pass, split };
  };
  const out = sink('stdout');
  const err = sink('stderr');
  docker.modem.demuxStream(stream, out.pass, err.pass);
  const onAbort = () => stream.destroy(options.signal?.reason instanceof Error ? options.signal.reason : new Error('aborted'));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await new Promise<void>((resolve, reject) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', reject);
    });
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    out.split.end();
    err.split.end();
  }
  options.signal?.throwIfAborted();
  // The stream can end a moment before the daemon records the exit code.
  for (let i = 0; i < 50; i++) {
    const info = await exec.inspect();
    if (!info.Running && info.ExitCode !== null && info.ExitCode !== undefined) return { exitCode: info.ExitCode, output: tail.lines() };
    await sleep(Math.min(5 * 2 ** i, 100), options.signal);
  }
  return { exitCode: -1, output: tail.lines() };
}
