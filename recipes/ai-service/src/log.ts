/**
 * Structured logs as Cloud Logging reads them from stdout: one JSON object a line with
 * `severity`, `message`, and `logging.googleapis.com/trace` so a line joins its request's trace.
 * https://cloud.google.com/logging/docs/structured-logging
 */
export type Severity = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';

export interface TraceContext {
  traceId: string;
  spanId?: string;
  sampled?: boolean;
}

/** The trace of a request: W3C `traceparent` first, else Cloud Run's `X-Cloud-Trace-Context`. */
export function traceFrom(headers: { get(name: string): string | null | undefined }): TraceContext | undefined {
  const tp = /^[\da-f]{2}-([\da-f]{32})-([\da-f]{16})-([\da-f]{2})$/i.exec(headers.get('traceparent')?.trim() ?? '');
  if (tp && !/^0+$/.test(tp[1])) return { traceId: tp[1].toLowerCase(), spanId: tp[2].toLowerCase(), sampled: (parseInt(tp[3], 16) & 1) === 1 };
  // TRACE_ID/SPAN_ID;o=1 where SPAN_ID is decimal.
  const xc = /^([\da-f]{32})(?:\/(\d+))?(?:;o=([01]))?$/i.exec(headers.get('x-cloud-trace-context')?.trim() ?? '');
  if (xc) return { traceId: xc[1].toLowerCase(), spanId: xc[2] ? BigInt(xc[2]).toString(16).padStart(16, '0') : undefined, sampled: xc[3] === '1' };
  return undefined;
}

// Cloud Run sets no project variable itself; GOOGLE_CLOUD_PROJECT is the usual one to set.
const project = () => process.env.GOOGLE_CLOUD_PROJECT ?? process.env.GCLOUD_PROJECT ?? 'local-project';

export function log(severity: Severity, message: string, fields: Record<string, unknown> = {}, trace?: TraceContext): void {
  const entry: Record<string, unknown> = { severity, message, time: new Date().toISOString(), ...fields };
  if (trace) {
    entry['logging.googleapis.com/trace'] = `projects/${project()}/traces/${trace.traceId}`;
    if (trace.spanId) entry['logging.googleapis.com/spanId'] = trace.spanId;
    if (trace.sampled !== undefined) entry['logging.googleapis.com/trace_sampled'] = trace.sampled;
  }
  process.stdout.write(`${JSON.stringify(entry)}\n`);
}
