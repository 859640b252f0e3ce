/**
 * Every log line of a session is appended to `.devloop/logs/<service>.jsonl`, so `devloop logs`
 * works from another terminal, after a crash, and with any runtime. Files rotate at 20 MiB (bytes
 * on disk, not characters: non-ASCII text takes up to 3 bytes a character).
 *
 * Disk logging is a convenience, never a reason to stop: when a write fails (a full disk), it
 * pauses with one warning, drops lines while paused, and resumes by itself once there is room.
 */
import { chmodSync, closeSync, createReadStream, createWriteStream, existsSync, fstatSync, openSync, readSync, renameSync, statfsSync, statSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { LogLine } from '../store/state.js';
import type { Store } from '../store/store.js';
import { ensurePrivateDir, logFile, PRIVATE_FILE_MODE, sessionPaths } from './paths.js';

const ROTATE_BYTES = 20 * 1024 * 1024;
/** Room needed before a paused writer resumes, so a disk hovering at full does not flap. */
const RESUME_FREE_BYTES = 256 * 1024;
const SPACE_ERRORS = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);

export interface LogFilesOptions {
  /** A file rotates (to `.1`) before a line would take it past this many bytes. Default 20 MiB. */
  rotateBytes?: number;
  /** How often a paused writer looks for room again. Default 1 s. */
  retryMs?: number;
  /** Where a pause and a resume are said; default a project log line through `source.dispatch`. */
  notify?(level: 'warn' | 'info', message: string): void;
}

type LogSource = Pick<Store, 'subscribe'> & Partial<Pick<Store, 'dispatch'>>;

interface Entry { stream: WriteStream; bytes: number; file: string }

