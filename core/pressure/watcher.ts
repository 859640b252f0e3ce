/**
 * The resource-pressure watcher of a session: every `resourcePressure.interval` it reads the
 * machine's memory and the disks holding `.devloop/` and Docker's data (through a
 * `PressureProbe`), lets `decide()` say which pressures start or end, and on a start calls the
 * engine's `pressure` hook so plugins free what is idle. Every start is logged with what was
 * freed (or that nothing could be), once: a pressure that lasts is not repeated, and is said
 * again only after it cleared and came back.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Engine } from '../engine/engine.js';
import { sessionPaths } from '../session/paths.js';
import type { PressureContext } from './context.js';
import { decide, NO_PRESSURE, pressureSettings, PRESSURE_DEFAULTS, type DiskTarget, type PressureEvent, type PressureSettings, type PressureState, type Readings } from './decide.js';
import { systemProbe, type PressureProbe } from './probe.js';

export type PressureHost = Pick<Engine, 'hooks' | 'baseContext' | 'logger' | 'devfile' | 'root' | 'signal'>;

export interface PressureWatcherOptions {
  /** Where readings come from. Default: /proc/meminfo and statfs. */
  probe?: PressureProbe;
  /** Filesystems watched besides the one holding `.devloop/` (Docker's data), asked at every reading. */
  disks?: () => Promise<DiskTarget[]> | DiskTarget[];
}

/** Readings below this interval would cost more than they save. */
const MIN_INTERVAL_MS = 100;

export class PressureWatcher {
  private state: PressureState = NO_PRESSURE;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  /** Ticks run one after the other, whether from the timer or a caller. */
  private chain: Promise<unknown> = Promise.resolve();
  /** Problems already said (an unreadable disk), so they are not repeated every interval. */
  private readonly told = new Set<string>();

  constructor(private readonly engine: PressureHost, private readonly options: PressureWatcherOptions = {}) {
    engine.signal.addEventListener('abort', () => void this.stop(), { once: true });
  }

  /** Takes a first reading now, then one every interval until `stop()` or the engine stops. */
  start(): this {
    if (!this.stopped && !this.timer) this.loop(0);
    return this;
  }

  private loop(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.tick().finally(() => this.loop(Math.max(MIN_INTERVAL_MS, this.settings().intervalMs)));
    }, delay);
    this.timer.unref();
  }

  /** One reading, and the actions it calls for. Resolves to the pressures that started or ended. */
  tick(): Promise<PressureEvent[]> {
    const run = this.chain.then(() => this.readAndAct());
    this.chain = run.catch(() => undefined);
    return run.catch((err) => {
      this.tellOnce('tick', `resource pressure: reading failed: ${err instanceof Error ? err.message : String(err)}`);
      return [];
    });
  }

  /** Which pressures are on now. */
  get current(): PressureState { return this.state; }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.chain;
  }

  private settings(): PressureSettings {
    try {
      return pressureSettings(this.engine.devfile.resourcePressure);
    } catch (err) {
      // The schema rejects bad values at load; this is for a config built in code.
      this.tellOnce('settings', `${err instanceof Error ? err.message : String(err)}; using the defaults`);
      return PRESSURE_DEFAULTS;
    }
  }

  private async readAndAct(): Promise<PressureEvent[]> {
    if (this.stopped) return [];
    const settings = this.settings();
    if (!settings.enabled) {
      // Turned off by a Devfile edit: turned on again, a pressure still there is said anew.
      this.state = NO_PRESSURE;
      return [];
    }
    const { state, events } = decide(await this.read(), settings, this.state);
    this.state = state;
    for (const event of events) {
      if (this.stopped) break;
      await this.act(event, settings);
    }
    return events;
  }

  private async read(): Promise<Readings> {
    const probe = this.options.probe ?? systemProbe;
    let memory: Readings['memory'];
    try {
      memory = await probe.memory();
    } catch (err) {
      this.tellOnce('memory', `resource pressure: cannot read the machine's memory (${message(err)}); memory pressure is not watched`);
    }
    const disks: Readings['disks'] = [];
    for (const target of await this.targets()) {
      try {
        disks.push({ ...target, reading: await probe.disk(target.path) });
      } catch (err) {
        const remote = target.holds.includes('docker') ? ' (a daemon in a VM or on another host keeps its data out of reach)' : '';
        this.tellOnce(`disk:${target.path}`, `resource pressure: cannot read the disk of ${target.path}: ${message(err)}${remote}; that disk is not watched`);
      }
    }
    return { memory, disks };
  }

  /** The watched filesystems: two paths on one device are one disk, read once and said once. */
  private async targets(): Promise<DiskTarget[]> {
    let extra: DiskTarget[] = [];
    try {
      extra = (await this.options.disks?.()) ?? [];
    } catch (err) {
      this.tellOnce('disks', `resource pressure: cannot tell which disks to watch besides .devloop/ (${message(err)})`);
    }
    const byDevice = new Map<string, DiskTarget>();
    for (const t of [{ path: sessionPaths(this.engine.root).dir, holds: ['devloop'] } satisfies DiskTarget, ...extra]) {
      const { at, device } = await existingAncestor(t.path);
      const seen = byDevice.get(device);
      if (seen) seen.holds = [...new Set([...seen.holds, ...t.holds])];
      else byDevice.set(device, { path: at, holds: [...t.holds] });
    }
    return [...byDevice.values()];
  }

  private async act(event: PressureEvent, settings: PressureSettings): Promise<void> {
    const log = this.engine.logger();
    if (event.change === 'clear') {
      log.info(event.reason);
      return;
    }
    const reports: string[] = [];
    const base = { ...this.engine.baseContext(), reason: event.reason, keepImages: settings.keepImages, report: (what: string) => { reports.push(what); }, signal: this.engine.signal };
    const ctx: PressureContext = event.kind === 'memory'
      ? { ...base, kind: 'memory', reading: event.reading }
      : { ...base, kind: 'disk', reading: event.reading, path: event.path, holds: event.holds };
    let failure: unknown;
    try {
      await this.engine.hooks.pressure.promise(ctx);
    } catch (err) {
      failure = err;
    }
    for (const what of reports) log.warn(`${event.reason}: ${what}`);
    if (failure) log.warn(`${event.reason}: ${message(failure)}`);
    else if (reports.length === 0) log.warn(`${event.reason}: ${event.kind === 'memory' ? 'nothing idle to free (no idle Cloud Run instance beyond minScale, no idle build cache)' : "nothing of devloop's to remove (no devloop image beyond keepImages, no log to rotate)"}`);
  }

  private tellOnce(key: string, text: string): void {
    if (this.told.has(key)) return;
    this.told.add(key);
    this.engine.logger().warn(text);
  }
}

export function startPressureWatcher(engine: PressureHost, options: PressureWatcherOptions = {}): PressureWatcher {
  return new PressureWatcher(engine, options).start();
}

/** `.devloop/` may not exist yet: the disk that will hold it is its nearest existing ancestor's. */
async function existingAncestor(p: string): Promise<{ at: string; device: string }> {
  for (let at = path.resolve(p); ; at = path.dirname(at)) {
    try {
      return { at, device: String((await stat(at)).dev) };
    } catch {
      if (path.dirname(at) === at) return { at: p, device: p };
    }
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
