/**
 * The HUD: header, resource table (or details / help), error panel, log pane, footer. Reads
 * the throttled feed, so it renders at most once per feed publication plus once per key.
 */
import { Box, useInput, useStdin, useStdout, type Key } from 'ink';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { isBusy, layoutColumns } from './columns.js';
import { detailsLines } from './details-lines.js';
import { DetailsView } from './details-view.js';
import { errorLines } from './error-lines.js';
import { ErrorPanel } from './error-panel.js';
import type { Feed } from './feed.js';
import { Footer } from './footer.js';
import { Header } from './header.js';
import { helpLines } from './help-lines.js';
import { sections } from './layout.js';
import { ColourContext } from './line.js';
import { LinesView } from './lines-view.js';
import { LogPane } from './log-pane.js';
import { selectLogView, topIndex } from './log-view.js';
import { ResourceTable, useWindow } from './resource-table.js';
import type { TuiCallbacks, TuiSource } from './source.js';
import { SPINNER_MS } from './theme.js';
import { initialUi, onKey, selectedName, type Effect, type KeyContext, type UiState } from './ui-state.js';
import { useFeed } from './use-feed.js';
import { useInterval } from './use-interval.js';
import { useTerminalSize, type Size } from './use-terminal-size.js';

export interface AppProps extends TuiCallbacks {
  feed: Feed;
  source: Pick<TuiSource, 'triggerManual' | 'setTriggerMode'>;
  /** Fixed size instead of the terminal's (tests). */
  size?: Partial<Size>;
  initial?: Partial<UiState>;
}

const FLASH_MS = 3000;
const NAME_MAX = 16;

