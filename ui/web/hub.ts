/**
 * From the store to every open page. Store listeners run on every action (10,000 log lines/s
 * is 10,000 calls), so the listener only notes what changed; a timer sends one `state` event
 * (the services whose state changed, compared field by field so a log line alone, which only
 * touches a service's `logTail`, sends no state) and one `logs` event per flush to all pages.
 *
 * A page that cannot keep up (its socket buffer past `maxBuffered`) is sent nothing more until
 * the buffer drains, then a fresh `hello`: it starts over from the current state instead of
 * replaying a backlog it could not read in time.
 */
import type http from 'node:http';
import type { Action } from '../../core/store/actions.js';
import type { EngineState, ServiceState } from '../../core/store/state.js';
import type { StateSource } from '../shared/source.js';
import { LogBuffer, type LogBufferOptions, type TuiLogLine } from '../tui/log-buffer.js';
import type { Hello, SeriesSnapshot, SeriesTick, SessionView, StatePatch, WebLogLine } from './protocol.js';

export interface HubOptions extends LogBufferOptions {
  /** Most time between a change and the pages hearing of it; default 100 ms. */
  flushMs?: number;
  /** Bytes a page may have unread before it is skipped; default 8 MiB. */
  maxBuffered?: number;
  /** The charts' history, for `hello`. */
  series(): SeriesSnapshot | Promise<SeriesSnapshot>;
}

interface Page {
  res: http.ServerResponse;
  /** Skipped until its socket drains (then sent a new hello). */
  behind: boolean;
}

const SESSION_KEYS = ['status', 'config', 'order', 'extra'] as const;

export class Hub {
  private readonly pages = new Set<Page>();
  private readonly logs: LogBuffer;
  private readonly sent = new Map<string, ServiceState>();
  private sentSession?: Pick<EngineState, typeof SESSION_KEYS[number]>;
  /** Highest log seq sent to the pages. */
  private sentSeq = -1;
  private timer?: NodeJS.Timeout;
  private readonly unsubscribe: () => void;
  private readonly heartbeat: NodeJS.Timeout;
  /** `skipped`: events not written to a page that was behind; `resyncs`: hellos sent to catch one up. */
  readonly stats = { flushes: 0, bytes: 0, dropped: 0, skipped: 0, resyncs: 0 };

  constructor(private readonly source: StateSource, private readonly options: HubOptions) {
    this.logs = new LogBuffer(options);
    const state = source.getState();
    const backlog = [...state.logTail];
    for (const name of state.order) backlog.push(...(state.services[name]?.logTail ?? []));
    backlog.sort((a, b) => a.time - b.time);
    for (const l of backlog) this.logs.push(l);
    this.sentSeq = this.logs.seq - 1;
    // The baseline patches are made against; a page's hello carries the state it opened with.
    this.remember(state);
    this.unsubscribe = source.subscribe((_state, action) => this.onAction(action));
    // Proxies and browsers close a silent stream; a comment line every 15 s keeps it open.
    this.heartbeat = setInterval(() => { for (const p of this.pages) if (!p.behind) p.res.write(':\n\n'); }, 15_000);
    this.heartbeat.unref();
  }

  get pageCount(): number { return this.pages.size; }

  /** Starts an SSE stream on `res`: a hello, then every change. */
  async attach(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    // Reconnect soon after the session restarts.
    res.write('retry: 1000\n\n');
    const page: Page = { res, behind: false };
    await this.hello(page);
    this.pages.add(page);
    res.on('drain', () => {
      if (!page.behind) return;
      page.behind = false;
      this.stats.resyncs++;
      void this.hello(page);
    });
    req.on('close', () => this.pages.delete(page));
  }

  /** Sends what is pending now (tests, close). */
  flush(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
    if (!this.pages.size) {
      // Nobody listens: remember where the stream is, so a page opening later is not sent old news.
      this.sentSeq = this.logs.seq - 1;
      this.remember(this.source.getState());
      return;
    }
    this.stats.flushes++;
    const state = this.source.getState();
    const patch = this.patch(state);
    const { lines, dropped } = this.newLines();
    if (patch) this.broadcast('state', JSON.stringify(patch));
    if (lines.length || dropped) this.broadcast('logs', JSON.stringify(dropped ? { lines, dropped } : { lines }));
  }

  /** A chart sample for every page. */
  series(tick: SeriesTick): void {
    if (this.pages.size) this.broadcast('series', JSON.stringify(tick));
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    clearInterval(this.heartbeat);
    this.unsubscribe();
    for (const p of this.pages) p.res.end();
    this.pages.clear();
  }

