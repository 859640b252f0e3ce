/**
 * `devloop up`: load the Devfile, start every service, watch, rebuild on change, reload the
 * Devfile on edit (keeping the last good one when an edit is broken), and on Ctrl-C or
 * `devloop down` stop everything it started.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { findDevfile } from '../../core/devfile/find.js';
import type { LoadedDevfile } from '../../core/devfile/load.js';
import type { Engine } from '../../core/engine/engine.js';
import { DevloopError } from '../../core/errors.js';
import { watchTargets } from '../../core/engine/watch-targets.js';
import { findSession } from '../../core/session/client.js';
import { writeLogFiles } from '../../core/session/logfiles.js';
import { sessionPaths } from '../../core/session/paths.js';
import { tapLogRotation } from '../../core/session/rotate.js';
import { startSessionServer } from '../../core/session/server.js';
import { sessionActions } from '../../core/session/actions.js';
import type { DashboardConfig } from '../../core/devfile/types.js';
import type { Dashboard } from '../../ui/web/server.js';
import type { Watcher } from '../../core/watch/types.js';
import { onOutputClosed } from '../last-resort.js';
import { onInterrupt } from '../interrupts.js';
import { createProjectEngine, createReporter, EXIT, load, preloadEngine, reportError, type GlobalOptions } from '../shared.js';

export interface UpOptions {
  services: string[];
  /** Start with every service in manual trigger mode. */
  manual?: boolean;
  /** Do not watch files (build and deploy once, keep running). */
  watch?: boolean;
  /** False with `--no-dashboard`: no web dashboard unless `devloop dashboard` asks for one. */
  dashboard?: boolean;
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
  const loaded = preloaded?.loaded ?? await firstLoad(opts, upOpts);
  // Ctrl-C (or the output closing) while waiting for a good Devfile: nothing was started.
  if (!loaded) return EXIT.ok;
  const running = await findSession(loaded.dir);
  if (running) {
    throw new DevloopError(`devloop is already running for this project (pid ${running.pid}, ${running.command})`, {
      code: 'SESSION_RUNNING', exitCode: 2, hint: 'use "devloop status" to see it, or "devloop down" to stop it first',
    });
  }
  if (upOpts.manual) loaded.config.triggerMode = 'manual';
  const engine = await createProjectEngine(loaded, opts, upOpts.services, preloaded?.command ?? 'up');
  let stop!: (reason: string, code: number) => Promise<void>;
  // As `devloop debug <service>` in another terminal; debug.ts loads only when d is pressed.
  const debugAnyPort = (service: string) => { void import('./debug.js').then((m) => m.debugFromTui(engine, service)); };
  const reporter = await createReporter(engine, opts, {
    onQuit: () => void stop('quit (q)', EXIT.ok),
    onForceQuit: () => { reporter.close(); process.exit(EXIT.interrupted); },
    onDebug: debugAnyPort,
  });
  // The TUI's keys, the control socket and the dashboard's buttons act through the same actions.
  const actions = sessionActions(engine, { debugAnyPort });
  let dashboard: Promise<Dashboard | undefined> | undefined;
  const startWebDashboard = (settings: DashboardConfig) => {
    dashboard ??= import('./dashboard.js').then((m) => m.startDashboard(engine, actions, settings)).catch((err: unknown) => {
      engine.logger().warn(`dashboard not started: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    });
    return dashboard;
  };
  const logs = writeLogFiles(engine.root, engine);
  tapLogRotation(engine);
  let pressure: { stop(): Promise<void> } | undefined;

  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => { resolveDone = r; });
  let stopping: Promise<void> | undefined;
  let watcher: Watcher | undefined;
  stop = (reason: string, code: number) => {
    stopping ??= (async () => {
      await watcher?.close().catch(() => undefined);
      await pressure?.stop();
      await engine.stop(reason);
      await (await dashboard)?.close();
      await session.close();
      await logs.close();
      reporter.close();
      resolveDone(code);
    })();
    return stopping;
  };

  const session = await startSessionServer(engine, {
    devfile: loaded.file, command: preloaded?.command ?? 'up', onStop: () => void stop('devloop down', EXIT.ok), actions,
    dashboard: async () => {
      const d = await startWebDashboard((await import('./dashboard.js')).dashboardSettings(engine.devfile.dashboard) ?? {});
      if (!d) throw new Error('it did not start (its log line says why)');
      return d.url;
    },
  });
  // After the first build has started, not before it (loading the dashboard's modules would delay
  // it): the page can wait a few milliseconds, the build should not. At the latest after 300 ms
  // (a project whose services build nothing).
  if (upOpts.dashboard !== false && engine.devfile.dashboard !== false) {
    let begun = false;
    const begin = () => {
      if (begun) return;
      begun = true;
      off();
      clearTimeout(timer);
      void import('./dashboard.js').then((m) => {
        const settings = m.dashboardSettings(engine.devfile.dashboard);
        if (settings && !stopping) void startWebDashboard(settings);
      });
    };
    const off = engine.subscribe((_s, action) => { if (action.type === 'build/started' || action.type === 'deploy/finished') setImmediate(begin); });
    const timer = setTimeout(begin, 300);
  }
  onInterrupt({
    stop: (signal) => void stop(signal === 'SIGINT' ? 'interrupted (Ctrl-C)' : `received ${signal}`, EXIT.ok),
    force: () => {
      process.stderr.write('devloop: second interrupt, exiting without waiting for cleanup; run "devloop down" to remove leftovers\n');
      process.exit(EXIT.interrupted);
    },
  });
  // The reader of the output went away (`devloop up | head`): stop as after Ctrl-C, exit 0.
  const offOutputClosed = onOutputClosed((stream) => void stop(`${stream} closed (its reader went away)`, EXIT.ok));

  try {
    // The watcher subscribes while the engine starts (its native backend works off this thread):
    // a save during the first builds is seen, and the first build does not wait for it.
    let watcherReady: Promise<Watcher> | undefined;
    if (upOpts.watch !== false) {
      let devfileFiles = loaded.dependencies;
      const settings = () => engine.devfile.watch ?? {};
      watcherReady = import('../../core/watch/watcher.js').then(({ createWatcher }) => createWatcher({
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
                const next = await load({ ...opts, file: loaded.file }, 'up');
                if (upOpts.manual) next.config.triggerMode = 'manual';
                await engine.reload(next.config);
                devfileFiles = next.dependencies;
                await watcher?.update(watchTargets(engine.devfile, engine.root, devfileFiles, engine.serviceNames()), devfileFiles);
              } catch (err) {
                engine.configError(err);
              }
            }
            // Changes before the engine registered its services are dropped by filesChanged.
            for (const [service, files] of batch.byTarget) await engine.filesChanged(service, files);
          })();
        },
      }));
      // Not left unhandled if start fails first; awaited below.
      watcherReady.catch(() => undefined);
    }
    await engine.start();
    if (watcherReady) {
      watcher = await watcherReady;
      if (stopping) await watcher.close().catch(() => undefined);
    }
    // The Docker client (for the disk-pressure watcher) loads only now: not on the way to the first build.
    const [{ startPressureWatcher }, { DockerDaemon }, { dockerDataDisk }] = await Promise.all([
      import('../../core/pressure/watcher.js'), import('../../plugins/docker/client.js'), import('../../plugins/docker/prune.js'),
    ]);
    // Stopped (Ctrl-C, q) while these loaded: start nothing more.
    if (!stopping) pressure = startPressureWatcher(engine, { disks: dockerDataDisk(new DockerDaemon()) });
  } catch (err) {
    await stop('startup failed', EXIT.failed);
    throw err;
  }
  const code = await done;
  // The handlers stay until the process exits: a copy of the Ctrl-C arriving after the cleanup
  // must not kill it by the default action (exit by signal instead of 0).
  offOutputClosed();
  return code;
}

/**
 * The Devfile as `up` first loads it. A broken one (syntax, type, schema: a Devfile error, exit
 * code 2) does not end a watching `up`, as it does not end Tilt: the located error is shown and
 * `up` waits for a save that fixes it, then starts as usual. Undefined when interrupted while
 * waiting. `--no-watch` has nothing to wait with and exits 2 (as `ci` does).
 */
async function firstLoad(opts: GlobalOptions, upOpts: UpOptions): Promise<LoadedDevfile | undefined> {
  const started = Date.now();
  try {
    // The engine's and plugins' modules load on this thread while esbuild and the Devfile's worker
    // bundle and evaluate it: the first build starts sooner.
    return await load(opts, 'up', preloadEngine);
  } catch (err) {
    if (upOpts.watch === false || !waitable(err)) throw err;
    reportError(err, opts);
    const devfile = await findDevfile(opts.cwd, opts.file);
    return waitForGoodDevfile(opts, devfile, started);
  }
}

/** A Devfile error a save can fix; not "no Devfile here" (wrong folder or -f): nothing to watch. */
function waitable(err: unknown): boolean {
  return err instanceof DevloopError && err.exitCode === EXIT.usage && err.code !== 'DEVFILE_NOT_FOUND';
}

/** Retries the load on every save in the project until it succeeds; undefined on Ctrl-C. */
async function waitForGoodDevfile(opts: GlobalOptions, devfile: string, failedLoadStarted: number): Promise<LoadedDevfile | undefined> {
  const dir = path.dirname(devfile);
  const shown = path.relative(opts.cwd, devfile) || path.basename(devfile);
  let finish!: (loaded: LoadedDevfile | undefined) => void;
  const result = new Promise<LoadedDevfile | undefined>((r) => { finish = r; });
  let done = false;
  let failed: unknown;
  const end = (loaded: LoadedDevfile | undefined) => { if (!done) { done = true; finish(loaded); } };
  // Before anything is awaited: Ctrl-C from here on is a clean exit, not Node's default.
  const onSignal = () => end(undefined);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  const offOutputClosed = onOutputClosed(onSignal);
  const waiting = () => process.stderr.write(`devloop: waiting for ${shown} to be fixed; nothing runs until it loads (save to retry, Ctrl-C to quit)\n`);

  let loading = false;
  let again = false;
  const retry = async () => {
    if (loading) { again = true; return; }
    loading = true;
    try {
      do {
        again = false;
        try {
          end(await load(opts, 'up'));
          return;
        } catch (err) {
          if (done) return;
          if (!waitable(err)) { failed = err; end(undefined); return; }
          reportError(err, opts);
          waiting();
        }
      } while (again && !done);
    } finally {
      loading = false;
    }
  };
  let watcher: Watcher | undefined;
  try {
    const { createWatcher } = await import('../../core/watch/watcher.js');
    // The Devfile may import other files of the project, and the error may be in any of them (or
    // in one not written yet): any save in the project, outside devloop's own folder, retries.
    watcher = await createWatcher({
      root: dir,
      targets: [{ name: 'devfile', paths: [dir], ignorePaths: [sessionPaths(dir).dir] }],
      files: [devfile],
      onError: (err) => process.stderr.write(`devloop: watcher: ${err.message}\n`),
      onBatch: () => void retry(),
    });
    // A save between the failed load and the watcher's start was not seen: load again at once.
    const savedAt = (await stat(devfile).catch(() => undefined))?.mtimeMs ?? 0;
    if (savedAt >= failedLoadStarted) void retry();
    else waiting();
    const loaded = await result;
    if (failed !== undefined) throw failed;
    return loaded;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    offOutputClosed();
    await watcher?.close().catch(() => undefined);
  }
}
