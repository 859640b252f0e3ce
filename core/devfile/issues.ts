/**
 * Turns zod issues into the messages devloop prints: `expected a number, got "80a"`,
 * `unknown field "prot" (did you mean "port"?)`. Zod's own messages name zod concepts
 * ("expected tuple", "Invalid input") that a Devfile author never wrote, so every code is
 * reworded here, and union failures are replaced by the failure of the branch the author meant.
 */
import { z } from 'zod';

export interface ValidationIssue {
  /** Dotted path of the field: `services.api.port`; empty for the whole value. */
  path: string;
  message: string;
  /** For an unknown or invalid key: the key, which sits under `path`; it is located at its name. */
  key?: string;
}

export type ParseResult<T> = { ok: true; data: T } | { ok: false; issues: ValidationIssue[] };

/** Parses with devloop's messages. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown): ParseResult<z.output<S>> {
  const result = schema.safeParse(value, { error: errorMap, reportInput: true });
  if (result.success) return { ok: true, data: result.data };
  return { ok: false, issues: flatten(result.error.issues, []) };
}

/** A value as a message shows it: strings quoted, other things by their type. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return `${article(typeof value)} (${String(value)})`;
  }
  return article(typeof value);
}

/** The candidate close enough to `word` to be a typo of it, if any. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  // A third of the word may differ: "prot" -> "port", not "name" -> "port".
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

/** ` (did you mean "port"?)` when a candidate is close enough to be a typo, else ''. */
export function suggest(word: string, candidates: Iterable<string>): string {
  const best = closest(word, candidates);
  return best !== undefined ? ` (did you mean ${JSON.stringify(best)}?)` : '';
}

/** Optimal string alignment distance: a swap of two neighbours ("prot"/"port") costs 1. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** Marks a union failure whose message is decided afterwards, from its branches. */
const UNION = '\u0000union';

const errorMap: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined
        ? `missing required field (expected ${expected(issue.expected)})`
        : `expected ${expected(issue.expected)}, got ${describeValue(issue.input)}`;
    case 'invalid_value':
      return `expected ${literals(issue.values)}, got ${describeValue(issue.input)}`;
    case 'too_small':
    case 'too_big':
      return `expected ${bound(issue)}, got ${sizeOf(issue.input)}`;
    case 'unrecognized_keys': {
      // One line per key; `flatten` splits them into one issue each, located at the key.
      const known = issue.inst instanceof z.ZodObject ? Object.keys(issue.inst.shape) : [];
      return issue.keys.map((key) => `unknown field ${JSON.stringify(key)}${suggest(key, known)}`).join('\n');
    }
    case 'invalid_union':
      return UNION;
    case 'invalid_format':
      return `${describeValue(issue.input)} is not a valid ${issue.format}`;
    case 'not_multiple_of':
      return `expected a multiple of ${String(issue.divisor)}, got ${describeValue(issue.input)}`;
    default:
      return undefined;
  }
};

type Issue = z.core.$ZodIssue;

function flatten(issues: readonly Issue[], base: PropertyKey[]): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  for (const issue of issues) {
    const at = [...base, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      const lines = issue.message.split('\n');
      issue.keys.forEach((key, i) => out.push({ path: join(at), key, message: lines[i] ?? lines[0] }));
    } else if (issue.code === 'invalid_key') {
      out.push({ path: join(at.slice(0, -1)), key: String(at[at.length - 1]), message: issue.issues[0]?.message ?? issue.message });
    } else if (issue.code === 'invalid_union' && issue.message === UNION) {
      out.push(...explainUnion(issue, at));
    } else {
      out.push({ path: join(at), message: issue.message });
    }
  }
  return out;
}

function explainUnion(issue: z.core.$ZodIssueInvalidUnion, at: PropertyKey[]): ValidationIssue[] {
  const discriminator = (issue as { discriminator?: string }).discriminator;
  const options = (issue as { options?: unknown[] }).options;
  if (discriminator !== undefined && options) {
    // zod already puts the discriminator in the path; the input is the object holding it.
    const value = isRecord(issue.input) ? issue.input[discriminator] : undefined;
    const message = value === undefined
      ? `missing required field (expected ${literals(options)})`
      : `expected ${literals(options)}, got ${describeValue(value)}`;
    return [{ path: join(at), message }];
  }
  const scored = issue.errors.map((branch) => ({ branch, score: score(branch) }));
  const best = scored.reduce((a, b) => (b.score < a.score ? b : a), scored[0]);
  if (best && best.score !== Infinity) return flatten(best.branch, at);
  // Every branch rejected the value's type outright: list what would have been accepted.
  const wanted = new Set<string>();
  for (const branch of issue.errors) {
    for (const i of branch) {
      if (i.path.length > 0) continue;
      if (i.code === 'invalid_type') wanted.add(expected(i.expected));
      else if (i.code === 'invalid_value') wanted.add(literals(i.values));
      else wanted.add(i.message);
    }
  }
  return [{ path: join(at), message: `expected ${[...wanted].join(' or ')}, got ${describeValue(issue.input)}` }];
}

/**
 * How far a union branch is from matching: Infinity when it rejects the value's type itself,
 * else the number of fields missing or unknown at its top level. The lowest score is the branch
 * the author meant (`{ http: '/', prot: 1 }` meant the http health check).
 */
function score(branch: readonly Issue[]): number {
  let s = 0;
  for (const i of branch) {
    if (i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'invalid_value')) return Infinity;
    if (i.code === 'unrecognized_keys' && i.path.length === 0) s += i.keys.length;
    else if (i.path.length === 0) s += 1;
    else if (i.path.length === 1 && i.code === 'invalid_type' && i.input === undefined) s += 1;
  }
  return s;
}

function expected(type: string): string {
  const names: Record<string, string> = {
    int: 'an integer', tuple: 'an array', array: 'an array', record: 'an object', object: 'an object',
    map: 'a map', set: 'a set', function: 'a function', undefined: 'nothing',
  };
  return names[type] ?? article(type);
}

function article(word: string): string {
  return `${/^[aeiou]/.test(word) ? 'an' : 'a'} ${word}`;
}

function literals(values: readonly unknown[]): string {
  const shown = values.map((v) => (typeof v === 'string' ? JSON.stringify(v) : String(v)));
  return shown.length === 1 ? shown[0] : `one of ${shown.join(' | ')}`;
}

interface Bound { code: 'too_small' | 'too_big'; origin: string; inclusive?: boolean; minimum?: unknown; maximum?: unknown }

function bound(issue: Bound): string {
  const small = issue.code === 'too_small';
  const limit = Number(small ? issue.minimum : issue.maximum);
  const op = small ? (issue.inclusive ? '>=' : '>') : issue.inclusive ? '<=' : '<';
  switch (issue.origin) {
    case 'string':
      if (small && limit === 1) return 'a non-empty string';
      return `a string of ${small ? 'at least' : 'at most'} ${limit} characters`;
    case 'array':
      if (small && limit === 1) return 'a non-empty array';
      return `${small ? 'at least' : 'at most'} ${limit} items`;
    default:
      return `a number ${op} ${limit}`;
  }
}

function sizeOf(value: unknown): string {
  if (typeof value === 'string' && value.length === 0) return 'an empty string';
  if (Array.isArray(value)) return `${value.length} item${value.length === 1 ? '' : 's'}`;
  return typeof value === 'number' ? String(value) : describeValue(value);
}

function join(path: readonly PropertyKey[]): string {
  return path.map(String).join('.');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