export function writeLogFiles(root: string, source: LogSource, options: LogFilesOptions = {}): { close(): Promise<void> } {
  const rotateBytes = options.rotateBytes ?? ROTATE_BYTES;
  const { dir, logsDir } = sessionPaths(root);
  const where = path.relative(root, logsDir) || logsDir;
  const notify = options.notify ?? ((level, message) => source.dispatch?.({ type: 'log', line: { time: Date.now(), level, message } }));
  const streams = new Map<string, Entry>();
  let paused: { reason: string; space: boolean; dropped: number; timer: NodeJS.Timeout } | undefined;
  let closed = false;

  const pause = (err: unknown) => {
    if (paused || closed) return;
    const code = (err as NodeJS.ErrnoException)?.code ?? '';
    const space = SPACE_ERRORS.has(code);
    for (const e of streams.values()) e.stream.destroy();
    streams.clear();
    // Set before saying it: the warning is itself a log line, dropped rather than written.
    paused = { reason: err instanceof Error ? err.message : String(err), space, dropped: 0, timer: setInterval(tryResume, options.retryMs ?? 1_000) };
    paused.timer.unref();
    notify('warn', space
      ? `logging to disk paused: no space left for ${where} (${code}); services keep running and their output still shows here, but "devloop logs" will miss lines until you free space on that disk; writing resumes by itself then`
      : `logging to disk paused: cannot write ${where}: ${paused.reason}; services keep running and their output still shows here; writing resumes by itself once ${where} is writable again`);
  };

  const tryResume = () => {
    if (!paused || closed) return;
    if (paused.space) {
      try {
        const fs = statfsSync(logsDir);
        if (fs.bavail * fs.bsize < RESUME_FREE_BYTES) return;
      } catch { return; }
    }
    try {
      ensurePrivateDir(dir);
      ensurePrivateDir(logsDir);
      closeSync(openSync(logFile(root, undefined), 'a', PRIVATE_FILE_MODE));
    } catch { return; }
    const { dropped, timer } = paused;
    clearInterval(timer);
    paused = undefined;
    notify('info', `logging to disk resumed in ${where}${dropped ? `; ${dropped} line${dropped === 1 ? ' was' : 's were'} not stored while it was paused` : ''}`);
  };

  const openEntry = (file: string): Entry => {
    // Opened now, not when the stream gets to it: a rotation right after must find the file to rename.
    const fd = openSync(file, 'a', PRIVATE_FILE_MODE);
    const bytes = fstatSync(fd).size;
    const stream = createWriteStream(file, { fd, flags: 'a' });
    const entry: Entry = { stream, bytes, file };
    stream.on('error', (err: NodeJS.ErrnoException) => {
      // A stream destroyed by our own pause reports its dropped writes; that is no new failure.
      if (err.code === 'ERR_STREAM_DESTROYED') return;
      pause(err);
    });
    if (bytes > 0) {
      // Files from an older devloop may have been created with the umask's mode.
      chmodSync(file, PRIVATE_FILE_MODE);
      // A write cut short by a full disk leaves half a line: end it so the next line stays whole.
      if (!endsWithNewline(file)) { stream.write('\n'); entry.bytes += 1; }
    }
    return entry;
  };

  const entryFor = (service: string | undefined, nextBytes: number): Entry => {
    const key = service ?? '';
    let entry = streams.get(key);
    if (!entry) {
      entry = openEntry(logFile(root, service));
      streams.set(key, entry);
    }
    if (entry.bytes > 0 && entry.bytes + nextBytes > rotateBytes) {
      // The file may have been truncated behind our back (rotation under disk pressure).
      const actual = (existsSync(entry.file) ? statSync(entry.file).size : 0) + entry.stream.writableLength;
      if (actual + nextBytes <= rotateBytes) {
        entry.bytes = actual;
      } else {
        entry.stream.end();
        try { renameSync(entry.file, `${entry.file}.1`); } catch { /* gone meanwhile: start afresh all the same */ }
        entry = openEntry(entry.file);
        streams.set(key, entry);
      }
    }
    return entry;
  };

  try {
    ensurePrivateDir(dir);
    ensurePrivateDir(logsDir);
  } catch (err) {
    pause(err);
  }

  const unsubscribe = source.subscribe((_s, action) => {
    if (action.type !== 'log' || closed) return;
    if (paused) { paused.dropped++; return; }
    const text = `${JSON.stringify(action.line)}\n`;
    const bytes = Buffer.byteLength(text);
    try {
      const entry = entryFor(action.line.service, bytes);
      entry.bytes += bytes;
      entry.stream.write(text);
    } catch (err) {
      pause(err);
    }
  });
  return {
    async close() {
      closed = true;
      unsubscribe();
      if (paused) clearInterval(paused.timer);
      await Promise.all([...streams.values()].map(({ stream }) => new Promise<void>((resolve) => {
        if (stream.destroyed) return resolve();
        stream.once('close', () => resolve());
        stream.end();
      })));
    },
  };
}

function endsWithNewline(file: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const size = fstatSync(fd).size;
    if (size === 0) return true;
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    return last[0] === 0x0a;
  } catch {
    return true;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Reads the stored lines of one service (or all), oldest first, optionally since a time. */
export async function readLogFile(file: string, since?: number): Promise<LogLine[]> {
  if (!existsSync(file)) return [];
  const out: LogLine[] = [];
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const raw of rl) {
    if (!raw) continue;
    try {
      const line = JSON.parse(raw) as LogLine;
      if (since === undefined || line.time >= since) out.push(line);
    } catch {
      // A torn last line from a crash: skip it rather than fail the whole read.
    }
  }
  return out;
}

/** Follows a growing log file, calling `onLine` for each new line until the signal aborts. */
export async function followLogFile(file: string, fromByte: number, onLine: (l: LogLine) => void, signal: AbortSignal): Promise<void> {
  let offset = fromByte;
  let partial = '';
  while (!signal.aborted) {
    const size = existsSync(file) ? statSync(file).size : 0;
    if (size < offset) offset = 0; // rotated
    if (size > offset) {
      const chunk = await new Promise<string>((resolve, reject) => {
        let text = '';
        createReadStream(file, { start: offset, end: size - 1, encoding: 'utf8' })
          .on('data', (d) => { text += d; })
          .on('end', () => resolve(text))
          .on('error', reject);
      });
      offset = size;
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const raw of lines) {
        if (!raw) continue;
        try { onLine(JSON.parse(raw) as LogLine); } catch { /* torn line */ }
      }
    }
    await new Promise((r) => setTimeout(r, 150));
  }
}
