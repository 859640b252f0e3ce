/**
 * The daemon's progress streams (build, push, pull) are JSON lines. This reads one to its end,
 * a raw line at a time; an abort destroys it (and whatever else `onAbort` names), and a broken
 * connection rejects with the stream's error for the caller to explain.
 */
import { CancelledError } from '../../core/errors.js';
import { LineSplitter } from '../shared/lines.js';

type ProgressStream = NodeJS.ReadableStream & { destroy(err?: Error): unknown };

export async function readProgress(
  stream: ProgressStream, onLine: (raw: string) => void, signal: AbortSignal, what: string, onAbort?: () => void,
): Promise<void> {
  const lines = new LineSplitter(onLine);
  const abort = () => { stream.destroy(new CancelledError(`${what} cancelled`)); onAbort?.(); };
  signal.addEventListener('abort', abort, { once: true });
  try {
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (chunk: Buffer) => lines.push(chunk));
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', reject);
    });
  } finally {
    signal.removeEventListener('abort', abort);
    lines.end();
  }
}
