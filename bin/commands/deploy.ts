/**
 * `devloop deploy <service>`: rebuilds and redeploys one service in the running session, and waits
 * for the result. `devloop deploy --diff [service]`: changes nothing; shows what applying the
 * Kubernetes services' objects would change, as `kubectl diff` does (exit 0: no change, 1: changes,
 * 2: an error), from the API server's server-side dry run.
 */
import { DevloopError } from '../../core/errors.js';
import { findSession, request, sessionState } from '../../core/session/client.js';
import { EXIT, load, loadOrSession, reportError, type GlobalOptions } from '../shared.js';
import { knownImages } from './render.js';

export async function deploy(opts: GlobalOptions, service: string | undefined, timeoutMs: number): Promise<number> {
  if (!service) throw new DevloopError('devloop deploy: name the service to redeploy', { code: 'BAD_FLAG', exitCode: 2, hint: '"devloop deploy <service>"; or "devloop deploy --diff" to see what applying every Kubernetes service would change' });
  const loaded = await loadOrSession(opts, 'deploy');
  if (!loaded.config.services[service]) {
    throw new DevloopError(`no service named "${service}" in ${loaded.file}`, { code: 'UNKNOWN_SERVICE', exitCode: 2, hint: `services are: ${Object.keys(loaded.config.services).join(', ') || '(none)'}` });
  }
  const session = await findSession(loaded.dir);
  if (!session) {
    throw new DevloopError('no devloop session is running for this project', {
      code: 'NO_SESSION', hint: '"devloop deploy" rebuilds a service inside a running "devloop up"; start one first. One-shot deploys to a cluster come with the Kubernetes plugin.',
    });
  }
  // A run is followed by its count, not by builds: a service without a build (or with unchanged
  // inputs) is redeployed without one.
  const before = (await sessionState(session)).services[service]?.runCount ?? 0;
  await request(session.socket, 'POST', `/trigger?service=${encodeURIComponent(service)}`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = (await sessionState(session)).services[service];
    if (s && s.runCount > before) {
      if (s.failedRun === s.runCount) { process.stderr.write(`${service}: failed: ${s.error?.message}\n`); return EXIT.failed; }
      if (s.deployedRun === s.runCount && s.phase === 'healthy') { process.stdout.write(`${service}: healthy ${s.endpoints.map((e) => e.url).join(' ')}\n`); return EXIT.ok; }
    }
    if (Date.now() > deadline) { process.stderr.write(`${service}: still ${s?.phase ?? 'unknown'} after ${timeoutMs} ms${s?.waiting ? ` (${s.waiting})` : ''}\n`); return EXIT.failed; }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Exit codes of `--diff`, as kubectl diff's. */
const DIFF_EXIT = { same: 0, changed: 1, error: 2 } as const;

export async function deployDiff(opts: GlobalOptions, only: string | undefined): Promise<number> {
  try {
    return await diffServices(opts, only);
  } catch (err) {
    const code = reportError(err, opts);
    // 1 means "changes" here: an error is 2, as kubectl diff's is above 1 (a bug keeps its own code).
    return code === EXIT.failed ? DIFF_EXIT.error : code;
  }
}

async function diffServices(opts: GlobalOptions, only: string | undefined): Promise<number> {
  const loaded = await load(opts, 'deploy');
  const cfg = loaded.config;
  if (only && !cfg.services[only]) {
    throw new DevloopError(`no service named "${only}" in ${loaded.file}`, { code: 'UNKNOWN_SERVICE', exitCode: 2, hint: `services are: ${Object.keys(cfg.services).join(', ') || '(none)'}` });
  }
  const preview = await import('../../plugins/kubernetes/preview.js');
  const services = preview.kubernetesServices(cfg, opts.env, only ? [only] : undefined);
  if (services.length === 0) {
    throw new DevloopError(only ? `${only} does not deploy to Kubernetes in environment "${opts.env}": --diff has nothing to compare` : `no service deploys to Kubernetes in environment "${opts.env}": --diff has nothing to compare`, {
      code: 'NO_K8S_SERVICE', exitCode: 2, hint: 'give a service runtime: \'kubernetes\' and k8s.manifests in Devfile.ts',
    });
  }
  const [{ resolveTarget }, { timedApis }] = await Promise.all([import('../../plugins/kubernetes/context.js'), import('../../plugins/kubernetes/client.js')]);
  const images = await knownImages(loaded.dir);
  let changed = 0;
  let total = 0;
  for (const [service] of services) {
    const target = await resolveTarget(cfg, service);
    const apis = await timedApis(target.kc, 30_000);
    const prepared = await preview.prepareService(cfg, loaded.dir, opts.env, service, target.namespace, images);
    for (const name of prepared.unbuilt) process.stderr.write(`${service}: image "${name}" is not built yet (no running session knows it): compared as written\n`);
    const diffs = await preview.dryRunDiff(apis.objects, prepared.objects, service, target);
    for (const d of diffs) {
      total++;
      if (d.status === 'unchanged') continue;
      changed++;
      if (opts.output !== 'json') process.stdout.write(d.diff);
    }
    if (opts.output === 'json') {
      for (const d of diffs) process.stdout.write(`${JSON.stringify({ type: 'diff', service, context: target.context, object: d.ref, source: d.source, status: d.status, diff: d.diff || undefined })}\n`);
    }
  }
  process.stderr.write(changed ? `${changed} of ${total} object${total === 1 ? '' : 's'} would change\n` : `no changes (${total} object${total === 1 ? '' : 's'} compared)\n`);
  return changed ? DIFF_EXIT.changed : DIFF_EXIT.same;
}
