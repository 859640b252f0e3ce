/**
 * The service's host ports, held by devloop rather than by docker-proxy, so that a rebuilt
 * service's new container can start beside the old one and take over only once it is healthy.
 *
 * Why: when a container is replaced in place, its successor's docker-proxy takes the host port
 * while Docker is still wiring the container's network. A client that connects in that window
 * (a browser reloading, a test polling) makes the kernel resolve the container's address before
 * it answers; the neighbour entry goes INCOMPLETE and every connection waits for the kernel's 1 s
 * retry. That second was most of a rebuild's save-to-new-content time. Here the client always
 * talks to devloop's listener on 127.0.0.1, which connects to the container's own published port
 * (also 127.0.0.1, a port devloop picks) only once that container has started and answered its
 * health check; the old container serves until then and is stopped after the switch.
 *
 * Each connection is piped byte for byte (HTTP/1, h2c, WebSockets, anything over TCP). A
 * connection keeps the container it was opened to; it ends when that container stops.
 */
import net from 'node:net';
import { LOCALHOST } from '../shared/ports.js';

export class PortForwarder {
  private target?: number;
  private readonly sockets = new Set<net.Socket>();

  private constructor(private readonly server: net.Server, readonly hostPort: number) {
    server.on('connection', (client) => this.accept(client));
  }

  /** Listens on 127.0.0.1:`hostPort`; rejects with the listen error (EADDRINUSE) when it cannot. */
  static listen(hostPort: number): Promise<PortForwarder> {
    // Half-open kept: a client that shuts down its sending side still gets the answer, as through docker-proxy.
    const server = net.createServer({ noDelay: true, allowHalfOpen: true });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(hostPort, LOCALHOST, () => {
        server.off('error', reject);
        resolve(new PortForwarder(server, hostPort));
      });
    });
  }

  /** New connections go to 127.0.0.1:`port` from now on; undefined refuses them (closes at once), as a port nothing listens on. */
  point(port: number | undefined): void {
    this.target = port;
  }

  get pointsAt(): number | undefined { return this.target; }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    const target = this.target;
    if (target === undefined) { client.destroy(); return; }
    const upstream = net.connect({ port: target, host: LOCALHOST, noDelay: true, allowHalfOpen: true });
    this.sockets.add(client);
    this.sockets.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
    // Bytes the client sends before the upstream connects are buffered by the pipe.
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
