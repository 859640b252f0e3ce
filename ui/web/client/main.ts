/**
 * The dashboard page: reads the boot data the server embedded, opens the event stream and keeps a
 * copy of the session, the services (the last object per name), the logs and the chart history.
 * Events only mark what changed; painting happens at most once per animation frame.
 */
import 'uplot/dist/uPlot.min.css';
import './style.css';
import type { ServiceState } from '../../../core/store/state.js';
import { API, BOOT_ELEMENT_ID, type Boot, type Hello, type LogBatch, type SeriesTick, type SessionView, type StatePatch } from '../protocol.js';
import { postAction, Toast } from './actions.js';
import { Charts } from './charts.js';
import { h } from './dom.js';
import { Header } from './header.js';
import { installKeys } from './keys.js';
import { LogPane } from './log-pane.js';
import { LogStore } from './log-store.js';
import { detailsPanel, errorPanel } from './panels.js';
import { SeriesStore } from './series.js';
import { ServicesTable } from './table.js';

interface PageCounters { hello: number; events: number; logLines: number; frames: number }
declare global { interface Window { __devloopPage: PageCounters } }

const counters: PageCounters = { hello: 0, events: 0, logLines: 0, frames: 0 };
window.__devloopPage = counters;

const boot = readBoot();
let session: SessionView | undefined;
const services = new Map<string, ServiceState>();
let selected: string | undefined;
const logs = new LogStore();
const series = new SeriesStore();

let frame = 0;
function requestPaint(): void {
  if (!frame) frame = requestAnimationFrame(paint);
}

const header = new Header(boot);
const table = new ServicesTable((name) => select(name));
const toast = new Toast();
const side = h('div', { id: 'side', class: 'panel' });
const charts = new Charts(series, requestPaint, (name) => services.get(name)?.target);
const logPane = new LogPane(logs, requestPaint);
const empty = h('div', { class: 'placeholder' }, 'waiting for devloop…');

const app = document.getElementById('app') ?? document.body.appendChild(h('div', { id: 'app' }));
app.replaceChildren(
  header.el,
  h('section', { id: 'table-section', class: 'panel' }, table.el, empty),
  h('div', { id: 'middle' }, side, charts.el),
  logPane.el,
  toast.el,
);

/** The error panel's text when last drawn: a different one scrolls the side panel to it. */
let shownError = '';

// What the next frame must redraw.
let tableDirty = false;
let sideDirty = false;

function paint(): void {
  frame = 0;
  const now = Date.now();
  if (tableDirty && session) {
    tableDirty = false;
    table.update(session.order, services, now);
    header.update(session, services);
    logPane.setServices(session.order);
    empty.textContent = session.order.length ? '' : 'no services in the Devfile yet';
  }
  if (sideDirty && session) {
    sideDirty = false;
    const s = selected ? services.get(selected) : undefined;
    const scroll = side.scrollTop;
    const errors = errorPanel(session, s, services);
    side.replaceChildren(...[errors, s ? detailsPanel(s, now) : h('div', { class: 'placeholder' }, 'select a service')].filter((x): x is HTMLElement => !!x));
    // A new error is scrolled into view (it sits at the top); otherwise the reader's place is kept.
    const errorText = errors?.textContent ?? '';
    side.scrollTop = errorText && errorText !== shownError ? 0 : scroll;
    shownError = errorText;
  }
  charts.paint();
  logPane.paint();
  counters.frames++;
}

function select(name: string | undefined): void {
  selected = name;
  // A link to the page with the service selected (`#service=api`), as Tilt's /r/<resource> URLs.
  const hash = name ? `#service=${encodeURIComponent(name)}` : '';
  if (location.hash !== hash) history.replaceState(null, '', `${location.pathname}${location.search}${hash}`);
  table.select(name);
  charts.select(name);
  if (name) logPane.follows(name);
  sideDirty = true;
  requestPaint();
}

