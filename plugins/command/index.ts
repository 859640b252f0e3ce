/**
 * `devloop:command`: builds a service by running a shell command, for toolchains devloop knows
 * nothing about (`go build`, `cargo build`, `make`). The command runs in its own process group
 * so that a superseded build stops everything it started, not just the shell.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { CommandBuildConfig } from '../../core/devfile/types.js';
import type { BuildContext, BuildResult } from '../../core/engine/contexts.js';
import { DevloopError } from '../../core/errors.js';
import type { DevloopPlugin } from '../../core/plugins/types.js';
import { childEnv } from '../shared/env.js';
import { LineTail } from '../shared/lines.js';
import { describeExit, runToExit } from '../shared/process-group.js';
import { shellLine } from '../shared/shell.js';
import { hashPaths } from './digest.js';

export interface CommandPluginOptions {
  /** How long a cancelled build gets between SIGTERM and SIGKILL. Default 2000 ms. */
  killGraceMs?: number;
  /** Output lines quoted in a failure message. Default 20. */
  tailLines?: number;
}

export const COMMAND_PLUGIN = 'devloop:command';

export function commandPlugin(options: CommandPluginOptions = {}): DevloopPlugin {
  return {
    name: COMMAND_PLUGIN,
    apply(engine) {
      // Never `cached`: the outputs may not be all the command produced, so identical declared
      // outputs do not prove the service would run the same.
      engine.hooks.build.for('command').tapPromise(COMMAND_PLUGIN, (ctx) => runCommandBuild(ctx, ctx.config.build as CommandBuildConfig, options));
      // The command writes its outputs inside the watched tree; seeing them as edits would
      // rebuild forever.
      engine.hooks.watch.tap(COMMAND_PLUGIN, (ctx) => {
        const build = ctx.config.build;
        if (build?.type !== 'command' || !build.outputs?.length) return;
        const outputs = build.outputs.map((o) => path.resolve(ctx.root, o));
        ctx.changedFiles = ctx.changedFiles.filter((f) => !outputs.some((o) => f === o || f.startsWith(o + path.sep)));
      });
    },
  };
}

export async function runCommandBuild(ctx: BuildContext, build: CommandBuildConfig, options: CommandPluginOptions = {}): Promise<BuildResult> {
  const cwd = path.resolve(ctx.root, build.cwd ?? '.');
  if (!existsSync(cwd)) {
    throw new DevloopError(`build.cwd ${path.relative(ctx.root, cwd) || '.'} does not exist`, {
      code: 'BUILD_CONFIG',
      hint: `services.${ctx.service}.build.cwd is relative to the Devfile's folder (${ctx.root})`,
    });
  }
  const tail = new LineTail(options.tailLines ?? 20);
  const argv = ['/bin/sh', '-c', build.command];
  const exit = await runToExit(argv, {
    cwd,
    env: childEnv([ctx.root, cwd], ctx.env, build.env),
    onLine: (line, stream) => { tail.push(line); ctx.logger.output(line, stream); },
    record: { root: ctx.root, service: ctx.service, role: 'build' },
    signal: ctx.signal,
    killGraceMs: options.killGraceMs,
  });
  if (exit.leftovers) ctx.logger.warn('the build command left background processes running; they were stopped');
  if (exit.code !== 0) {
    const output = tail.format();
    throw new DevloopError(
      `build command ${describeExit(exit)}: ${build.command}${output ? `\nlast ${tail.lines().length} lines of output:\n${output}` : ' (no output)'}`,
      {
        code: 'BUILD_FAILED',
        // Under sh -c, as devloop ran it: pasted bare, an `exit 1` in it would close the reader's shell.
        hint: `run it yourself to see everything: ${shellLine({ cwd, argv, env: { ...ctx.env, ...build.env }, pathPrefix: [...new Set([ctx.root, cwd])].map((d) => path.join(d, 'node_modules', '.bin')) })}`,
      },
    );
  }

  const artifacts = (build.outputs ?? []).map((o) => path.resolve(ctx.root, o));
  const missing = artifacts.filter((a) => !existsSync(a));
  if (missing.length) {
    const rel = missing.map((m) => path.relative(ctx.root, m));
    const underCwd = (build.outputs ?? []).filter((o) => existsSync(path.resolve(cwd, o)) && !existsSync(path.resolve(ctx.root, o)));
    throw new DevloopError(`the build command succeeded but did not produce ${rel.join(', ')}`, {
      code: 'BUILD_OUTPUT_MISSING',
      hint: underCwd.length && cwd !== ctx.root
        ? `outputs are relative to the Devfile's folder, not build.cwd: did you mean ${underCwd.map((o) => path.relative(ctx.root, path.resolve(cwd, o))).join(', ')}?`
        : `check services.${ctx.service}.build.outputs (relative to the Devfile's folder) against what the command writes`,
    });
  }
  return { artifacts, digest: await hashPaths(artifacts) };
}
