/**
 * Every log line of a session is appended to `.devloop/logs/<service>.jsonl`, so `devloop logs`
 * works from another terminal, after a crash, and with any runtime. Files rotate at 20 MiB.
 */
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, statSync, type WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { LogLine } from '../store/state.js';
import type { Store } from '../store/store.js';
import { logFile, sessionPaths } from './paths.js';

const ROTATE_BYTES = 20 * 1024 * 1024;

export function writeLogFiles(root: string, source: Pick<Store, 'subscribe'>): { close(): Promise<void> } {
  mkdirSync(sessionPaths(root).logsDir, { recursive: true });
  const streams = new Map<string, { stream: WriteStream; bytes: number }>();
  const open = (service: string | undefined) => {
    const key = service ?? '';
    let entry = streams.get(key);
    if (!entry) {
      const file = logFile(root, service);
      const bytes = existsSync(file) ? statSync(file).size : 0;
      entry = { stream: createWriteStream(file, { flags: 'a' }), bytes };
      streams.set(key, entry);
    }
    if (entry.bytes > ROTATE_BYTES) {
      entry.stream.end();
      const file = logFile(root, service);
      renameSync(file, `${file}.1`);
      entry = { stream: createWriteStream(file, { flags: 'a' }), bytes: 0 };
      streams.set(key, entry);
    }
    return entry;
  };
  const unsubscribe = source.subscribe((_s, action) => {
    if (action.type !== 'log') return;
    const text = `${JSON.stringify(action.line)}\n`;
    const entry = open(action.line.service);
    entry.bytes += text.length;
    entry.stream.write(text);
  });
  return {
    async close() {
      unsubscribe();
      await Promise.all([...streams.values()].map((e) => new Promise<void>((r) => e.stream.end(r))));
    },
  };
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
