import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ECHO_MS, onInterrupt } from './interrupts.js';

describe('onInterrupt', () => {
  it('an echo of the same Ctrl-C within the window is ignored; a press after it forces', () => {
    let t = 1_000;
    const seen: string[] = [];
    const off = onInterrupt({ stop: (s) => seen.push(`stop ${s}`), force: (s) => seen.push(`force ${s}`), now: () => t, signals: ['SIGUSR2'] });
    try {
      process.emit('SIGUSR2', 'SIGUSR2');
      t += 20;
      process.emit('SIGUSR2', 'SIGUSR2');
      assert.deepEqual(seen, ['stop SIGUSR2'], 'the forwarded copy is the same interrupt');
      t += ECHO_MS;
      process.emit('SIGUSR2', 'SIGUSR2');
      assert.deepEqual(seen, ['stop SIGUSR2', 'force SIGUSR2']);
    } finally {
      off();
    }
    assert.equal(process.listenerCount('SIGUSR2'), 0);
  });
});
