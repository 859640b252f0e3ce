/**
 * Reads Prometheus text exposition (0.0.4), as the session's metrics sources write it, into
 * samples. Only what the dashboard's charts need: names, labels and values; HELP/TYPE lines and
 * timestamps are skipped. Hand-written rather than a dependency: the format is a line grammar
 * of a dozen rules, and the npm parsers for it are unmaintained.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Samples whose metric name is in `names` (all when omitted); malformed lines are skipped. */
export function parsePromText(text: string, names?: ReadonlySet<string>): Sample[] {
  const out: Sample[] = [];
  let at = 0;
  while (at < text.length) {
    let end = text.indexOf('\n', at);
    if (end < 0) end = text.length;
    const line = text.slice(at, end);
    at = end + 1;
    if (!line || line.charCodeAt(0) === 35 /* # */) continue;
    const sample = parseLine(line, names);
    if (sample) out.push(sample);
  }
  return out;
}

function parseLine(line: string, names?: ReadonlySet<string>): Sample | undefined {
  const brace = line.indexOf('{');
  const space = line.indexOf(' ');
  const nameEnd = brace >= 0 && (space < 0 || brace < space) ? brace : space;
  if (nameEnd <= 0) return undefined;
  const name = line.slice(0, nameEnd);
  if (names && !names.has(name)) return undefined;
  const labels: Record<string, string> = {};
  let i = nameEnd;
  if (line[i] === '{') {
    i++;
    while (i < line.length && line[i] !== '}') {
      const eq = line.indexOf('=', i);
      if (eq < 0 || line[eq + 1] !== '"') return undefined;
      const key = line.slice(i, eq).trim();
      let value = '';
      let j = eq + 2;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && j + 1 < line.length) {
          const next = line[++j];
          value += next === 'n' ? '\n' : next;
        } else value += line[j];
      }
      if (j >= line.length) return undefined;
      labels[key] = value;
      i = j + 1;
      if (line[i] === ',') i++;
    }
    if (line[i] !== '}') return undefined;
    i++;
  }
  const rest = line.slice(i).trim().split(/\s+/);
  const value = parseValue(rest[0]);
  return value === undefined ? undefined : { name, labels, value };
}

function parseValue(text: string | undefined): number | undefined {
  if (!text) return undefined;
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  const n = Number(text);
  return Number.isNaN(n) ? undefined : n;
}

/**
 * The q-quantile of a histogram's observations, from cumulative bucket counts by upper bound
 * (`le`), interpolating linearly inside the bucket as PromQL's histogram_quantile does. Undefined
 * when there were no observations.
 */
export function histogramQuantile(q: number, buckets: ReadonlyArray<{ le: number; count: number }>): number | undefined {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted.at(-1)?.count ?? 0;
  if (!(total > 0)) return undefined;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of sorted) {
    if (b.count >= rank) {
      // The +Inf bucket has no upper bound: the answer is the highest finite bound, as in PromQL.
      if (!Number.isFinite(b.le)) return prevLe;
      const inBucket = b.count - prevCount;
      return inBucket > 0 ? prevLe + (b.le - prevLe) * ((rank - prevCount) / inBucket) : b.le;
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}
