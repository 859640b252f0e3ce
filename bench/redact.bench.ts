/**
 * What redacting every store action costs (Engine.dispatch runs `redactDeep` on each): a log
 * action with five declared secrets registered (26 forms: lines, JSON-escaped, base64), against
 * the same walk with none registered, where it returns at once. Multiply by the log rate for the
 * CPU it takes (10,000 lines/s x 1 us = 1% of a core).
 */
import { Redactor } from '../core/engine/redact.js';
import { median, type BenchResult } from './types.js';

const SECRETS = ['s3cr3t-token-value-1234', 'hunter2hunter2', 'abc', '-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END KEY-----', 'p@ss"word\\x'];

function action(i: number) {
  return { type: 'log', line: { time: 1_700_000_000_000 + i, service: `svc${i % 100}`, level: 'output', stream: 'stdout', message: `GET /api/items/${i} 200 1.3 ms user=alice trace=0af7651916cd43dd8448eb211c80319c` } };
}

/** Microseconds per action, median of 5 rounds of 50,000. */
function perAction(r: Redactor): number {
  const rounds: number[] = [];
  for (let round = 0; round < 5; round++) {
    const n = 50_000;
    const t = performance.now();
    for (let i = 0; i < n; i++) r.redactDeep(action(i));
    const walked = performance.now() - t;
    const b = performance.now();
    for (let i = 0; i < n; i++) action(i);
    rounds.push(((walked - (performance.now() - b)) * 1000) / n);
  }
  return median(rounds);
}

export async function run(): Promise<BenchResult[]> {
  const none = new Redactor();
  const some = new Redactor();
  for (const s of SECRETS) some.add(s);
  perAction(some); // warm up the regex and the JIT
  return [{
    name: 'redaction of one log action, 5 secrets registered',
    value: perAction(some),
    unit: 'us',
    baseline: { name: 'no secret registered', value: perAction(none) },
    note: 'Engine.dispatch redacts every action; x log lines/s = CPU',
  }];
}
