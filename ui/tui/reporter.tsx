/**
 * The terminal HUD reporter, for `devloop up` on a TTY. Like the other reporters it only
 * subscribes to the store; its keys call back into the engine through `TuiSource`.
 */
import { render, type Instance } from 'ink';
import type { Reporter } from '../shared/source.js';
import { App } from './app.js';
import { captureConsole } from './console-capture.js';
import { createFeed, type FeedOptions } from './feed.js';
import type { TuiCallbacks, TuiSource } from './source.js';

export type { TuiSource, TuiCallbacks } from './source.js';

export interface TuiReporterOptions extends TuiCallbacks, Omit<FeedOptions, 'intervalMs'> {
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
  /** Draw on the terminal's alternate screen, restoring the shell's screen on close. Default: stdout is a TTY. */
  altScreen?: boolean;
  /** Most frames per second from store updates; keys render at once. Default 20. */
  fps?: number;
  /** Route console.* into the log pane while the HUD is up. Default true. */
  captureConsole?: boolean;
  /** Log pane at start: the selected service's (default) or all services'. */
  logScope?: 'selected' | 'all';
  /** Called after every frame written (benchmarks). */
  onRender?(renderTimeMs: number): void;
}

export interface TuiReporter extends Reporter {
  /** Counters for benchmarks and `--debug` output. */
  stats(): { actions: number; publishes: number; logLinesKept: number };
}

const ENTER_ALT = '\x1b[?1049h\x1b[H';
const LEAVE_ALT = '\x1b[?1049l';
const CLEAR_HOME = '\x1b[2J\x1b[H';

export function createTuiReporter(source: TuiSource, options: TuiReporterOptions): TuiReporter {
  const stdout = options.stdout ?? process.stdout;
  const stdin = options.stdin ?? process.stdin;
  const fps = options.fps ?? 20;
  const feed = createFeed(source, { ...options, intervalMs: Math.ceil(1000 / fps) });
  const alt = options.altScreen ?? !!stdout.isTTY;
  if (alt) stdout.write(ENTER_ALT);
  // A crash must not leave the shell on the alternate screen (Ink restores raw mode and the cursor itself).
  const leaveAlt = () => { if (alt) stdout.write(LEAVE_ALT); };
  process.once('exit', leaveAlt);
  // Registered before Ink's own handler so it runs first: a terminal that changed size may have
  // moved or reflowed the last frame, and Ink only erases the rows it believes it wrote. The
  // next frame differs (it is laid out for the new size) and is written in full on a clean screen.
  let size = `${stdout.columns}x${stdout.rows}`;
  const onResize = () => {
    const next = `${stdout.columns}x${stdout.rows}`;
    if (alt && next !== size) stdout.write(CLEAR_HOME);
    size = next;
  };
  stdout.on('resize', onResize);
  const restoreConsole = options.captureConsole === false ? () => undefined : captureConsole((line) => feed.note(line));
  let ink: Instance | undefined = render(
    <App feed={feed} source={source} initial={{ scope: options.logScope ?? 'selected' }} onQuit={options.onQuit} onForceQuit={options.onForceQuit} onDebug={options.onDebug} />,
    {
      stdout, stdin,
      // Ctrl-C is a key like q: the caller owns shutdown, Ink must not unmount on its own.
      exitOnCtrlC: false,
      // Console output goes to the log pane (captureConsole) rather than over the frame.
      patchConsole: false,
      maxFps: Math.max(fps, 30),
      // Whole frames, not changed lines: after a resize or a console write the screen may not
      // hold what Ink last wrote, and a diff against it would leave stale rows behind.
      incrementalRendering: false,
      onRender: (m) => {
        feed.frameRendered();
        options.onRender?.(m.renderTime);
      },
    },
  );
  return {
    stats: () => ({ ...feed.stats, logLinesKept: feed.getSnapshot().logs.retained() }),
    close() {
      if (!ink) return;
      feed.flush();
      feed.close();
      ink.unmount();
      ink.cleanup();
      ink = undefined;
      stdout.off('resize', onResize);
      restoreConsole();
      process.off('exit', leaveAlt);
      leaveAlt();
    },
  };
}
