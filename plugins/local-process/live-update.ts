/**
 * Applies a live-update plan to a running process: copy the synced files, run the `run` steps
 * where the process runs, restart it in place. Returns false, saying why, whenever the plan
 * cannot be applied cleanly; the caller then falls back to a full rebuild.
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { LiveUpdateStep } from '../../core/devfile/types.js';
import type { ChangeContext } from '../../core/engine/contexts.js';
import { formatMs } from '../shared/time.js';
import { planLiveUpdate } from '../shared/liveupdate.js';
import { describeExit } from '../shared/process-group.js';
import type { ProcessSupervisor } from './supervisor.js';
import { assertSyncDestination } from './sync-targets.js';

export async function applyLiveUpdate(ctx: ChangeContext, sup: ProcessSupervisor, steps: readonly LiveUpdateStep[], pluginName: string): Promise<boolean> {
  const t0 = Date.now();
  const rel = ctx.changedFiles.map((f) => path.relative(ctx.root, f).split(path.sep).join('/'));
  const plan = planLiveUpdate(steps, rel);
  if (plan.action === 'rebuild') {
    ctx.logger.info(`live update not applicable: ${plan.reason}; rebuilding`);
    return false;
  }
  const cwd = sup.options.cwd;
  let copied = 0;
  for (const copy of plan.copies) {
    const from = path.resolve(ctx.root, copy.from);
    const to = path.resolve(cwd, copy.to);
    // A process run straight from its sources syncs a folder onto itself: nothing to copy.
    if (from === to) continue;
    await assertSyncDestination(cwd, to, `${copy.from} -> ${copy.to}`);
    if (existsSync(from)) {
      await mkdir(path.dirname(to), { recursive: true });
      await cp(from, to, { recursive: true, force: true });
    } else {
      await rm(to, { recursive: true, force: true });
    }
    copied++;
  }
  ctx.steps.push({ name: 'sync', ms: Date.now() - t0 });
  let stepStart = Date.now();
  for (const command of plan.runs) {
    ctx.logger.info(`live update: running ${command}`);
    const exit = await sup.exec(command, ctx.signal);
    if (exit.code !== 0) {
      ctx.logger.warn(`live update step \`${command}\` ${describeExit(exit)}; falling back to a full rebuild`);
      return false;
    }
  }
  if (plan.runs.length) ctx.steps.push({ name: 'run', ms: Date.now() - stepStart });
  stepStart = Date.now();
  if (plan.restart) {
    try {
      await sup.restartInPlace(ctx.signal);
      ctx.steps.push({ name: 'restart', ms: Date.now() - stepStart });
    } catch (err) {
      ctx.logger.warn(`live update restart failed: ${err instanceof Error ? err.message : String(err)}; falling back to a full rebuild`);
      return false;
    }
  }
  const ms = Date.now() - t0;
  const parts = [
    `${copied} file${copied === 1 ? '' : 's'} synced`,
    plan.runs.length ? `${plan.runs.length} command${plan.runs.length === 1 ? '' : 's'} run` : '',
    plan.restart ? 'restarted' : '',
  ].filter(Boolean);
  ctx.logger.info(`live update applied in ${formatMs(ms)}: ${parts.join(', ')}`);
  ctx.dispatch({ type: 'service/extra', service: ctx.service, plugin: pluginName, data: { lastLiveUpdate: { at: t0, durationMs: ms, files: rel, restarted: plan.restart } } });
  if (plan.restart) ctx.dispatch({ type: 'service/health', service: ctx.service, health: 'healthy', message: 'live update applied' });
  return true;
}
