import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { linkTraces } from './logs.js';

describe('linkTraces', () => {
  it('puts the Jaeger address of each trace id after it, and leaves other text alone', () => {
    assert.equal(
      linkTraces('ERROR payment declined  amount=12 [trace 4bf92f3577b34da6a3ce929d0e0e4736]', 'http://127.0.0.1:16686/'),
      'ERROR payment declined  amount=12 [trace 4bf92f3577b34da6a3ce929d0e0e4736 http://127.0.0.1:16686/trace/4bf92f3577b34da6a3ce929d0e0e4736]',
    );
    assert.equal(linkTraces('GET / 200 [trace not-hex]', 'http://j'), 'GET / 200 [trace not-hex]');
  });
});
