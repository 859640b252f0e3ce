/**
 * Line splitting for child-process output. Chunks arrive cut anywhere (mid-line, mid-UTF-8
 * character); a line is emitted only once its newline arrives, and whatever is left when the
 * stream ends is emitted too, so the last words of a crashing process are never lost.
 */
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';

/** A runaway line (a minified bundle printed to stdout) is cut here rather than held forever. */
const DEFAULT_MAX_LINE = 64 * 1024;

export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';
  private ended = false;

  constructor(private readonly onLine: (line: string) => void, private readonly maxLine = DEFAULT_MAX_LINE) {}

  push(chunk: Buffer | string): void {
    if (this.ended) return;
    let text = this.partial + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    let nl: number;
    while ((nl = text.indexOf('\n')) !== -1) {
      this.emit(text.slice(0, nl));
      text = text.slice(nl + 1);
    }
    while (text.length > this.maxLine) {
      this.emit(text.slice(0, this.maxLine));
      text = text.slice(this.maxLine);
    }
    this.partial = text;
  }

  /** Flushes the unterminated last line, if any. Idempotent. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    const rest = this.partial + this.decoder.end();
    this.partial = '';
    if (rest.length > 0) this.emit(rest);
  }

  private emit(line: string): void {
    this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  }
}

/** Feeds a stream's lines to `onLine`; resolves once the stream has ended or closed. */
export function pipeLines(stream: Readable, onLine: (line: string) => void): Promise<void> {
  const splitter = new LineSplitter(onLine);
  return new Promise((resolve) => {
    const done = () => { splitter.end(); resolve(); };
    stream.on('data', (chunk: Buffer | string) => splitter.push(chunk));
    stream.once('end', done);
    stream.once('close', done);
    stream.once('error', done);
  });
}

/** The last `size` lines seen: what an error message quotes when a process dies. */
export class LineTail {
  private readonly buf: string[] = [];
  constructor(private readonly size = 20) {}
  push(line: string): void {
    this.buf.push(line);
    if (this.buf.length > this.size) this.buf.shift();
  }
  lines(): string[] { return this.buf.slice(); }
  /** Indented block for an error message, or '' when nothing was printed. */
  format(indent = '  '): string {
    return this.buf.length ? this.buf.map((l) => indent + l).join('\n') : '';
  }
}
