import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLoopbackHost } from './loopback-host.js';

describe('isLoopbackHost', () => {
  it('takes loopback names with or without a port', { timeout: 5_000 }, () => {
    for (const h of ['localhost', 'LOCALHOST:9464', '127.0.0.1', '127.0.0.1:80', '127.255.0.9:1', '[::1]', '[::1]:9464', '::1', '[::ffff:127.0.0.1]:8']) {
      assert.equal(isLoopbackHost(h), true, h);
    }
  });

  it('refuses every other name, and malformed ones', { timeout: 5_000 }, () => {
    for (const h of [undefined, '', 'evil.example', 'localhost.evil.example', 'evil.localhost', '127.0.0.1.evil.example', '127.0.0', '127.0.0.256', '0.0.0.0', '10.0.0.1', '[::2]', 'localhost:abc', 'local host', '[::1]x']) {
      assert.equal(isLoopbackHost(h), false, String(h));
    }
  });

  it('takes the extra names a server is addressed by', { timeout: 5_000 }, () => {
    assert.equal(isLoopbackHost('metadata.google.internal', ['metadata.google.internal']), true);
    assert.equal(isLoopbackHost('172.17.0.1:4000', ['172.17.0.1']), true);
    assert.equal(isLoopbackHost('172.17.0.2:4000', ['172.17.0.1']), false);
  });
});
