/**
 * Local TCP ports. "Free" means nothing listens on it on any address: a service usually binds
 * 0.0.0.0 or ::, so a port that only looks free on 127.0.0.1 would still fail it at startup.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import { DevloopError } from '../../core/errors.js';

export const LOCALHOST = '127.0.0.1';

/** A port the OS considers free right now (there is always a window before someone binds it). */
export function findFreePort(host = LOCALHOST): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** True when nothing listens on `port` on 127.0.0.1, 0.0.0.0 or ::. */
export async function isPortFree(port: number): Promise<boolean> {
  for (const host of [LOCALHOST, '0.0.0.0', '::']) {
    const result = await tryListen(port, host);
    if (result === 'busy') return false;
  }
  return true;
}

function tryListen(port: number, host: string): Promise<'free' | 'busy' | 'unsupported'> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', (err: NodeJS.ErrnoException) => {
      // A host without IPv6 cannot bind ::, which says nothing about the port.
      resolve(err.code === 'EADDRINUSE' || err.code === 'EACCES' ? 'busy' : 'unsupported');
    });
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve('free')));
  });
}

/** The first free port at or after `start`. */
export async function nextFreePort(start: number, maxTries = 100): Promise<number> {
  for (let port = start; port < start + maxTries && port <= 65535; port++) {
    if (await isPortFree(port)) return port;
  }
  return findFreePort();
}

export interface PortChoice {
  port: number;
  /** Set when the wanted port was busy and another was chosen. */
  warning?: string;
}

/**
 * The wanted port if it is free, else the next free one with a warning that says who holds the
 * wanted one when that can be found out (a leftover from another run is the usual culprit).
 */
export async function choosePort(wanted: number, what = 'port'): Promise<PortChoice> {
  if (await isPortFree(wanted)) return { port: wanted };
  const port = await nextFreePort(wanted + 1);
  const owner = describePortOwner(wanted);
  return { port, warning: `${what} ${wanted} is in use${owner ? ` by ${owner}` : ''}; using ${port} instead` };
}

/**
 * The error for a taken port the user asked for by name (`services.api.port`, `--port`): such a
 * port is not moved, since what it was chosen for (a bookmark, another service's config, a test
 * script) would then reach the program holding it instead. `field` is where it was asked for,
 * `instead` how to ask for another ("set services.api.port to a free port").
 */
export function portTakenError(port: number, field: string, instead: string, service?: string): DevloopError {
  const owner = portOwner(port);
  return new DevloopError(`${field}: port ${port} is in use by ${owner ? `${owner.name} (pid ${owner.pid})` : 'another program'}`, {
    code: 'PORT_IN_USE', service, exitCode: 2,
    hint: owner
      ? `stop ${owner.name} (kill ${owner.pid}) if it is a leftover, or ${instead}`
      : `find what holds it (ss -ltnp 'sport = :${port}'; it may belong to another user or a container), or ${instead}`,
  });
}

/** "node (pid 1234)" for the process listening on `port`, when it can be found (see `portOwner`). */
export function describePortOwner(port: number): string | undefined {
  const owner = portOwner(port);
  return owner ? `${owner.name} (pid ${owner.pid})` : undefined;
}

/**
 * Best effort, Linux only: the process listening on `port`. Reads /proc/net/tcp{,6} for the
 * socket inode, then finds which of our processes holds it.
 */
export function portOwner(port: number): { name: string; pid: number } | undefined {
  try {
    const inodes = new Set<string>();
    for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
      let text: string;
      try { text = readFileSync(file, 'utf8'); } catch { continue; }
      for (const row of text.split('\n').slice(1)) {
        const cols = row.trim().split(/\s+/);
        // cols[1] = local address "0100007F:1F90", cols[3] = state (0A = LISTEN), cols[9] = inode
        if (cols.length < 10 || cols[3] !== '0A') continue;
        if (parseInt(cols[1].split(':')[1], 16) === port) inodes.add(cols[9]);
      }
    }
    if (inodes.size === 0) return undefined;
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      let fds: string[];
      try { fds = readdirSync(`/proc/${pid}/fd`); } catch { continue; }
      for (const fd of fds) {
        let target: string;
        try { target = readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { continue; }
        const m = /^socket:\[(\d+)\]$/.exec(target);
        if (m && inodes.has(m[1])) {
          return { name: readFileSync(`/proc/${pid}/comm`, 'utf8').trim(), pid: Number(pid) };
        }
      }
    }
  } catch {
    // Not Linux, or /proc is restricted: the warning just names no owner.
  }
  return undefined;
}