export function App({ feed, source, size: fixedSize, initial, onQuit, onForceQuit, onDebug }: AppProps) {
  const snap = useFeed(feed);
  const { state, logs, logSeq, now } = snap;
  const size = useTerminalSize(fixedSize);
  // Ink reports `stdin.isTTY` as is: undefined for a pipe, which `useInput` would read as active.
  const keys = useStdin().isRawModeSupported === true;
  const { stdout } = useStdout();
  // hasColors() reads NO_COLOR, FORCE_COLOR and TERM the way Node does for its own output.
  const colour = stdout.isTTY === true && (typeof stdout.hasColors === 'function' ? stdout.hasColors() : true);
  const [ui, setUiState] = useState<UiState>(() => ({ ...initialUi, ...initial }));
  // Keys arriving in one burst must each see the previous one's result, before React renders.
  const uiRef = useRef(ui);
  const setUi = useCallback((next: UiState) => { uiRef.current = next; setUiState(next); }, []);

  const selected = selectedName(ui, state.order);
  const service = selected ? state.services[selected] : undefined;
  const anyBusy = useMemo(() => state.order.some((n) => state.services[n] && isBusy(state.services[n])), [state]);
  useInterval(feed.poke, SPINNER_MS, anyBusy);

  useEffect(() => {
    if (!ui.flash) return;
    const timer = setTimeout(() => { if (uiRef.current.flash === ui.flash) setUi({ ...uiRef.current, flash: undefined }); }, FLASH_MS);
    timer.unref();
    return () => clearTimeout(timer);
  }, [ui.flash, setUi]);

  const scopeAll = ui.scope === 'all' || !selected;
  const scopeKey = scopeAll ? '' : selected;
  // `logSeq` stands for the buffer's contents, which change in place.
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const view = useMemo(() => selectLogView(logs, scopeAll ? 'all' : { service: scopeKey! }, ui.filter), [logs, logSeq, scopeAll, scopeKey, ui.filter]);
  useEffect(() => { feed.showLogs(scopeAll ? 'all' : { service: scopeKey! }); }, [feed, scopeAll, scopeKey]);
  const nameWidth = useMemo(() => Math.min(NAME_MAX, Math.max(7, ...state.order.map((n) => n.length))), [state.order]);

  const errors = useMemo(() => errorLines(state, service), [state, service]);
  const mainLines = useMemo(
    () => (ui.view === 'details' && service ? detailsLines(service, now) : ui.view === 'help' ? helpLines() : []),
    [ui.view, service, now],
  );
  // Details of nothing (every service removed) fall back to the table.
  const shown = ui.view === 'details' && !service ? 'table' : ui.view;
  const parts = sections({ rows: size.rows, view: shown, services: Math.max(1, state.order.length), errorLines: errors.length, mainLines: mainLines.length });
  const logRows = Math.max(0, parts.logs - 1);
  const top = topIndex(view, logRows, ui.follow, ui.anchor);
  const tableRows = Math.max(0, parts.main - 1);
  const start = useWindow(state.order.length, shown === 'table' ? tableRows : 0, selected ? state.order.indexOf(selected) : 0);
  const layout = useMemo(() => layoutColumns(state, size.columns, now), [state, size.columns, now]);

  const ctx = useRef<KeyContext>(undefined as unknown as KeyContext);
  ctx.current = {
    order: state.order,
    services: state.services,
    log: { count: view.count, height: logRows, seqAt: (i) => view.at(i).seq, topOf: (u) => topIndex(view, logRows, u.follow, u.anchor) },
    canDebug: !!onDebug,
    now: Date.now(),
  };
  const callbacks = useRef({ source, onQuit, onForceQuit, onDebug });
  callbacks.current = { source, onQuit, onForceQuit, onDebug };

  const onInput = useCallback((input: string, key: Key) => {
    // Keys typed faster than they are read (a held-down j, a paste, tmux send-keys) arrive as
    // one string, Enter included: replay them one by one.
    if (input.length > 1 && !key.ctrl && !key.meta) {
      for (const ch of input) {
        const enter = ch === '\r' || ch === '\n';
        const erase = ch === '\x7f' || ch === '\b';
        onInput(enter || erase ? '' : ch, { ...key, return: enter, backspace: erase, shift: ch !== ch.toLowerCase() });
      }
      return;
    }
    const result = onKey(uiRef.current, input, key, ctx.current);
    if (result.ui !== uiRef.current) setUi(result.ui);
    for (const effect of result.effects) {
      try {
        run(effect, callbacks.current);
      } catch (err) {
        setUi({ ...uiRef.current, flash: { text: `${effect.type} failed: ${err instanceof Error ? err.message : String(err)}`, at: Date.now() } });
      }
    }
  }, [setUi]);
  // Without raw mode Ink cannot read keys (and throws if asked to): render, but listen to nothing.
  useInput(onInput, { isActive: keys });

  const windowShown: [number, number] | undefined = shown === 'table' && state.order.length > tableRows && tableRows > 0
    ? [start + 1, Math.min(state.order.length, start + tableRows)] : undefined;
  return (
    <ColourContext.Provider value={colour}>
    <Box flexDirection="column" width={size.columns} height={Math.max(4, size.rows - 1)}>
      <Header state={state} quitting={ui.quitting} window={windowShown} />
      {shown === 'table'
        ? <ResourceTable state={state} layout={layout} width={size.columns} height={parts.main} start={start} selected={selected} focused={ui.focus === 'table'} now={now} />
        : shown === 'details'
          ? <DetailsView lines={mainLines} height={parts.main} />
          : <LinesView lines={mainLines} height={parts.main} gutter="gray" />}
      {parts.errors ? <ErrorPanel lines={errors} height={parts.errors} /> : null}
      <LogPane
        view={view} top={top} height={parts.logs} width={size.columns}
        label={scopeAll ? 'all services' : selected!} showService={scopeAll} nameWidth={nameWidth}
        follow={ui.follow} filter={ui.filter} focused={ui.focus === 'logs'}
      />
      <Footer ui={ui} status={state.status} keys={keys} />
    </Box>
    </ColourContext.Provider>
  );
}

function run(effect: Effect, cb: { source: AppProps['source'] } & TuiCallbacks): void {
  switch (effect.type) {
    case 'trigger': return cb.source.triggerManual(effect.service);
    case 'mode': return cb.source.setTriggerMode(effect.service, effect.mode);
    case 'debug': return cb.onDebug?.(effect.service);
    case 'quit': return cb.onQuit();
    case 'forceQuit': return (cb.onForceQuit ?? cb.onQuit)();
  }
}
