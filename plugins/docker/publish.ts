/**
 * Which host ports a service's container publishes, always on 127.0.0.1 (a dev server should not
 * be reachable from the café's Wi-Fi). The service `port` is published on the same host port when
 * free; a busy one moves to the next free port with a warning. Ports devloop picked itself are
 * kept across rebuilds of the service, so its URL does not change on every save.
 */
import type { ServiceConfig } from '../../core/devfile/types.js';
import type { Logger } from '../../core/engine/contexts.js';
import { choosePort, findFreePort, isPortFree, LOCALHOST } from '../shared/ports.js';

export interface PublishedPort {
  name: string;
  containerPort: number;
  hostPort: number;
  protocol: 'tcp' | 'udp';
}

/** `held`: host ports of the container being replaced, which it gives up before the new one starts. */
export async function planPorts(config: ServiceConfig, service: string, logger: Logger, sticky: Map<string, number>, held: Set<number> = new Set()): Promise<PublishedPort[]> {
  const wanted: Array<{ name: string; containerPort: number; hostPort?: number; protocol: 'tcp' | 'udp' }> = [];
  if (config.port) wanted.push({ name: 'http', containerPort: config.port, hostPort: config.port, protocol: 'tcp' });
  for (const p of config.ports ?? []) {
    const protocol = p.protocol ?? 'tcp';
    const same = wanted.find((w) => w.containerPort === p.containerPort && w.protocol === protocol);
    if (same) {
      if (p.name) same.name = p.name;
      if (p.hostPort) same.hostPort = p.hostPort;
      continue;
    }
    wanted.push({ name: p.name ?? `port-${p.containerPort}`, containerPort: p.containerPort, hostPort: p.hostPort, protocol });
  }
  const taken = new Set<number>();
  const out: PublishedPort[] = [];
  for (const w of wanted) {
    const key = `${w.protocol}/${w.containerPort}`;
    let hostPort: number;
    const previous = sticky.get(key);
    if (w.hostPort && held.has(w.hostPort) && !taken.has(w.hostPort)) {
      hostPort = w.hostPort;
    } else if (w.hostPort && previous && held.has(previous) && !taken.has(previous) && !(await isPortFree(w.hostPort))) {
      // Still busy: keep the port it moved to last time (already warned), so the URL stays put.
      hostPort = previous;
    } else if (w.hostPort) {
      const choice = await choosePort(w.hostPort, `services.${service} port`);
      hostPort = choice.port;
      if (taken.has(hostPort)) hostPort = await freshPort(taken);
      if (choice.warning) logger.warn(`${choice.warning}: reach it at http://${LOCALHOST}:${hostPort}`);
    } else {
      hostPort = previous && !taken.has(previous) && (held.has(previous) || (await isPortFree(previous))) ? previous : await freshPort(taken);
    }
    taken.add(hostPort);
    sticky.set(key, hostPort);
    out.push({ name: w.name, containerPort: w.containerPort, hostPort, protocol: w.protocol });
  }
  return out;
}

async function freshPort(taken: Set<number>): Promise<number> {
  for (;;) {
    const p = await findFreePort();
    if (!taken.has(p)) return p;
  }
}

/** Docker's create parameters for the ports. */
export function portConfig(ports: PublishedPort[]): { exposed: Record<string, object>; bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> } {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const p of ports) {
    const key = `${p.containerPort}/${p.protocol}`;
    exposed[key] = {};
    bindings[key] = [{ HostIp: LOCALHOST, HostPort: String(p.hostPort) }];
  }
  return { exposed, bindings };
}
