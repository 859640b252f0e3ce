/**
 * `devloop:process`: the `process` runtime. Runs each service as a local process group, keeps
 * it healthy (restart with backoff), applies live updates in place, and leaves no process
 * behind: every group is recorded in `.devloop/processes.json`, and leftovers of a devloop that
 * died are stopped when the next one starts.
 */
import path from 'node:path';
import type { Deployment } from '../../core/engine/contexts.js';
import type { DevloopPlugin } from '../../core/plugins/types.js';
import { matches } from '../shared/liveupdate.js';
import { cleanupStaleProcesses, registryIdle } from '../shared/process-registry.js';
import { deployProcess, type ProcessDeployment } from './deploy.js';
import { applyLiveUpdate } from './live-update.js';

export { cleanupStaleProcesses } from '../shared/process-registry.js';
export type { ProcessDeployment } from './deploy.js';

export const PROCESS_PLUGIN = 'devloop:process';

export interface ProcessPluginOptions {
  /** Between SIGTERM and SIGKILL when stopping a service. Default 5000 ms. */
  stopGraceMs?: number;
  /** How often a healthy service is probed again; 0 turns it off. Default 5000 ms. */
  livenessMs?: number;
  /** Stop processes left behind by a devloop that died, when the engine starts. Default true. */
  cleanupOnStart?: boolean;
}

export function processPlugin(options: ProcessPluginOptions = {}): DevloopPlugin {
  const deployments = new WeakSet<Deployment>();
  const ours = (d: Deployment | undefined) => (d && deployments.has(d) ? (d as ProcessDeployment) : undefined);
  // One live update at a time per service: two quick saves must not restart over each other.
  const queues = new Map<string, Promise<unknown>>();
  const warnedSyncRules = new Set<string>();

  return {
    name: PROCESS_PLUGIN,
    apply(engine) {
      const { hooks } = engine;

      hooks.start.tapPromise(PROCESS_PLUGIN, async (ctx) => {
        if (options.cleanupOnStart === false) return;
        const stale = await cleanupStaleProcesses(ctx.root, { log: (m) => ctx.logger.warn(m) });
        if (stale.length) {
          ctx.logger.warn(`stopped ${stale.length} process${stale.length === 1 ? '' : 'es'} left behind by an earlier devloop: ${stale.map((s) => `${s.service} (pid ${s.pid}: ${s.command})`).join(', ')}`);
        }
      });

      hooks.deploy.for('process').tapPromise(PROCESS_PLUGIN, async (ctx) => {
        const d = await deployProcess(ctx, { stopGraceMs: options.stopGraceMs ?? 5_000, livenessMs: options.livenessMs ?? 5_000, warnedSyncRules }, ours);
        deployments.add(d);
        return d;
      });

      // Files a sync step copied into the project are our own writes, not edits: left in, the
      // copy would be seen as an uncovered change and turn every live update into a rebuild.
      hooks.watch.tap(PROCESS_PLUGIN, (ctx) => {
        const d = ours(engine.deployment(ctx.service));
        const syncs = (d?.liveUpdate ?? []).flatMap((s) => ('sync' in s ? [s.sync] : []));
        if (!d || syncs.length === 0) return;
        const dests = syncs.map((s) => path.resolve(d.supervisor.options.cwd, s.to));
        ctx.changedFiles = ctx.changedFiles.filter((f) => {
          if (!dests.some((dest) => f === dest || f.startsWith(dest + path.sep))) return true;
          const rel = path.relative(ctx.root, f).split(path.sep).join('/');
          return syncs.some((s) => matches(rel, s.from));
        });
      });

      hooks.shouldRebuild.tapPromise(PROCESS_PLUGIN, async (ctx) => {
        if (!ctx.config.liveUpdate?.length) return undefined;
        const d = ours(engine.deployment(ctx.service));
        if (!d) return undefined;
        const run = async (): Promise<boolean | undefined> => {
          if (!d.supervisor.running) {
            ctx.logger.info('live update skipped: the process is not running; rebuilding');
            return undefined;
          }
          try {
            return (await applyLiveUpdate(ctx, d.supervisor, d.liveUpdate, PROCESS_PLUGIN)) ? false : undefined;
          } catch (err) {
            ctx.logger.warn(`live update failed: ${err instanceof Error ? err.message : String(err)}; falling back to a full rebuild`);
            return undefined;
          }
        };
        const next = (queues.get(ctx.service) ?? Promise.resolve()).then(run, run);
        queues.set(ctx.service, next);
        return next;
      });

      hooks.shutdown.tapPromise(PROCESS_PLUGIN, async (ctx) => {
        await registryIdle(ctx.root);
      });
    },
  };
}
