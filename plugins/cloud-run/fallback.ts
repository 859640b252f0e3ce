/**
 * When the simulator itself cannot serve a service (its code fails to load, or its front end
 * cannot listen), the service still runs, on its plain runtime, with one warning: a developer
 * loses the simulation, not the service. Mistakes in the user's spec or app are not this: they
 * fail the deploy with their own message, as they would on Cloud Run.
 */
import type { DeployContext, Deployment } from '../../core/engine/contexts.js';
import type { Engine } from '../../core/engine/engine.js';
import { DevloopError } from '../../core/errors.js';

/** Why the simulator could not serve, when `err` is the simulator's own failure; else undefined. */
export function simulatorFailure(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; e && depth < 6; depth++) {
    const x = e as NodeJS.ErrnoException & { address?: string; port?: number };
    if (x.syscall === 'listen' || x.syscall === 'bind') {
      const host = x.address?.includes(':') ? `[${x.address}]` : x.address;
      return `its front end cannot listen${host ? ` on ${host}${x.port ? `:${x.port}` : ''}` : ''} (${x.code ?? x.message})`;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Deploys on the runtime the service would have without the simulator, saying why once. */
export class PlainFallback {
  private readonly told = new Map<string, string>();

  constructor(private readonly engine: Engine) {}

  async deploy(ctx: DeployContext, reason: string): Promise<Deployment> {
    // An image means a daemon built it: the container runtime; else a local process.
    const target = ctx.image ? 'docker' : 'process';
    if (this.told.get(ctx.service) !== reason) {
      this.told.set(ctx.service, reason);
      ctx.logger.warn(`running without Cloud Run simulation: ${reason}; ${ctx.service} runs on the ${target} runtime instead (the next deploy tries the simulator again)`);
    }
    const deployer = this.engine.hooks.deploy.get(target);
    if (!deployer?.taps.length) {
      throw new DevloopError(`the Cloud Run simulator cannot serve ${ctx.service} (${reason}), and no plugin deploys to "${target}"`, {
        code: 'NO_FALLBACK', service: ctx.service, hint: 'fix what the message says, or set the service\'s runtime to one your plugins provide',
      });
    }
    const deployment = await deployer.promise({ ...ctx, runtime: target });
    if (!deployment) throw new DevloopError(`the ${target} runtime returned no deployment for ${ctx.service}`, { code: 'NO_FALLBACK', service: ctx.service });
    ctx.dispatch({ type: 'service/target', service: ctx.service, target });
    return deployment;
  }

  /** The simulator served the service again: a later fallback is said again. */
  recovered(service: string): void {
    this.told.delete(service);
  }
}
