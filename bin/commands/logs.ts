/** `devloop logs [service]`: the stored logs of the session, optionally following and filtered by time. */
import { readdirSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';
import { styleText } from 'node:util';
import { DevloopError } from '../../core/errors.js';
import { findSession, sessionState } from '../../core/session/client.js';
import { followLogFile, readLogFile } from '../../core/session/logfiles.js';
import { logFile, sessionPaths } from '../../core/session/paths.js';
import type { LogLine } from '../../core/store/state.js';
import { EXIT, loadOrSession, parseDuration, type GlobalOptions } from '../shared.js';

export interface LogsOptions { follow: boolean; since?: string }

export async function logs(opts: GlobalOptions, service: string | undefined, logOpts: LogsOptions): Promise<number> {
  const loaded = await loadOrSession(opts, 'logs');
  if (service && !loaded.config.services[service]) {
    throw new DevloopError(`no service named "${service}" in ${loaded.file}`, { code: 'UNKNOWN_SERVICE', exitCode: 2, hint: `services are: ${Object.keys(loaded.config.services).join(', ')}` });
  }
  const since = logOpts.since ? parseSince(logOpts.since) : undefined;
  const dir = sessionPaths(loaded.dir).logsDir;
  const files = service ? [logFile(loaded.dir, service)] : existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.jsonl')).map((f) => path.join(dir, f)) : [];
  const jaeger = await jaegerUrl(loaded.dir);
  const print = (l: LogLine) => {
    if (opts.output === 'json') { process.stdout.write(`${JSON.stringify(l)}\n`); return; }
    const ts = new Date(l.time).toISOString().slice(11, 23);
    const who = l.service ?? 'devloop';
    const text = `${ts} ${who} ${jaeger ? linkTraces(l.message, jaeger) : l.message}`;
    process.stdout.write(`${opts.color && l.level === 'error' ? styleText('red', text) : text}\n`);
  };
  const all = (await Promise.all(files.map((f) => readLogFile(f, since)))).flat().sort((a, b) => a.time - b.time);
  for (const l of all) print(l);
  if (!logOpts.follow) {
    if (files.every((f) => !existsSync(f))) process.stderr.write(`no logs yet${service ? ` for ${service}` : ''}: they are written while "devloop up" runs\n`);
    return EXIT.ok;
  }
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  const follow = service ? [logFile(loaded.dir, service)] : [...new Set([...files, logFile(loaded.dir, undefined)])];
  await Promise.all(follow.map((f) => followLogFile(f, existsSync(f) ? statSync(f).size : 0, print, abort.signal)));
  return EXIT.ok;
}

/** The Jaeger UI of the running session (devloop:monitoring), if one runs. */
async function jaegerUrl(dir: string): Promise<string | undefined> {
  const session = await findSession(dir);
  if (!session) return undefined;
  try {
    const urls = (await sessionState(session)).extra?.['devloop:monitoring']?.urls as Record<string, string> | undefined;
    return urls?.jaeger;
  } catch {
    return undefined;
  }
}

/**
 * A structured line's `[trace ID]` (plugins/shared/logs.ts, from Cloud Logging's
 * `logging.googleapis.com/trace`) with the address of that trace in Jaeger after it.
 */
export function linkTraces(message: string, jaeger: string): string {
  return message.replace(/\[trace ([0-9a-f]{16,32})\]/g, (_m, id: string) => `[trace ${id} ${jaeger.replace(/\/$/, '')}/trace/${id}]`);
}

function parseSince(text: string): number {
  const asDate = Date.parse(text);
  if (!Number.isNaN(asDate) && /\d{4}-\d{2}-\d{2}/.test(text)) return asDate;
  return Date.now() - parseDuration(text, '--since');
}

