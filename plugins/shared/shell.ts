/**
 * "Run it yourself" lines: a command devloop ran, written so that pasted into sh it runs the same
 * thing (same folder, same argv, the environment devloop added) and never shows a secret.
 * Pure functions.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { looksSecret } from '../../core/engine/redact.js';

/** Words sh reads as themselves; anything else is single-quoted. */
const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** POSIX single-quoting: inside '...' nothing is special but `'`, written as '\''. */
export function shQuote(word: string): string {
  if (word !== '' && SAFE.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export interface ShellLineOptions {
  cwd: string;
  argv: string[];
  /** The variables devloop set for the command (not the whole inherited environment). */
  env?: Record<string, string | undefined>;
  /** Folders devloop put first on PATH (`node_modules/.bin`); those that exist are shown. */
  pathPrefix?: string[];
}

/**
 * `cd '/my dir' && PORT=1234 HOST=127.0.0.1 node server.js`. A variable whose name looks secret
 * (core/engine/redact.ts) is written as `NAME="$NAME"`: the line takes it from the reader's own
 * shell rather than printing it. Names sh cannot assign are left out.
 */
export function shellLine({ cwd, argv, env = {}, pathPrefix = [] }: ShellLineOptions): string {
  const assignments: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || !NAME.test(name) || name === 'PATH') continue;
    assignments.push(looksSecret(name) ? `${name}="$${name}"` : `${name}=${shQuote(value)}`);
  }
  // A PATH the Devfile set replaces the reader's; otherwise theirs follows devloop's bin folders.
  const bins = [...new Set(pathPrefix)].filter((d) => existsSync(d));
  if (env.PATH !== undefined) assignments.push(`PATH=${shQuote([...bins, env.PATH].join(path.delimiter))}`);
  else if (bins.length) assignments.push(`PATH=${shQuote(bins.join(path.delimiter))}:"$PATH"`);
  return [`cd ${shQuote(cwd)} &&`, ...assignments, ...argv.map(shQuote)].join(' ');
}
