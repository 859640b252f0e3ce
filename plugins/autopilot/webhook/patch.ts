/**
 * RFC 6902 JSON Patch from an object and its mutated copy: what the API server applies after the
 * mutating webhook answers. Pure. Objects are diffed key by key, so the patch touches only what
 * admission changed (a concurrent writer's other fields stay theirs); arrays of equal length are
 * diffed by index (containers keep their order through admission), others replaced whole.
 */
export interface PatchOp {
  op: 'add' | 'remove' | 'replace';
  path: string;
  value?: unknown;
}

/** `a/b` -> `a~1b`, `~` -> `~0` (RFC 6901). */
export const pointerToken = (key: string): string => key.replace(/~/g, '~0').replace(/\//g, '~1');

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function jsonPatch(before: unknown, after: unknown, at = ''): PatchOp[] {
  if (isObject(before) && isObject(after)) {
    const ops: PatchOp[] = [];
    for (const key of Object.keys(before)) {
      if (!(key in after) || after[key] === undefined) { if (before[key] !== undefined) ops.push({ op: 'remove', path: `${at}/${pointerToken(key)}` }); }
    }
    for (const [key, value] of Object.entries(after)) {
      if (value === undefined) continue;
      const path = `${at}/${pointerToken(key)}`;
      if (!(key in before) || before[key] === undefined) ops.push({ op: 'add', path, value });
      else ops.push(...jsonPatch(before[key], value, path));
    }
    return ops;
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    return before.flatMap((b, i) => jsonPatch(b, after[i], `${at}/${i}`));
  }
  if (sameJson(before, after)) return [];
  return [{ op: 'replace', path: at, value: after }];
}

function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Applies a patch made by `jsonPatch` to a copy of `doc` (for tests and the bench; the API server does the real thing). */
export function applyPatch<T>(doc: T, ops: PatchOp[]): T {
  let root: any = structuredClone(doc);
  for (const { op, path, value } of ops) {
    if (path === '') { root = op === 'remove' ? undefined : structuredClone(value); continue; }
    const tokens = path.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = tokens.pop()!;
    let parent = root;
    for (const t of tokens) parent = parent[t];
    if (Array.isArray(parent)) {
      const i = last === '-' ? parent.length : Number(last);
      if (op === 'add') parent.splice(i, 0, structuredClone(value)); else if (op === 'remove') parent.splice(i, 1); else parent[i] = structuredClone(value);
    } else if (op === 'remove') delete parent[last];
    else parent[last] = structuredClone(value);
  }
  return root as T;
}
