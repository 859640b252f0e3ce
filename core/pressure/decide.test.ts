import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateDevfile } from '../devfile/schema.js';
import { decide, NO_PRESSURE, parsePercent, percent, pressureSettings, type PressureState, type Readings } from './decide.js';
import { parseMeminfo } from './probe.js';

const GiB = 1024 ** 3;
const thresholds = { memoryAvailableBelow: 0.15, diskUsedAbove: 0.9 };
const mem = (availablePct: number): Readings => ({ memory: { availableBytes: availablePct / 100 * 16 * GiB, totalBytes: 16 * GiB }, disks: [] });
const disk = (usedPct: number, path = '/data', holds: ('devloop' | 'docker')[] = ['devloop', 'docker']): Readings => ({
  disks: [{ path, holds, reading: { usedBytes: usedPct / 100 * 100 * GiB, totalBytes: 100 * GiB } }],
});

/** Feeds readings one after the other, as ticks would, and returns every event's reason. */
function run(readings: Readings[], state: PressureState = NO_PRESSURE): { reasons: string[]; state: PressureState } {
  const reasons: string[] = [];
  for (const r of readings) {
    const out = decide(r, thresholds, state);
    state = out.state;
    reasons.push(...out.events.map((e) => `${e.change} ${e.reason}`));
  }
  return { reasons, state };
}

describe('resource pressure decisions', { timeout: 10_000 }, () => {
  it('starts memory pressure below the threshold, with the figures in the reason', () => {
    const { events, state } = decide(mem(12), thresholds, NO_PRESSURE);
    assert.equal(events.length, 1);
    assert.equal(events[0].kind, 'memory');
    assert.equal(events[0].change, 'enter');
    assert.equal(events[0].reason, 'memory pressure (available 12% < 15%)');
    assert.equal(state.memory, true);
  });

  it('does nothing at or above the threshold', () => {
    assert.deepEqual(run([mem(15), mem(40), mem(99)]).reasons, []);
  });

  it('says a lasting pressure once, not on every reading', () => {
    assert.deepEqual(run([mem(12), mem(10), mem(3), mem(14.9)]).reasons, ['enter memory pressure (available 12% < 15%)']);
  });

  it('clears only past the 2-point margin, then says a returning pressure again', () => {
    const { reasons } = run([mem(12), mem(16), mem(14), mem(18), mem(13)]);
    assert.deepEqual(reasons, [
      'enter memory pressure (available 12% < 15%)',
      'clear memory pressure cleared (available 18% >= 17%)',
      'enter memory pressure (available 13% < 15%)',
    ]);
  });

  it('rounds a reading towards its side of the line', () => {
    const { events } = decide(mem(14.96), thresholds, NO_PRESSURE);
    assert.equal(events[0].reason, 'memory pressure (available 14% < 15%)');
    assert.equal(percent(0.9001, 'up', 0.9), '91%');
    assert.equal(percent(0.125, 'down', 0.125), '12.5%');
  });

  it('keeps the state when memory could not be read', () => {
    const { state } = run([mem(12), { disks: [] }]);
    assert.equal(state.memory, true);
  });

  it('starts disk pressure past the threshold, naming the disk and what it holds', () => {
    const { events } = decide(disk(93), thresholds, NO_PRESSURE);
    assert.equal(events.length, 1);
    assert.equal(events[0].kind, 'disk');
    assert.equal(events[0].reason, "disk pressure (used 93% > 90% on /data, holding .devloop/ and Docker's data)");
    assert.deepEqual(events[0].kind === 'disk' && events[0].holds, ['devloop', 'docker']);
    assert.deepEqual(run([disk(90)]).reasons, [], 'exactly at the threshold is not past it');
  });

  it('tracks each disk on its own: once each, cleared each', () => {
    const both = (a: number, b: number): Readings => ({ disks: [...disk(a, '/a', ['devloop']).disks, ...disk(b, '/b', ['docker']).disks] });
    const { reasons } = run([both(95, 50), both(96, 92), both(97, 95), both(80, 95), both(80, 95), both(91, 95)]);
    assert.deepEqual(reasons, [
      'enter disk pressure (used 95% > 90% on /a, holding .devloop/)',
      "enter disk pressure (used 92% > 90% on /b, holding Docker's data)",
      'clear disk pressure cleared (used 80% <= 88% on /a, holding .devloop/)',
      'enter disk pressure (used 91% > 90% on /a, holding .devloop/)',
    ]);
  });

  it('does not clear a disk inside the margin', () => {
    assert.deepEqual(run([disk(95), disk(89), disk(91), disk(88)]).reasons, [
      "enter disk pressure (used 95% > 90% on /data, holding .devloop/ and Docker's data)",
      "clear disk pressure cleared (used 88% <= 88% on /data, holding .devloop/ and Docker's data)",
    ]);
  });

  it('reads the Devfile settings with defaults', () => {
    assert.deepEqual(pressureSettings(undefined), { enabled: true, memoryAvailableBelow: 0.15, diskUsedAbove: 0.9, intervalMs: 5000, keepImages: 3 });
    assert.deepEqual(pressureSettings({ memoryAvailableBelow: '20%', diskUsedAbove: 80, interval: '2s', keepImages: 1, enabled: false }),
      { enabled: false, memoryAvailableBelow: 0.2, diskUsedAbove: 0.8, intervalMs: 2000, keepImages: 1 });
    assert.equal(pressureSettings({ interval: '250ms' }).intervalMs, 250);
    assert.throws(() => parsePercent('150%', 'f'), /f: expected a percent like "15%" \(0 to 100\), got "150%"/);
    assert.throws(() => parsePercent('15', 'f'), /expected a percent/);
  });

  it('checks the Devfile block: percents, durations, keepImages', () => {
    const check = (resourcePressure: unknown) => {
      const r = validateDevfile({ services: {}, resourcePressure });
      return r.ok ? [] : r.issues.map((i) => `${i.path}${i.key ? ` [${i.key}]` : ''}: ${i.message}`);
    };
    assert.deepEqual(check({ enabled: true, memoryAvailableBelow: '15%', diskUsedAbove: 90, interval: '5s', keepImages: 3 }), []);
    assert.deepEqual(check({ memoryAvailableBelow: '150%' }), ['resourcePressure.memoryAvailableBelow: expected a percent like "15%" (0 to 100), got "150%"']);
    assert.match(check({ diskUsedAbove: '90' }).join('\n'), /resourcePressure\.diskUsedAbove: expected a percent like "15%"/);
    assert.match(check({ interval: 'often' }).join('\n'), /resourcePressure\.interval: expected a duration like "5s"/);
    assert.match(check({ keepImages: 0 }).join('\n'), /resourcePressure\.keepImages/);
    assert.match(check({ memoryAvailable: '15%' }).join('\n'), /resourcePressure \[memoryAvailable\]/);
  });

  it('parses /proc/meminfo', () => {
    const text = 'MemTotal:       16000000 kB\nMemFree:         1000000 kB\nMemAvailable:    2400000 kB\nBuffers: 10 kB\n';
    assert.deepEqual(parseMeminfo(text), { availableBytes: 2400000 * 1024, totalBytes: 16000000 * 1024 });
    const old = 'MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 250 kB\n';
    assert.deepEqual(parseMeminfo(old), { availableBytes: 400 * 1024, totalBytes: 1000 * 1024 });
  });
});
