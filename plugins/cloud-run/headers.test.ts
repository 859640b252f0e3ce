import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { traceContext, traceHeaders } from './headers.js';

describe('traceContext / traceHeaders: the front end\'s place in the caller\'s trace', () => {
  it('continues a W3C traceparent: same trace, the caller\'s span as parent, a new span id the instance sees', () => {
    const t = traceContext({ traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01` });
    assert.equal(t.traceId, '1'.repeat(32));
    assert.equal(t.parentSpanId, '2'.repeat(16));
    assert.match(t.spanId, /^[0-9a-f]{16}$/);
    assert.notEqual(t.spanId, t.parentSpanId);
    const h = traceHeaders({}, t);
    assert.equal(h.traceparent, `00-${t.traceId}-${t.spanId}-01`);
    assert.equal(h['x-cloud-trace-context'], `${t.traceId}/${BigInt(`0x${t.spanId}`)};o=1`);
  });

  it('takes the parent from X-Cloud-Trace-Context (decimal span id) when there is no traceparent, and keeps "not sampled"', () => {
    const t = traceContext({ 'x-cloud-trace-context': `${'A'.repeat(32)}/255;o=0` });
    assert.deepEqual([t.traceId, t.parentSpanId, t.sampled], ['a'.repeat(32), '00000000000000ff', false]);
  });

  it('starts a new trace without a parent when the request carries none (or an all-zero one)', () => {
    for (const headers of [{}, { traceparent: `00-${'0'.repeat(32)}-${'2'.repeat(16)}-01` }]) {
      const t = traceContext(headers);
      assert.match(t.traceId, /^[0-9a-f]{32}$/);
      assert.notEqual(t.traceId, '0'.repeat(32));
      assert.equal(t.parentSpanId, undefined);
      assert.equal(t.sampled, true);
    }
  });
});
