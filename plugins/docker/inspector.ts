/**
 * `devloop debug` for containers. An inspector runs any code it is sent, as the process's user
 * (root in most images), so it must not listen where others reach it: `--inspect=0.0.0.0:9229`
 * inside a container is open to every container on the bridge and to every local user through
 * the bridge address, and so is any port published from the container (docker-proxy and the NAT
 * rules forward from the bridge too).
 *
 * So the inspector listens on the container's own loopback (127.0.0.1:9229 inside), and devloop
 * serves it on the host's 127.0.0.1:PORT: each connection there runs a small relay in the
 * container through the exec API (`node -e`, which a Node image has) that connects to the
 * inspector and pipes the bytes through the exec stream. Nothing new listens in the container.
 */
import net from 'node:net';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import type { Logger } from '../../core/engine/contexts.js';
import { LOCALHOST } from '../shared/ports.js';
import { bounded } from './client.js';

/** Where the Node inspector listens inside a container being debugged (Node's default port). */
export const INSPECTOR_CONTAINER_PORT = 9229;

/** NODE_OPTIONS for the service: the inspector on the container's loopback only. */
export const INSPECT_OPTION = `--inspect=127.0.0.1:${INSPECTOR_CONTAINER_PORT}`;

// stdin -> inspector -> stdout; exits when either side closes.
const RELAY = [
  `const s = require('net').connect(${INSPECTOR_CONTAINER_PORT}, '127.0.0.1');`,
  'process.stdin.pipe(s); s.pipe(process.stdout);',
  "process.stdin.on('end', () => s.end());",
  "s.on('error', (e) => { process.stderr.write(String(e)); process.exit(1); });",
  "s.on('close', () => process.exit(0));",
].join(' ');

export interface InspectorRelay {
  close(): Promise<void>;
}

/** Serves the container's inspector on the host's 127.0.0.1:`hostPort`. */
export async function serveInspector(docker: Docker, container: Docker.Container, hostPort: number, logger: Logger): Promise<InspectorRelay> {
  const clients = new Set<net.Socket>();
  let told = false;
  const server = net.createServer((client) => {
    clients.add(client);
    client.on('close', () => clients.delete(client));
    client.on('error', () => client.destroy());
    relay(docker, container, client).catch((err) => {
      client.destroy();
      if (!told) { told = true; logger.warn(`cannot reach the inspector in the container: ${err instanceof Error ? err.message : String(err)}`); }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(hostPort, LOCALHOST, () => { server.off('error', reject); resolve(); });
  });
  return {
    close: () => new Promise<void>((resolve) => {
      for (const c of clients) c.destroy();
      server.close(() => resolve());
    }),
  };
}

async function relay(docker: Docker, container: Docker.Container, client: net.Socket): Promise<void> {
  const exec = await container.exec({
    Cmd: ['node', '-e', RELAY],
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    // The service's NODE_OPTIONS would start a second inspector in the relay.
    Env: ['NODE_OPTIONS='],
    ...bounded(),
  } as Docker.ExecCreateOptions);
  const stream = (await exec.start({ hijack: true, stdin: true })) as NodeJS.ReadWriteStream & net.Socket;
  if (client.destroyed) { stream.destroy(); return; }
  const out = new PassThrough();
  const err = new PassThrough();
  docker.modem.demuxStream(stream, out, err);
  err.resume();
  // Bytes the client sent while the exec was being set up were buffered by its socket.
  client.pipe(stream);
  out.pipe(client);
  stream.on('end', () => client.end());
  stream.on('close', () => client.destroy());
  stream.on('error', () => client.destroy());
  client.on('close', () => stream.destroy());
}