  private onAction(action: Action): void {
    if (action.type === 'log') this.logs.push(action.line);
    else if (action.type === 'service/removed') this.logs.drop(action.service);
    this.timer ??= setTimeout(() => this.flush(), this.options.flushMs ?? 100);
    this.timer.unref();
  }

  private async hello(page: Page): Promise<void> {
    const series = await this.options.series();
    const state = this.source.getState();
    const services: Record<string, ServiceState> = {};
    for (const name of state.order) if (state.services[name]) services[name] = view(state.services[name]);
    const hello: Hello = { session: sessionView(state), services, logs: this.backlog(), series };
    this.write(page, 'hello', JSON.stringify(hello));
  }

  /** Every line still held, interleaved ring and per-service rings together, oldest first. */
  private backlog(): WebLogLine[] {
    const seen = new Map<number, TuiLogLine>();
    const add = (ring: { size: number; at(i: number): TuiLogLine } | undefined) => {
      if (!ring) return;
      for (let i = 0; i < ring.size; i++) { const l = ring.at(i); seen.set(l.seq, l); }
    };
    add(this.logs.all);
    const state = this.source.getState();
    for (const name of state.order) add(this.logs.service(name));
    return [...seen.values()].filter((l) => l.seq <= this.sentSeq).sort((a, b) => a.seq - b.seq).map(webLine);
  }

  private patch(state: EngineState): StatePatch | undefined {
    const patch: StatePatch = {};
    if (!this.sentSession || SESSION_KEYS.some((k) => state[k] !== this.sentSession![k])) patch.session = sessionView(state);
    for (const name of state.order) {
      const s = state.services[name];
      if (s && changed(this.sent.get(name), s)) (patch.services ??= {})[name] = view(s);
    }
    for (const name of this.sent.keys()) if (!state.services[name]) (patch.removed ??= []).push(name);
    this.remember(state);
    return patch.session || patch.services || patch.removed ? patch : undefined;
  }

  private remember(state: EngineState): void {
    this.sentSession = { status: state.status, config: state.config, order: state.order, extra: state.extra };
    this.sent.clear();
    for (const name of state.order) if (state.services[name]) this.sent.set(name, state.services[name]);
  }

  private newLines(): { lines: WebLogLine[]; dropped: number } {
    const ring = this.logs.all;
    const lines: WebLogLine[] = [];
    let i = ring.size;
    while (i > 0 && ring.at(i - 1).seq > this.sentSeq) i--;
    const first = i < ring.size ? ring.at(i).seq : this.logs.seq;
    // Lines pushed out of the ring between two flushes (more than it holds in 100 ms) are lost to the pages.
    const dropped = Math.max(0, first - this.sentSeq - 1);
    for (; i < ring.size; i++) lines.push(webLine(ring.at(i)));
    this.sentSeq = this.logs.seq - 1;
    this.stats.dropped += dropped;
    return { lines, dropped };
  }

  private broadcast(event: string, data: string): void {
    for (const page of this.pages) this.write(page, event, data);
  }

  private write(page: Page, event: string, data: string): void {
    // Checked before writing, so a hello bigger than the limit still goes out whole (checked
    // after, it would mark the page behind again at once and resync it forever).
    if (!page.behind && event !== 'hello' && page.res.writableLength > (this.options.maxBuffered ?? 8 * 2 ** 20)) page.behind = true;
    if (page.behind) { this.stats.skipped++; return; }
    const chunk = `event: ${event}\ndata: ${data}\n\n`;
    this.stats.bytes += chunk.length;
    page.res.write(chunk);
  }
}

function sessionView(state: EngineState): SessionView {
  return { status: state.status, config: state.config, order: state.order, extra: state.extra };
}

/** A service as pages get it: the short log tail is left out (the log stream has every line). */
function view(s: ServiceState): ServiceState {
  return { ...s, logTail: [] };
}

/** Whether anything but the log tail changed (the reducer makes new objects only for what changed). */
function changed(before: ServiceState | undefined, after: ServiceState): boolean {
  if (!before) return true;
  if (before === after) return false;
  for (const key of Object.keys(after) as (keyof ServiceState)[]) {
    if (key !== 'logTail' && before[key] !== after[key]) return true;
  }
  return Object.keys(before).length !== Object.keys(after).length;
}

function webLine(l: TuiLogLine): WebLogLine {
  return l.service === undefined ? { seq: l.seq, time: l.time, level: l.level, text: l.text } : { seq: l.seq, time: l.time, service: l.service, level: l.level, text: l.text };
}
