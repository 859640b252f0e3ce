import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Engine } from '../engine/engine.js';
import type { LogLine } from '../store/state.js';
import type { PressureProbe } from './probe.js';
import { PressureWatcher } from './watcher.js';

const GiB = 1024 ** 3;
const roots: string[] = [];
after(() => { for (const r of roots) rmSync(r, { recursive: true, force: true }); });

function setup(probe: PressureProbe) {
  const root = mkdtempSync(path.join(os.tmpdir(), 'devloop-pressure-'));
  roots.push(root);
  const engine = new Engine({ root, devfile: { services: {} } });
  const lines: LogLine[] = [];
  engine.subscribe((_s, a) => { if (a.type === 'log') lines.push(a.line); });
  return { engine, lines, watcher: new PressureWatcher(engine, { probe }), root };
}

describe('resource pressure watcher', { timeout: 10_000 }, () => {
  it('says once that a disk cannot be read, and keeps watching memory', async () => {
    let available = 0.5;
    const { watcher, lines, engine } = setup({
      memory: async () => ({ availableBytes: available * GiB, totalBytes: GiB }),
      disk: async () => { throw new Error('EACCES: permission denied'); },
    });
    await watcher.tick();
    await watcher.tick();
    available = 0.05;
    await watcher.tick();
    const messages = lines.map((l) => l.message);
    assert.equal(messages.filter((m) => /cannot read the disk of .*: EACCES: permission denied; that disk is not watched/.test(m)).length, 1);
    assert.deepEqual(messages.filter((m) => m.startsWith('memory pressure')), ['memory pressure (available 5% < 15%): nothing idle to free (no idle Cloud Run instance beyond minScale, no idle build cache)']);
    await engine.stop();
  });

  it('names a tap that fails, and still says what the others freed', async () => {
    const { watcher, lines, engine } = setup({
      memory: async () => ({ availableBytes: 0.1 * GiB, totalBytes: GiB }),
      disk: async () => ({ usedBytes: 1, totalBytes: 10 }),
    });
    engine.hooks.pressure.tapPromise('good', async (ctx) => { ctx.report('freed a cache'); });
    engine.hooks.pressure.tapPromise('bad', async () => { throw new Error('boom'); });
    const events = await watcher.tick();
    assert.deepEqual(events.map((e) => `${e.kind} ${e.change}`), ['memory enter']);
    const messages = lines.map((l) => l.message);
    assert.deepEqual(messages, [
      'memory pressure (available 10% < 15%): freed a cache',
      'memory pressure (available 10% < 15%): plugin "bad" failed in hook "pressure": boom',
    ]);
    await engine.stop();
  });

  it('stays quiet when turned off in the Devfile', async () => {
    const { watcher, lines, engine } = setup({
      memory: async () => ({ availableBytes: 0.01 * GiB, totalBytes: GiB }),
      disk: async () => ({ usedBytes: 99, totalBytes: 100 }),
    });
    engine.devfile.resourcePressure = { enabled: false };
    assert.deepEqual(await watcher.tick(), []);
    assert.deepEqual(lines, []);
    await engine.stop();
  });
});
