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

export function installLastResort(): void {
  if (installed) return;
  installed = true;
  let fatal = false;
  const handle = (err: unknown) => {
    if (fatal) {
      process.stderr.write(`devloop: another internal error while stopping: ${describeBug(err)}\n`);
      return;
    }
    fatal = true;
    process.exitCode = EXIT_BUG;
    process.stderr.write(`devloop hit an internal error (a bug; please report it with this output):\n${describeBug(err)}\n`);
    if (stoppers.size) process.stderr.write('devloop: stopping every service it started...\n');
    const limit = setTimeout(() => {
      process.stderr.write(`devloop: stopping took over ${STOP_LIMIT_MS / 1000} s; exiting; run "devloop down" to remove leftovers\n`);
      process.exit(EXIT_BUG);
    }, STOP_LIMIT_MS);
    void Promise.allSettled([...stoppers].map((stop) => stop(err))).then(() => {
      clearTimeout(limit);
      process.exit(EXIT_BUG);
    });
  };
  process.on('uncaughtException', handle);
  process.on('unhandledRejection', handle);
}
