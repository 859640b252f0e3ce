/**
 * The entry `bin/` uses. The TUI is loaded on demand: React and Ink take a noticeable time to
 * import, which plain and JSON runs should not pay; and React picks its build from NODE_ENV
 * when first imported, its development build being several times slower per frame. NODE_ENV
 * is restored afterwards because services started by devloop inherit this process's
 * environment and must not be switched to production by the UI.
 */
import type { createTuiReporter } from './reporter.js';

export type { TuiReporter, TuiReporterOptions } from './reporter.js';
export type { TuiCallbacks, TuiSource } from './source.js';

export async function loadTuiReporter(): Promise<typeof createTuiReporter> {
  const had = Object.prototype.hasOwnProperty.call(process.env, 'NODE_ENV');
  const before = process.env.NODE_ENV;
  if (!had) process.env.NODE_ENV = 'production';
  try {
    return (await import('./reporter.js')).createTuiReporter;
  } finally {
    if (!had) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = before;
  }
}
