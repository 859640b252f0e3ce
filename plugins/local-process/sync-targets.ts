/**
 * Where a process's live-update syncs may write: inside the service's own folder (its cwd, which
 * `sync.to` is relative to), nowhere else on the host. Checked when the service deploys (a rule
 * that cannot be applied is refused there, with its Devfile location) and again for every copy
 * (a symlink inside the folder can still point out of it).
 */
import { existsSync } from 'node:fs';
import { readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import type { LiveUpdateStep } from '../../core/devfile/types.js';
import type { DeployContext } from '../../core/engine/contexts.js';
import { DevloopError, type SourceLocation } from '../../core/errors.js';
import { isWithin } from '../../core/watch/paths.js';
import { containerizable } from '../shared/containerizable.js';
import { syncTargetIssues } from '../shared/liveupdate.js';

/**
 * The steps this process applies. A service that runs as a process only because no Docker
 * daemon answered keeps its container rules (absolute targets) in the Devfile but not here, and
 * is told so once per rule (`warned` remembers across deploys); any other target outside the
 * folder fails the deploy, before the running process is replaced.
 */
export async function processLiveUpdateSteps(ctx: DeployContext, cwd: string, warned: Set<string>): Promise<LiveUpdateStep[]> {
  const steps = ctx.config.liveUpdate ?? [];
  const issues = syncTargetIssues(steps, cwd);
  if (issues.length === 0) return [...steps];
  const fellBack = fellBackFromDocker(ctx);
  const disabled = new Set<number>();
  for (const issue of issues) {
    const field = `services.${ctx.service}.liveUpdate[${issue.index}].sync.to`;
    if (fellBack && issue.kind === 'absolute') {
      disabled.add(issue.index);
      const key = `${ctx.service}\0${issue.index}\0${issue.to}`;
      if (!warned.has(key)) {
        warned.add(key);
        ctx.logger.warn(`${field} ("${issue.to}") is a container path; the service runs as a process because no Docker daemon answered, so this rule is disabled and a change it covers rebuilds instead (nothing is written to ${issue.to} on this machine)`);
      }
      continue;
    }
    const location = await locate(ctx, `services.${ctx.service}.liveUpdate.${issue.index}.sync.to`);
    const where = location ? `${location.file}:${location.line}:${location.column} ` : '';
    throw new DevloopError(`${where}${field}: "${issue.to}" is outside the service's folder ${cwd}; a process's live update writes only inside it`, {
      code: 'LIVE_UPDATE_TARGET',
      service: ctx.service,
      location,
      hint: issue.kind === 'absolute'
        ? `give a path relative to the service's folder (services.${ctx.service}.cwd, default the Devfile's folder), e.g. to: 'public'; an absolute path is a container path, for runtime: 'docker'`
        : `give a path that stays inside the service's folder (services.${ctx.service}.cwd, default the Devfile's folder), without climbing out of it with '..'`,
    });
  }
  return steps.filter((_, i) => !disabled.has(i));
}

/**
 * Refuses a copy or delete at `dest` unless it lies strictly inside `cwd`, symlinks resolved:
 * deleting the folder itself, or writing through a link that leaves it, is never a sync.
 */
export async function assertSyncDestination(cwd: string, dest: string, rule: string): Promise<void> {
  const base = await realpath(cwd).catch(() => path.resolve(cwd));
  let existing = path.resolve(dest);
  while (!existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  const real = await realpath(existing).catch(() => existing);
  const resolved = path.join(real, path.relative(existing, path.resolve(dest)));
  if (!isWithin(path.resolve(dest), path.resolve(cwd)) || path.resolve(dest) === path.resolve(cwd) || !isWithin(resolved, base) || resolved === base) {
    throw new DevloopError(`live update refused to write ${dest}: it is not inside the service's folder ${cwd} (rule ${rule})`, {
      code: 'LIVE_UPDATE_TARGET',
      hint: 'sync targets must stay inside the service\'s folder; check for a symlink there that points elsewhere',
    });
  }
}

/**
 * True when the service did not name a runtime and could have been a container, the same test
 * the Docker plugin's `resolveRuntime` makes: it runs as a process only because no daemon
 * answered, and its rules were written for the container.
 */
function fellBackFromDocker(ctx: DeployContext): boolean {
  const explicit = ctx.config.runtime ?? ctx.devfile.environments?.[ctx.mode]?.runtime;
  return explicit === undefined && containerizable(ctx.config);
}

/** LINE:COL of a field in the loaded Devfile, when its source can be read and parsed. */
async function locate(ctx: DeployContext, fieldPath: string): Promise<SourceLocation | undefined> {
  const file = ctx.getState().config.file;
  if (!file) return undefined;
  const abs = path.resolve(ctx.root, file);
  try {
    const source = await readFile(abs, 'utf8');
    const shown = path.relative(ctx.root, abs) || path.basename(abs);
    const { locateIssues } = await import('../../core/devfile/locate.js');
    const [issue] = await locateIssues(source, shown, [{ path: fieldPath, message: '' }]);
    return issue.location;
  } catch {
    return undefined; // the message still names the field
  }
}
