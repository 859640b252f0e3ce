/**
 * Where in the Devfile an evaluation error was thrown. The stack names the temp .mjs; its inline
 * source map turns that back into the Devfile (or helper) line. When Node already applied the
 * map (source maps enabled, as under tsx), the stack names the original file and is used as is.
 */
import { SourceMap } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface StackLocation {
  /** Absolute path of the original source file. */
  file: string;
  /** 1-based. */
  line: number;
  column: number;
}

const FRAME = /\(?((?:file:\/\/)?\/[^()\s]*?):(\d+):(\d+)\)?$/;

/** `sources` are the files bundled; only frames in them (or in the temp file) count. */
export function locateThrow(err: unknown, tmpFile: string, code: string, sources: readonly string[]): StackLocation | undefined {
  const stack = err instanceof Error && typeof err.stack === 'string' ? err.stack : '';
  let map: SourceMap | undefined;
  for (const line of stack.split('\n')) {
    const m = FRAME.exec(line.trim());
    if (!m) continue;
    const file = toPath(m[1]);
    const lineNo = Number(m[2]);
    const column = Number(m[3]);
    if (file === tmpFile) {
      map ??= inlineMap(code);
      const entry = map?.findEntry(lineNo - 1, column - 1) as { originalSource?: string; originalLine?: number; originalColumn?: number } | undefined;
      if (entry?.originalSource === undefined || entry.originalLine === undefined || entry.originalColumn === undefined) continue;
      const original = entry.originalSource.startsWith('file:') ? fileURLToPath(entry.originalSource) : path.resolve(path.dirname(tmpFile), entry.originalSource);
      return { file: original, line: entry.originalLine + 1, column: entry.originalColumn + 1 };
    }
    if (sources.includes(file)) return { file, line: lineNo, column };
  }
  return undefined;
}

function toPath(location: string): string {
  const noQuery = location.replace(/\?[^/]*$/, '');
  return noQuery.startsWith('file:') ? fileURLToPath(noQuery) : noQuery;
}

function inlineMap(code: string): SourceMap | undefined {
  const m = /\/\/# sourceMappingURL=data:application\/json;base64,([A-Za-z0-9+/=]+)\s*$/.exec(code);
  if (!m) return undefined;
  try {
    return new SourceMap(JSON.parse(Buffer.from(m[1], 'base64').toString('utf8')));
  } catch {
    return undefined;
  }
}
