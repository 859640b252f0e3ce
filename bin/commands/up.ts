/**
 * `devloop up`: load the Devfile, start every service, watch, rebuild on change, reload the
 * Devfile on edit (keeping the last good one when an edit is broken), and on Ctrl-C or
 * `devloop down` stop everything it started.
 */
import { loadDevfile, type LoadedDevfile } from '../../core/devfile/load.js';
import type { Engine } from '../../core/engine/engine.js';
import { DevloopError } from '../../core/errors.js';
import { watchTargets } from '../../core/engine/watch-targets.js';
import { findSession } from '../../core/session/client.js';
import { writeLogFiles } from '../../core/session/logfiles.js';
import { startPressureWatcher } from '../../core/pressure/watcher.js';
import { tapLogRotation } from '../../core/session/rotate.js';
import { DockerDaemon } from '../../plugins/docker/client.js';
import { dockerDataDisk } from '../../plugins/docker/prune.js';
import { startSessionServer } from '../../core/session/server.js';
import { createWatcher } from '../../core/watch/watcher.js';
import { onOutputClosed } from '../last-resort.js';
import { createProjectEngine, createReporter, EXIT, load, type GlobalOptions } from '../shared.js';

export interface UpOptions {
  services: string[];
  /** Start with every service in manual trigger mode. */
  manual?: boolean;
  /** Do not watch files (build and deploy once, keep running). */
  watch?: boolean;
}

/**
 * What `up` runs when the project is not a Devfile (`devloop cloudrun replace service.yaml`): the
 * config made from it, and what to do when one of its files changes.
 */
export interface Preloaded {
  loaded: LoadedDevfile;
  command: string;
  reload(engine: Engine): Promise<void>;
}

export async function up(opts: GlobalOptions, upOpts: UpOptions, preloaded?: Preloaded): Promise<number> {
  const loaded = preloaded?.loaded ?? await load(opts, 'up');
  const running = await findSession(loaded.dir);
  if (running) {
    throw new DevloopError(`devloop is already running for this project (pid ${running.pid}, ${running.command})`, {
      code: 'SESSION_RUNNING', exitCode: 2, hint: 'use "devloop status" to see it, or "devloop down" to stop it first',
    });
  }
  if (upOpts.manual) loaded.config.triggerMode = 'manual';
  const engine = await createProjectEngine(loaded, opts, upOpts.services, preloaded?.command ?? 'up');
  let stop!: (reason: string, code: number) => Promise<void>;
  const reporter = await createReporter(engine, opts, {
    onQuit: () => void stop('quit (q)', EXIT.ok),
    onForceQuit: () => { reporter.close(); process.exit(EXIT.interrupted); },
  });
  const logs = writeLogFiles(engine.root, engine);
  tapLogRotation(engine);
  let pressure: ReturnType<typeof startPressureWatcher> | undefined;

  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => { resolveDone = r; });
  let stopping: Promise<void> | undefined;
  let watcher: Awaited<ReturnType<typeof createWatcher>> | undefined;
  stop = (reason: string, code: number) => {
    stopping ??= (async () => {
      await watcher?.close().catch(() => undefined);
      await pressure?.stop();
      await engine.stop(reason);
      await session.close();
      await logs.close();
      reporter.close();
      resolveDone(code);
    })();
    return stopping;
  };

  const session = await startSessionServer(engine, { devfile: loaded.file, command: preloaded?.command ?? 'up', onStop: () => void stop('devloop down', EXIT.ok) });
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts++;
    if (interrupts > 1) {
      process.stderr.write('devloop: second interrupt, exiting without waiting for cleanup; run "devloop down" to remove leftovers\n');
      process.exit(EXIT.interrupted);
    }
    void stop(signal === 'SIGINT' ? 'interrupted (Ctrl-C)' : `received ${signal}`, signal === 'SIGINT' ? EXIT.ok : EXIT.ok);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  // The reader of the output went away (`devloop up | head`): stop as after Ctrl-C, exit 0.
  const offOutputClosed = onOutputClosed((stream) => void stop(`${stream} closed (its reader went away)`, EXIT.ok));

  try {
    await engine.start();
    pressure = startPressureWatcher(engine, { disks: dockerDataDisk(new DockerDaemon()) });
    if (upOpts.watch !== false) {
      let devfileFiles = loaded.dependencies;
      const settings = () => engine.devfile.watch ?? {};
      watcher = await createWatcher({
        root: engine.root,
        targets: watchTargets(engine.devfile, engine.root, devfileFiles, engine.serviceNames()),
        files: devfileFiles,
        debounceMs: settings().debounceMs,
        maxWaitMs: settings().maxWaitMs,
        onError: (err) => engine.logger().error(`watcher: ${err.message}`),
        onBatch: (batch) => {
          void (async () => {
            if (batch.files.length && preloaded) {
              try { await preloaded.reload(engine); } catch (err) { engine.configError(err); }
            } else if (batch.files.length) {
              try {
                const next = await loadDevfile({ file: loaded.file, cwd: opts.cwd, mode: opts.env, command: 'up', env: process.env });
                if (upOpts.manual) next.config.triggerMode = 'manual';
                await engine.reload(next.config);
                devfileFiles = next.dependencies;
                await watcher?.update(watchTargets(engine.devfile, engine.root, devfileFiles, engine.serviceNames()), devfileFiles);
              } catch (err) {
                engine.configError(err);
              }
            }
            for (const [service, files] of batch.byTarget) await engine.filesChanged(service, files);
          })();
        },
      });
    }
  } catch (err) {
    await stop('startup failed', EXIT.failed);
    throw err;
  }
  const code = await done;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.off('SIGHUP', onSignal);
  offOutputClosed();
  return code;
}
