/**
 * One trace per pipeline run (pure: an `update/finished` record in, span records out): a root
 * span `update <service> #<id>` from the trigger to the end, and a child per step. The store
 * keeps each step's duration, not its start; steps run one after another and the last one ends
 * the run, so they are laid end to end back from `finishedAt`. Whatever is left at the front is
 * time spent queued (a parallelism slot, a dependency), shown as its own `queued` child.
 */
import { randomBytes } from 'node:crypto';
import type { SpanRecord } from '../../core/engine/tracing.js';
import type { UpdateRecord } from '../../core/store/state.js';

/** Gaps shorter than this are scheduling noise, not a wait worth a span. */
const MIN_QUEUED_MS = 5;

export function updateSpans(service: string, u: UpdateRecord, traceId = randomBytes(16).toString('hex')): SpanRecord[] {
  const rootId = randomBytes(8).toString('hex');
  const failed = u.outcome === 'failed';
  const root: SpanRecord = {
    name: `update ${service} #${u.id}`, traceId, spanId: rootId, startMs: u.startedAt, endMs: u.finishedAt,
    attributes: {
      'devloop.service': service, 'devloop.update.id': u.id, 'devloop.update.outcome': u.outcome,
      'devloop.update.trigger': u.trigger.reason, 'devloop.update.files': u.trigger.files.length, 'devloop.update.live': Boolean(u.live),
    },
    status: failed ? { code: 'error', message: `${u.failedStep ?? 'a step'} failed` } : u.outcome === 'cancelled' ? { code: 'unset' } : { code: 'ok' },
  };
  const out: SpanRecord[] = [root];
  let end = u.finishedAt;
  const steps: SpanRecord[] = [];
  for (const step of [...u.steps].reverse()) {
    const start = Math.max(u.startedAt, end - step.ms);
    steps.unshift({
      name: step.name, traceId, parentSpanId: rootId, startMs: start, endMs: end,
      attributes: { 'devloop.service': service, 'devloop.step': step.name, 'devloop.step.ms': step.ms },
      status: failed && u.failedStep === step.name ? { code: 'error', message: `${step.name} failed` } : { code: 'unset' },
    });
    end = start;
  }
  if (end - u.startedAt >= MIN_QUEUED_MS) {
    out.push({ name: 'queued', traceId, parentSpanId: rootId, startMs: u.startedAt, endMs: end, attributes: { 'devloop.service': service } });
  }
  return [...out, ...steps];
}