function onHello(hello: Hello): void {
  counters.hello++;
  session = hello.session;
  services.clear();
  for (const [name, s] of Object.entries(hello.services)) services.set(name, s);
  logs.clear();
  logPane.reset();
  for (const line of hello.logs) logs.push(line);
  counters.logLines += hello.logs.length;
  series.reset(hello.series);
  const linked = /^#service=(.+)$/.exec(location.hash)?.[1];
  if (!selected && linked && services.has(decodeURIComponent(linked))) selected = decodeURIComponent(linked);
  if (!selected || !services.has(selected)) {
    // The first failing service is the one to look at; else the first.
    selected = session.order.find((n) => services.get(n)?.phase === 'failed') ?? session.order[0];
  }
  select(selected);
  tableDirty = true;
  logPane.invalidate();
  charts.invalidate();
}

function onState(patch: StatePatch): void {
  if (patch.session) session = patch.session;
  for (const [name, s] of Object.entries(patch.services ?? {})) services.set(name, s);
  for (const name of patch.removed ?? []) {
    services.delete(name);
    logs.drop(name);
    series.drop(name);
  }
  tableDirty = true;
  if (patch.session || patch.removed?.length || (selected && patch.services?.[selected])) sideDirty = true;
  if (selected && !services.has(selected)) select(session?.order[0]);
  requestPaint();
}

function onLogs(batch: LogBatch): void {
  for (const line of batch.lines) logs.push(line);
  counters.logLines += batch.lines.length;
  if (batch.dropped) logPane.addDropped(batch.dropped);
  logPane.invalidate();
}

function onSeries(tick: SeriesTick): void {
  series.push(tick);
  charts.invalidate();
}

function connect(): void {
  const source = new EventSource(API.events);
  const on = <T>(name: string, handle: (data: T) => void) => source.addEventListener(name, (e) => {
    counters.events++;
    let data: T;
    try { data = JSON.parse((e as MessageEvent<string>).data) as T; } catch {
      toast.show(`devloop sent an unreadable ${name} event; reload the page`, false);
      return;
    }
    handle(data);
  });
  on<Hello>('hello', onHello);
  on<StatePatch>('state', onState);
  on<LogBatch>('logs', onLogs);
  on<SeriesTick>('series', onSeries);
  source.addEventListener('open', () => header.setConnection('live'));
  // EventSource reconnects by itself; a new `hello` then replaces everything.
  source.addEventListener('error', () => {
    header.setConnection('reconnecting');
    // A refused or non-stream answer closes the EventSource for good; retry it ourselves.
    if (source.readyState === EventSource.CLOSED) setTimeout(connect, 2000);
  });
  if (source.readyState === EventSource.OPEN) header.setConnection('live');
}

/** What a button and its key (r, t, d) do for a service: the session's action, its answer in the toast. */
function act(action: string | undefined, service: string, button?: HTMLButtonElement): void {
  const req = action === 'rebuild' ? { name: 'rebuild' as const, service }
    : action === 'debug' ? { name: 'debug' as const, service }
    : { name: 'trigger-mode' as const, service, mode: (services.get(service)?.triggerMode === 'manual' ? 'auto' : 'manual') as 'auto' | 'manual' };
  if (button) button.disabled = true;
  void postAction(boot.token, req).then((r) => {
    if (button) button.disabled = false;
    toast.show(r.text, r.ok);
  });
}

document.addEventListener('click', (e) => {
  const button = (e.target as HTMLElement).closest<HTMLButtonElement>('button[data-action]');
  if (button) act(button.dataset.action, button.dataset.service!, button);
});

app.append(installKeys({
  move(step) {
    const order = session?.order ?? [];
    if (!order.length) return;
    const at = selected ? order.indexOf(selected) : -1;
    select(order[Math.min(order.length - 1, Math.max(0, at + step))]);
  },
  act(action) { if (selected) act(action, selected); },
  toggleLogScope: () => logPane.toggleScope(selected),
  focusFilter: () => logPane.focusFilter(),
  clearFilter: () => logPane.clearFilter(),
  followNewest: () => logPane.followNewest(),
}));

// The running clock of builds in progress.
setInterval(() => { if (session) { table.tick(Date.now()); } }, 1000);

connect();

function readBoot(): Boot {
  const el = document.getElementById(BOOT_ELEMENT_ID);
  try {
    return JSON.parse(el?.textContent ?? '') as Boot;
  } catch {
    return { token: '', project: 'devloop', version: '', pid: 0, startedAt: Date.now() };
  }
}
