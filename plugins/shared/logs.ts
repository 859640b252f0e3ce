/**
 * Structured log lines made readable. Services written for Cloud Run log one JSON object per
 * line in Cloud Logging's shape (`severity`, `message`, `logging.googleapis.com/trace`, `time`,
 * `httpRequest`); pino and bunyan use `level` and `msg`. Such a line becomes
 * `ERROR payment declined  amount=12 [trace 4bf92f3577b34da6a3ce929d0e0e4736]` (the whole id, so `devloop logs`
 * can link it to the trace in Jaeger); any other line passes through unchanged.
 */

export type Severity = 'DEFAULT' | 'DEBUG' | 'INFO' | 'NOTICE' | 'WARNING' | 'ERROR' | 'CRITICAL' | 'ALERT' | 'EMERGENCY';

export interface FormattedLog {
  /** One or more lines (a stack trace follows the message on lines of its own). */
  lines: string[];
  severity?: Severity;
  /** `stderr` for ERROR and worse, so reporters colour it like stderr output. */
  stream?: 'stdout' | 'stderr';
  /** The entry's own timestamp, when it had one (ms since the epoch). */
  time?: number;
}

const TRACE_KEY = 'logging.googleapis.com/trace';
const HANDLED = new Set([
  'severity', 'level', 'message', 'msg', 'textPayload', 'time', 'timestamp', 'timestampSeconds', 'timestampNanos',
  'stack', 'stack_trace', 'httpRequest', 'v', 'pid', 'hostname', 'name',
]);
const SEVERITIES: Severity[] = ['DEFAULT', 'DEBUG', 'INFO', 'NOTICE', 'WARNING', 'ERROR', 'CRITICAL', 'ALERT', 'EMERGENCY'];
const MAX_EXTRA_CHARS = 300;

export function formatLogLine(line: string): FormattedLog {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{') || !trimmed.endsWith('}')) return { lines: [line] };
  let entry: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(trimmed);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return { lines: [line] };
    entry = parsed as Record<string, unknown>;
  } catch {
    return { lines: [line] };
  }
  const message = firstString(entry.message, entry.msg, entry.textPayload);
  const severity = toSeverity(entry.severity ?? entry.level);
  // A JSON line with neither a message nor a severity is data, not a log entry: show it as is.
  if (message === undefined && severity === undefined) return { lines: [line] };

  const parts: string[] = [];
  if (severity) parts.push(severity);
  const req = formatHttpRequest(entry.httpRequest);
  if (req) parts.push(req);
  if (message !== undefined) parts.push(firstLine(message));
  const extras = Object.entries(entry)
    .filter(([k]) => !HANDLED.has(k) && !k.startsWith('logging.googleapis.com/'))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  if (extras) parts.push(` ${extras.length > MAX_EXTRA_CHARS ? `${extras.slice(0, MAX_EXTRA_CHARS)}…` : extras}`);
  const trace = typeof entry[TRACE_KEY] === 'string' ? (entry[TRACE_KEY] as string).split('/').pop()! : undefined;
  if (trace) parts.push(`[trace ${trace}]`);

  const lines = [parts.join(' ')];
  const rest = message !== undefined && message.includes('\n') ? message.split('\n').slice(1) : [];
  const stack = firstString(entry.stack_trace, entry.stack, (entry.err as Record<string, unknown> | undefined)?.stack);
  // Node's error.stack repeats the message on its first line; don't print it twice.
  const stackLines = stack ? stack.split('\n').filter((l, i) => !(i === 0 && message !== undefined && message.includes(l.replace(/^\w*Error: /, '')))) : [];
  lines.push(...rest, ...stackLines);
  return {
    lines,
    severity,
    stream: severity && SEVERITIES.indexOf(severity) >= SEVERITIES.indexOf('ERROR') ? 'stderr' : severity ? 'stdout' : undefined,
    time: toTime(entry),
  };
}

function toSeverity(v: unknown): Severity | undefined {
  if (typeof v === 'number') {
    // pino / bunyan numeric levels
    if (v >= 60) return 'CRITICAL';
    if (v >= 50) return 'ERROR';
    if (v >= 40) return 'WARNING';
    if (v >= 30) return 'INFO';
    return 'DEBUG';
  }
  if (typeof v !== 'string') return undefined;
  const s = v.toUpperCase();
  if ((SEVERITIES as string[]).includes(s)) return s as Severity;
  const aliases: Record<string, Severity> = { WARN: 'WARNING', FATAL: 'CRITICAL', TRACE: 'DEBUG', ERR: 'ERROR', CRIT: 'CRITICAL' };
  return aliases[s];
}

function formatHttpRequest(v: unknown): string | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const r = v as Record<string, unknown>;
  const method = typeof r.requestMethod === 'string' ? r.requestMethod : undefined;
  const url = typeof r.requestUrl === 'string' ? r.requestUrl : undefined;
  if (!method && !url) return undefined;
  const status = r.status !== undefined ? ` ${String(r.status)}` : '';
  const latency = typeof r.latency === 'string' ? ` ${r.latency}` : '';
  return `${method ?? ''} ${url ?? ''}${status}${latency}`.trim();
}

function toTime(entry: Record<string, unknown>): number | undefined {
  const t = entry.time ?? entry.timestamp;
  if (typeof t === 'number') return t > 1e12 ? t : t * 1000;
  if (typeof t === 'string') {
    const ms = Date.parse(t);
    return Number.isNaN(ms) ? undefined : ms;
  }
  if (typeof entry.timestampSeconds === 'number') {
    return entry.timestampSeconds * 1000 + Math.floor((typeof entry.timestampNanos === 'number' ? entry.timestampNanos : 0) / 1e6);
  }
  return undefined;
}

function firstString(...vals: unknown[]): string | undefined {
  return vals.find((v): v is string => typeof v === 'string');
}

function firstLine(s: string): string {
  const i = s.indexOf('\n');
  return i === -1 ? s : s.slice(0, i);
}
