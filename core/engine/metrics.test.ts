import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MetricsSources } from './metrics.js';

describe('MetricsSources', () => {
  it('concatenates every source, leaves a failing one out with a comment naming it, and forgets a removed one', async () => {
    const m = new MetricsSources();
    assert.equal(m.claimedBy, undefined);
    m.claim('devloop:monitoring', () => 'http://127.0.0.1:9464/metrics');
    assert.equal(m.url, 'http://127.0.0.1:9464/metrics');
    m.add({ name: 'a', collect: () => 'a_total 1' });
    const remove = m.add({ name: 'b', collect: async () => 'b 2\n' });
    m.add({ name: 'broken', collect: () => { throw new Error('no\nway'); } });
    assert.equal(await m.collect(), 'a_total 1\nb 2\n# broken: cannot collect: no way\n');
    remove();
    assert.doesNotMatch(await m.collect(), /^b 2/m);
  });
});
