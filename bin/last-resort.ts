/**
 * The last resort for bugs not found yet: an exception nothing caught, or a promise rejected with
 * no handler, anywhere in devloop or a plugin. Node's default would print it and exit at once,
 * leaving every container, process and port the session started. Instead the bug is reported,
 * every engine of this process is stopped (each stops its deployments), and devloop exits 70.
 */
import { describeBug } from './bug.js';

type Stopper = (err: unknown) => Promise<void>;
const stoppers = new Set<Stopper>();
/** How long stopping may take before devloop exits anyway. */
const STOP_LIMIT_MS = 20_000;
export const EXIT_BUG = 70;

/** Runs `stop` if devloop meets a bug nothing handled; returns the function that unregisters it. */
export function onFatal(stop: Stopper): () => void {
  stoppers.add(stop);
  return () => stoppers.delete(stop);
}

let installed = false;
/** The last-resort handler, once installed; writing errors that are not a closed pipe go here. */
let handleBug: ((err: unknown) => void) | undefined;
/** A write to stderr has failed: reporting there again would fail again (and report that, forever). */
let stderrFailed = false;

function report(text: string): void {
  if (!stderrFailed) process.stderr.write(text);
}

export function installLastResort(): void {
  if (installed) return;
  installed = true;
  let fatal = false;
  const handle = (err: unknown) => {
    if (fatal) {
      report(`devloop: another internal error while stopping: ${describeBug(err)}\n`);
      return;
    }
    fatal = true;
    process.exitCode = EXIT_BUG;
    report(`devloop hit an internal error (a bug; please report it with this output):\n${describeBug(err)}\n`);
    if (stoppers.size) report('devloop: stopping every service it started...\n');
    const limit = setTimeout(() => {
      report(`devloop: stopping took over ${STOP_LIMIT_MS / 1000} s; exiting; run "devloop down" to remove leftovers\n`);
      process.exit(EXIT_BUG);
    }, STOP_LIMIT_MS);
    void Promise.allSettled([...stoppers].map((stop) => stop(err))).then(() => {
      clearTimeout(limit);
      process.exit(EXIT_BUG);
    });
  };
  handleBug = handle;
  process.on('uncaughtException', handle);
  process.on('unhandledRejection', handle);
}

/*
 * The reader of devloop's output went away: `devloop up | head -3` once head has its lines, a
 * `less` that was quit, a closed ssh session. Node ignores SIGPIPE, so every later write to the
 * pipe fails with EPIPE, emitted as an 'error' on process.stdout (or stderr); with no listener
 * that is an uncaught exception. It is not a bug, so it must not reach the last resort above.
 *
 * What devloop does instead: it stops writing to that stream (the stream is destroyed, and Node
 * drops later writes to it silently) and asks the running command to stop as after Ctrl-C
 * (`up` stops every service and removes its session file). Exit code 0 and no error text: the
 * user ended the output on purpose, as with `kubectl logs -f | head` or `tilt logs | head`, where
 * the shell shows nothing either; a shell reports a pipeline's status from its last command
 * (head's), and under `set -o pipefail` a 141 (SIGPIPE) from devloop would fail a script whose
 * every service was stopped cleanly. A command that registered no handler: if it runs an engine
 * (`ci`), it keeps running and ends with its own verdict; otherwise (`logs -F`, `status`) there
 * is nothing to clean up and devloop exits at once, with the code it had so far (else 0).
 */
type OutputClosedHandler = (stream: 'stdout' | 'stderr') => void;
const outputClosedHandlers = new Set<OutputClosedHandler>();
const closedStreams = new Set<'stdout' | 'stderr'>();
/**
 * Codes that mean the other end of devloop's stdout/stderr is gone. EIO: the terminal hung up (its
 * window or ssh session closed, `tmux kill-session`); every later write to it fails the same way.
 */
const CLOSED_CODES = new Set(['EPIPE', 'ECONNRESET', 'ERR_STREAM_DESTROYED', 'EIO']);
/** How long stopping may take once the output is gone before devloop exits anyway. */
const OUTPUT_CLOSED_STOP_LIMIT_MS = 20_000;

/** Runs `fn` when the reader of devloop's stdout or stderr goes away; returns the unregister function. */
export function onOutputClosed(fn: OutputClosedHandler): () => void {
  outputClosedHandlers.add(fn);
  // Closed before the command got here (during its start): it stops now.
  const closed = [...closedStreams][0];
  if (closed) queueMicrotask(() => { if (outputClosedHandlers.has(fn)) notify(fn, closed); });
  return () => outputClosedHandlers.delete(fn);
}

let stopLimitArmed = false;
function notify(fn: OutputClosedHandler, stream: 'stdout' | 'stderr'): void {
  if (!stopLimitArmed) {
    stopLimitArmed = true;
    // A stop that hangs must not leave devloop running with nobody reading its output.
    setTimeout(() => {
      if (!outputClosed('stderr')) report(`devloop: stopping took over ${OUTPUT_CLOSED_STOP_LIMIT_MS / 1000} s after the output closed; exiting; run "devloop down" to remove leftovers\n`);
      process.exit(1);
    }, OUTPUT_CLOSED_STOP_LIMIT_MS).unref();
  }
  fn(stream);
}

/** Whether a write to this stream has failed because its reader went away. */
export function outputClosed(stream: 'stdout' | 'stderr'): boolean {
  return closedStreams.has(stream);
}

let outputGuarded = false;

/** Listens for write errors on stdout and stderr (once per process); see the comment above. */
export function installOutputGuard(): void {
  if (outputGuarded) return;
  outputGuarded = true;
  const onError = (name: 'stdout' | 'stderr') => (err: NodeJS.ErrnoException) => {
    if (name === 'stderr') stderrFailed = true;
    if (!CLOSED_CODES.has(err?.code ?? '')) {
      // Not a closed pipe (a full disk under a redirect, say): the last resort reports it.
      if (handleBug) handleBug(err);
      else throw err;
      return;
    }
    const first = closedStreams.size === 0;
    closedStreams.add(name);
    if (!first) return;
    if (outputClosedHandlers.size) {
      for (const fn of [...outputClosedHandlers]) notify(fn, name);
    } else if (stoppers.size === 0) {
      // No engine runs (`logs -F`, `status`): nothing to stop.
      process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    }
    // else an engine runs under a command that ends by itself (`ci`): it goes on to its verdict.
  };
  process.stdout.on('error', onError('stdout'));
  process.stderr.on('error', onError('stderr'));
}
