/**
 * A container's output in the service log: stdout and stderr demultiplexed, split into lines,
 * and JSON log lines (Cloud Logging, pino, bunyan) made readable. One follow stream per run of
 * the container: Docker ends it when the container stops, and a restart opens the next one from
 * the new start time, so no line is shown twice.
 */
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { LineSplitter } from '../shared/lines.js';
import { formatLogLine } from '../shared/logs.js';

export interface LogFollower {
  /** Resolves once Docker ends the stream (the container stopped) or stop() was called. */
  done: Promise<void>;
  stop(): void;
}

export type LineSink = (line: string, stream: 'stdout' | 'stderr') => void;

export async function followLogs(docker: Docker, container: Docker.Container, since: string | undefined, onLine: LineSink): Promise<LogFollower> {
  const stream = (await container.logs({ follow: true, stdout: true, stderr: true, since: since as unknown as number })) as unknown as NodeJS.ReadableStream & { destroy(): void };
  const splitter = (name: 'stdout' | 'stderr') => {
    const pass = new PassThrough();
    const split = new LineSplitter((raw) => {
      const f = formatLogLine(raw);
      for (const line of f.lines) onLine(line, f.stream ?? name);
    });
    pass.on('data', (c: Buffer) => split.push(c));
    return { pass, split };
  };
  const out = splitter('stdout');
  const err = splitter('stderr');
  docker.modem.demuxStream(stream, out.pass, err.pass);
  const done = new Promise<void>((resolve) => {
    const finish = () => { out.split.end(); err.split.end(); resolve(); };
    stream.once('end', finish);
    stream.once('close', finish);
    stream.once('error', finish);
  });
  return { done, stop: () => stream.destroy() };
}

/** Docker's `since` with nanoseconds ("1700000000.123456789") from an RFC 3339 `StartedAt`. */
export function sinceFromStartedAt(startedAt: string | undefined): string | undefined {
  if (!startedAt || startedAt.startsWith('0001-')) return undefined;
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(startedAt);
  if (!m) return undefined;
  const seconds = Math.floor(Date.parse(`${m[1]}${m[3]}`) / 1000);
  if (!Number.isFinite(seconds)) return undefined;
  return `${seconds}.${(m[2] ?? '').padEnd(9, '0').slice(0, 9)}`;
}
