/** Durations as people write them (`30s`, `500ms`, `15m`, `1h`) and as devloop prints them. */

/** `30s`, `500ms`, `15m`, `1h` (a bare number is milliseconds) in ms; undefined when it is not a duration. */
export function parseDurationMs(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(text.trim());
  return m ? Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 'ms') as 'ms'] : undefined;
}

export function formatMs(ms: number): string {
  return ms >= 1000 ? `${+(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}
