/** Path helpers on absolute, normalized paths: plain string work, no file-system access. */
import { sep } from 'node:path';

/** Drops trailing separators, keeping a lone root separator. */
export function trimSep(p: string): string {
  let end = p.length;
  while (end > 1 && p[end - 1] === sep) end--;
  return end === p.length ? p : p.slice(0, end);
}

/** `p` equals `dir` or lies inside it; `/src2` is not inside `/src`. */
export function isWithin(p: string, dir: string): boolean {
  return p === dir || (p.startsWith(dir) && (p[dir.length] === sep || dir === sep));
}

/** Posix path of `p` relative to `base`, '' when equal, undefined when outside. */
export function relativeTo(base: string, p: string): string | undefined {
  if (p === base) return '';
  const prefix = base === sep ? sep : base + sep;
  if (!p.startsWith(prefix)) return undefined;
  const rel = p.slice(prefix.length);
  return sep === '/' ? rel : rel.split(sep).join('/');
}
