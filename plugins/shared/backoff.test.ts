import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RestartBackoff } from './backoff.js';

describe('RestartBackoff', () => {
  it('doubles from 1 s and caps at 30 s', () => {
    const b = new RestartBackoff({ now: () => 0 });
    assert.deepEqual(Array.from({ length: 8 }, () => b.failure()), [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    assert.equal(b.attempts, 8);
  });

  it('resets after 60 s of continuous health', () => {
    let t = 0;
    const b = new RestartBackoff({ now: () => t });
    b.failure(); b.failure(); b.failure();
    b.healthy();
    t += 60_000;
    assert.equal(b.failure(), 1000);
  });

  it('does not reset when the healthy stretch was shorter than 60 s', () => {
    let t = 0;
    const b = new RestartBackoff({ now: () => t });
    b.failure(); b.failure();
    b.healthy();
    t += 59_999;
    assert.equal(b.failure(), 4000);
  });

  it('counts the healthy stretch from the first healthy report, not the latest', () => {
    let t = 0;
    const b = new RestartBackoff({ now: () => t });
    b.failure();
    b.healthy();
    t += 30_000;
    b.healthy();
    t += 30_000;
    assert.equal(b.failure(), 1000);
  });

  it('a crash ends the healthy stretch', () => {
    let t = 0;
    const b = new RestartBackoff({ now: () => t });
    b.failure();
    b.healthy();
    t += 50_000;
    b.failure();
    t += 50_000;
    assert.equal(b.failure(), 4000, 'no healthy report since the last crash');
  });
});
