import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatLogLine } from './logs.js';

describe('formatLogLine', () => {
  it('passes plain lines through untouched', () => {
    assert.deepEqual(formatLogLine('  listening on :8080'), { lines: ['  listening on :8080'] });
    assert.deepEqual(formatLogLine('{not json'), { lines: ['{not json'] });
    assert.deepEqual(formatLogLine('{"user":"ann","id":3}'), { lines: ['{"user":"ann","id":3}'] }, 'data without message or severity');
  });

  it('formats a Cloud Logging entry with severity, message, extra fields and a short trace', () => {
    const line = JSON.stringify({
      severity: 'ERROR', message: 'payment declined', amount: 12, time: '2024-05-01T10:00:00.000Z',
      'logging.googleapis.com/trace': 'projects/p/traces/4bf92f3577b34da6a3ce929d0e0e4736',
      'logging.googleapis.com/spanId': '00f067aa0ba902b7',
    });
    const out = formatLogLine(line);
    assert.deepEqual(out.lines, ['ERROR payment declined  amount=12 [trace 4bf92f3577b34da6a3ce929d0e0e4736]']);
    assert.equal(out.severity, 'ERROR');
    assert.equal(out.stream, 'stderr');
    assert.equal(out.time, Date.parse('2024-05-01T10:00:00.000Z'));
  });

  it('understands pino levels and msg', () => {
    const out = formatLogLine('{"level":40,"time":1714557600000,"pid":1,"hostname":"h","msg":"slow query","ms":812}');
    assert.deepEqual(out.lines, ['WARNING slow query  ms=812']);
    assert.equal(out.stream, 'stdout');
    assert.equal(out.time, 1714557600000);
  });

  it('puts a stack trace on its own lines without repeating the message', () => {
    const out = formatLogLine(JSON.stringify({ severity: 'error', message: 'boom', stack: 'Error: boom\n    at main (/app/index.js:3:9)' }));
    assert.deepEqual(out.lines, ['ERROR boom', '    at main (/app/index.js:3:9)']);
  });

  it('shows an httpRequest like a request log', () => {
    const out = formatLogLine(JSON.stringify({ severity: 'INFO', message: 'request', httpRequest: { requestMethod: 'GET', requestUrl: '/api', status: 200, latency: '0.012s' } }));
    assert.deepEqual(out.lines, ['INFO GET /api 200 0.012s request']);
  });

  it('keeps a message with a severity it does not know, without a severity', () => {
    const out = formatLogLine('{"level":"chatty","message":"hi"}');
    assert.deepEqual(out.lines, ['hi']);
    assert.equal(out.severity, undefined);
  });
});
