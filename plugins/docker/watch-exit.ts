/**
 * Waiting for a container to stop in a way that survives losing the daemon connection.
 *
 * dockerode's `wait()` never settles when its connection drops after the daemon sent the response
 * headers (which it does at once since API 1.30): docker-modem only listens for the body's `end`.
 * A dockerd restart, a cut SSH tunnel or a proxy in between would leave a crashed container
 * unnoticed for good. So the wait is raced against polling `inspect` (each call bounded), which
 * finds the exit within a poll period once the daemon answers again.
 */
import type Docker from 'dockerode';
import { sleep } from '../shared/time.js';
import { bounded, statusOf } from './client.js';

/** How often the container is inspected besides the wait: the bound on noticing an exit after a cut. */
export const EXIT_POLL_MS = 2_000;

export type ExitWatch = 'stopped' | 'gone';

/** Resolves once the container is not running ('gone': removed); rejects only when `signal` aborts. */
export async function waitForExit(container: Docker.Container, signal: AbortSignal, pollMs = EXIT_POLL_MS): Promise<ExitWatch> {
  signal.throwIfAborted();
  const done = new AbortController();
  const both = AbortSignal.any([signal, done.signal]);
  try {
    return await new Promise<ExitWatch>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      both.addEventListener('abort', () => signal.removeEventListener('abort', onAbort), { once: true });
      // Fast path: the daemon tells us the moment it exits. A failed wait is not retried here:
      // the polling below covers the rest of this watch.
      container.wait({ abortSignal: both } as object).then(
        () => resolve('stopped'),
        (err) => { if (statusOf(err) === 404) resolve('gone'); },
      );
      void (async () => {
        while (!both.aborted) {
          await sleep(pollMs, both).catch(() => {});
          if (both.aborted) return;
          try {
            const info = await container.inspect(bounded(Math.max(pollMs, 5_000), both) as object);
            if (!info.State.Running) { resolve('stopped'); return; }
          } catch (err) {
            if (statusOf(err) === 404) { resolve('gone'); return; }
            // The daemon is unreachable or slow: ask again next period.
          }
        }
      })();
    });
  } finally {
    done.abort();
  }
}
