import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { histogramQuantile, parsePromText } from './prom-text.js';

describe('parsePromText', () => {
  it('reads names, labels (with escapes) and values, skipping comments and other metrics', () => {
    const text = [
      '# HELP devloop_cloudrun_requests_total Requests.',
      '# TYPE devloop_cloudrun_requests_total counter',
      'devloop_cloudrun_requests_total{service="api",revision="api-00001",code_class="2xx",code="200"} 12',
      'devloop_cloudrun_requests_total{service="we\\"ird\\\\",code_class="5xx"} 3 1700000000000',
      'other_metric 5',
      'devloop_cloudrun_request_latency_seconds_bucket{service="api",le="+Inf"} 12',
      'broken{service="api" 1',
    ].join('\n');
    const names = new Set(['devloop_cloudrun_requests_total', 'devloop_cloudrun_request_latency_seconds_bucket']);
    const samples = parsePromText(text, names);
    assert.deepEqual(samples.map((s) => [s.name, s.labels.service, s.value]), [
      ['devloop_cloudrun_requests_total', 'api', 12],
      ['devloop_cloudrun_requests_total', 'we"ird\\', 3],
      ['devloop_cloudrun_request_latency_seconds_bucket', 'api', 12],
    ]);
    assert.equal(samples[2].labels.le, '+Inf');
    assert.equal(parsePromText('up 1\nNaN_metric NaN\n').length, 2);
  });
});

describe('histogramQuantile', () => {
  it('interpolates inside the bucket as PromQL does', () => {
    // 10 observations: 4 under 10 ms, 6 between 10 and 50 ms.
    const buckets = [{ le: 0.01, count: 4 }, { le: 0.05, count: 10 }, { le: Infinity, count: 10 }];
    assert.equal(histogramQuantile(0.5, buckets), 0.01 + 0.04 * (1 / 6));
    assert.equal(histogramQuantile(0.2, buckets), 0.005);
    assert.equal(histogramQuantile(1, buckets), 0.05);
  });
  it('answers the highest finite bound when the rank falls in +Inf, and nothing without observations', () => {
    assert.equal(histogramQuantile(0.99, [{ le: 0.1, count: 1 }, { le: Infinity, count: 10 }]), 0.1);
    assert.equal(histogramQuantile(0.5, [{ le: 0.1, count: 0 }, { le: Infinity, count: 0 }]), undefined);
  });
});
