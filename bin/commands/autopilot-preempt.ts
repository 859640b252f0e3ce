/**
 * `devloop autopilot preempt NODE`: the running session's Autopilot node provisioner reclaims a
 * Spot node it made, as GKE does (impending-termination taint, pods evicted, node deleted after
 * the grace period); the pods' controllers recreate them and the provisioner gives them a new node.
 */
import { DevloopError } from '../../core/errors.js';
import { findSession, request } from '../../core/session/client.js';
import { EXIT, projectDir, type GlobalOptions } from '../shared.js';

export async function autopilotPreempt(opts: GlobalOptions, node: string): Promise<number> {
  const session = await findSession(await projectDir(opts));
  if (!session) {
    throw new DevloopError('no devloop session is running for this project', { code: 'NO_SESSION', hint: 'start one with "devloop up" (simulation.autopilot.enabled, a Kubernetes service), then run "devloop autopilot preempt NODE" in another terminal' });
  }
  const res = await request(session.socket, 'POST', `/autopilot/preempt?node=${encodeURIComponent(node)}`, 60_000);
  const body = (res.body ?? {}) as { error?: string; preemptible?: string[]; node?: string; pods?: string[]; graceS?: number };
  if (res.status !== 200) {
    if (opts.output === 'json') process.stdout.write(`${JSON.stringify({ preempted: false, error: body.error, preemptible: body.preemptible ?? [] })}\n`);
    else process.stderr.write(`devloop autopilot preempt: ${body.error ?? `the session answered ${res.status}`}\n`);
    return EXIT.failed;
  }
  if (opts.output === 'json') process.stdout.write(`${JSON.stringify({ preempted: true, ...body })}\n`);
  else process.stdout.write(`preempted Spot node ${body.node}: ${body.pods?.length ? `evicted ${body.pods.join(', ')} (their controllers recreate them; a new node is provisioned)` : 'no pods were on it'}; the node is deleted in ${body.graceS}s\n`);
  return EXIT.ok;
}
