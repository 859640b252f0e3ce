/** esbuild messages as editors and terminals expect them: `file:line:col: message`. */
import path from 'node:path';
import type { Message } from 'esbuild';
import { DevloopError, type SourceLocation } from '../../core/errors.js';

export function formatMessage(m: Message, root: string): string {
  const where = m.location ? `${relative(root, m.location.file)}:${m.location.line}:${m.location.column + 1}: ` : '';
  const notes = m.notes.map((n) => `\n  note: ${n.location ? `${relative(root, n.location.file)}:${n.location.line}:${n.location.column + 1}: ` : ''}${n.text}`).join('');
  return `${where}${m.text}${notes}`;
}

export function buildFailure(errors: Message[], root: string, service: string): DevloopError {
  const first = errors.find((e) => e.location)?.location;
  const location: SourceLocation | undefined = first
    ? {
        file: relative(root, first.file),
        line: first.line,
        column: first.column + 1,
        frame: `${first.lineText}\n${' '.repeat(first.column)}${'^'.repeat(Math.max(1, first.length))}`,
      }
    : undefined;
  const shown = errors.slice(0, 20).map((e) => formatMessage(e, root));
  const more = errors.length > shown.length ? `\n... and ${errors.length - shown.length} more` : '';
  return new DevloopError(`esbuild found ${errors.length} error${errors.length === 1 ? '' : 's'}:\n${shown.join('\n')}${more}`, {
    code: 'BUILD_FAILED',
    location,
    service,
    hint: 'fix the code and save; the last good build keeps running meanwhile',
  });
}

/** esbuild failures carry `errors`; anything else (a crashed service binary) is passed on. */
export function isBuildFailure(err: unknown): err is Error & { errors: Message[] } {
  const errors = (err as { errors?: unknown } | null)?.errors;
  return err instanceof Error && Array.isArray(errors) && errors.length > 0;
}

function relative(root: string, file: string): string {
  const abs = path.resolve(root, file);
  const rel = path.relative(root, abs);
  return rel.startsWith('..') ? abs : rel;
}
