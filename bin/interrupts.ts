/**
 * Ctrl-C, SIGTERM and SIGHUP for the long-running commands. One Ctrl-C often arrives more than
 * once: the terminal sends it to the whole process group, and a wrapper in that group (`npm
 * start`, `yarn`, a shell script with `exec`-less children) forwards its own copy. Taken as two
 * presses, the second would skip the cleanup and leave processes and containers behind. So a
 * signal within ECHO_MS of the first is the same interrupt; one after that is the person pressing
 * again, and forces the exit.
 */

export const ECHO_MS = 1_000;

export interface InterruptOptions {
  /** The first signal: stop cleanly. */
  stop(signal: NodeJS.Signals): void;
  /** A later one, past the echo window: leave now. */
  force(signal: NodeJS.Signals): void;
  signals?: NodeJS.Signals[];
  now?: () => number;
}

/** Installs the handlers; the returned function removes them. */
export function onInterrupt(o: InterruptOptions): () => void {
  const now = o.now ?? Date.now;
  let first: number | undefined;
  const handler = (signal: NodeJS.Signals) => {
    if (first === undefined) { first = now(); o.stop(signal); return; }
    if (now() - first < ECHO_MS) return;
    o.force(signal);
  };
  const signals = o.signals ?? ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, handler);
  return () => { for (const s of signals) process.off(s, handler); };
}
