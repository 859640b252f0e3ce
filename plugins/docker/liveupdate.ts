/**
 * Live update for containers (`shouldRebuild`): changed files covered by `sync` rules are copied
 * into the running container through the archive API, deletions become an `rm` through exec,
 * `run` steps run through exec, and `restart` restarts the service's process in place (the whole
 * container when its image has no shell for the supervisor: see supervisor.ts). Anything that
 * does not work out falls back to a full rebuild, and the log says why: a sync that silently
 * became a rebuild is a top complaint about other tools.
 */
import { lstat, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import type Docker from 'dockerode';
import type { ChangeContext } from '../../core/engine/contexts.js';
import type { Engine } from '../../core/engine/engine.js';
import { PerServiceQueue, planLiveUpdate, type LiveUpdateCopy } from '../shared/liveupdate.js';
import { formatMs } from '../shared/time.js';
import { DOCKER_PLUGIN } from './builder.js';
import { daemonErrors, type DockerDaemon } from './client.js';
import type { ContainerDeployment } from './container.js';
import type { ActiveContainers } from './deployer.js';
import { execIn } from './exec.js';
import { packEntries, type TarEntry } from './tar.js';

interface ContainerFacts {
  workdir: string;
  uid: number;
  gid: number;
}

export function tapLiveUpdate(engine: Engine, daemon: DockerDaemon, active: ActiveContainers): void {
  const facts = new Map<string, Promise<ContainerFacts>>();
  const queue = new PerServiceQueue();
  let updates = 0;

  engine.hooks.shouldRebuild.tapPromise(DOCKER_PLUGIN, daemonErrors(daemon, async (ctx) => {
    const steps = ctx.config.liveUpdate;
    const deployment = active.get(ctx.service);
    if (!steps?.length || !deployment || engine.deployment(ctx.service) !== deployment) return undefined;
    return queue.run(ctx.service, () => liveUpdate(ctx, deployment));
  }));

  async function liveUpdate(ctx: ChangeContext, deployment: ContainerDeployment): Promise<false | undefined> {
    const started = Date.now();
    const rel = ctx.changedFiles.map((f) => path.relative(ctx.root, f).split(path.sep).join('/'));
    const plan = planLiveUpdate(ctx.config.liveUpdate, rel);
    if (plan.action === 'rebuild') {
      ctx.logger.info(`live update does not apply (${plan.reason}); rebuilding`);
      return undefined;
    }
    if (!deployment.isRunning || deployment.stopped) {
      ctx.logger.info('live update skipped: the container is not running; rebuilding');
      return undefined;
    }
    const { docker } = daemon;
    const container = deployment.container;
    try {
      let f = facts.get(container.id);
      if (!f) facts.set(container.id, (f = containerFacts(docker, container)));
      const { workdir, uid, gid } = await f.catch((err) => { facts.delete(container.id); throw err; });
      const { entries, deletions } = await copyEntries(ctx.root, plan.copies, workdir, uid, gid);
      if (entries.length) await container.putArchive(packEntries(entries) as unknown as NodeJS.ReadableStream, { path: '/' });
      if (deletions.length) {
        const r = await execIn(docker, container, ['rm', '-rf', '--', ...deletions], { signal: ctx.signal });
        if (r.exitCode !== 0) throw new Error(`removing ${deletions.join(', ')} failed (exit code ${r.exitCode}): ${r.output.join(' / ')}`);
      }
      // From the change to the files in place (the facts lookup included): the update summary's `sync`.
      ctx.steps.push({ name: 'sync', ms: Date.now() - started });
      let stepStart = Date.now();
      for (const command of plan.runs) {
        ctx.logger.info(`live update: run \`${command}\``);
        const r = await execIn(docker, container, command, { workdir, signal: ctx.signal, onLine: (line, stream) => ctx.logger.output(line, stream) });
        if (r.exitCode !== 0) {
          ctx.logger.warn(`live update step \`${command}\` failed with exit code ${r.exitCode}; rebuilding. Its last output:\n${r.output.map((l) => `  ${l}`).join('\n') || '  (none)'}`);
          return undefined;
        }
      }
      if (plan.runs.length) ctx.steps.push({ name: 'run', ms: Date.now() - stepStart });
      stepStart = Date.now();
      const restarted = plan.restart ? await deployment.restart() : false;
      if (restarted) ctx.steps.push({ name: 'restart', ms: Date.now() - stepStart });
      const ms = Date.now() - started;
      const synced = plan.copies.length - deletions.length;
      ctx.logger.info(`live update: ${describe(synced, deletions.length, plan.runs.length, restarted)} in ${formatMs(ms)}, no rebuild`);
      ctx.dispatch({ type: 'service/extra', service: ctx.service, plugin: DOCKER_PLUGIN, data: { liveUpdates: ++updates, lastLiveUpdate: { at: Date.now(), files: rel, durationMs: ms } } });
      return false;
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      ctx.logger.warn(`live update failed (${err instanceof Error ? err.message : String(err)}); rebuilding`);
      return undefined;
    }
  }
}

function describe(synced: number, deleted: number, runs: number, restart: false | 'process' | 'container'): string {
  const parts = [`synced ${synced} file${synced === 1 ? '' : 's'}`];
  if (deleted) parts.push(`deleted ${deleted}`);
  if (runs) parts.push(`ran ${runs} step${runs === 1 ? '' : 's'}`);
  if (restart) parts.push(`restarted the ${restart}`);
  return parts.join(', ');
}

/**
 * The container's working directory (relative sync targets are relative to it) and its user's
 * ids: files copied in belong to that user, so a non-root service can still rewrite them.
 */
async function containerFacts(docker: Docker, container: Docker.Container): Promise<ContainerFacts> {
  const info = await container.inspect();
  const workdir = info.Config.WorkingDir || '/';
  let uid = 0;
  let gid = 0;
  const user = info.Config.User ?? '';
  const numeric = /^(\d+)(?::(\d+))?$/.exec(user);
  if (numeric) {
    uid = Number(numeric[1]);
    gid = Number(numeric[2] ?? numeric[1]);
  } else if (user) {
    const r = await execIn(docker, container, ['sh', '-c', 'id -u; id -g'], { tailLines: 2 }).catch(() => undefined);
    if (r?.exitCode === 0 && r.output.length === 2) [uid, gid] = r.output.map(Number);
  }
  return { workdir, uid, gid };
}

async function copyEntries(root: string, copies: LiveUpdateCopy[], workdir: string, uid: number, gid: number): Promise<{ entries: TarEntry[]; deletions: string[] }> {
  const entries: TarEntry[] = [];
  const deletions: string[] = [];
  const add = async (abs: string, dest: string): Promise<void> => {
    const st = await lstat(abs).catch(() => undefined);
    const name = dest.replace(/^\/+/, '');
    if (!st) { deletions.push(dest); return; }
    const base = { name, mode: st.mode, mtime: st.mtime, uid, gid };
    if (st.isSymbolicLink()) entries.push({ ...base, type: 'symlink', linkname: await readlink(abs) });
    else if (st.isFile()) entries.push({ ...base, type: 'file', source: abs });
    else if (st.isDirectory()) {
      entries.push({ ...base, type: 'directory' });
      for (const child of await readdir(abs)) await add(path.join(abs, child), path.posix.join(dest, child));
    }
  };
  for (const c of copies) {
    const dest = path.posix.isAbsolute(c.to) ? c.to : path.posix.join(workdir, c.to);
    await add(path.join(root, c.from), dest);
  }
  return { entries, deletions };
}
