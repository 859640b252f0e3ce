import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { choosePort, findFreePort, isPortFree, nextFreePort, portTakenError } from './ports.js';

function listen(port: number, host?: string): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(port, host, () => resolve(s));
  });
}

describe('ports', () => {
  const servers: net.Server[] = [];
  after(() => { for (const s of servers) s.close(); });

  it('finds a free port and sees it taken once something listens', async () => {
    const port = await findFreePort();
    assert.ok(await isPortFree(port));
    servers.push(await listen(port, '127.0.0.1'));
    assert.equal(await isPortFree(port), false);
  });

  it('counts a port bound on all interfaces as taken', async () => {
    const port = await findFreePort();
    servers.push(await listen(port));
    assert.equal(await isPortFree(port), false);
  });

  it('moves a busy port to the next free one, with a warning naming the holder', { timeout: 30_000 }, async () => {
    const port = await findFreePort();
    servers.push(await listen(port, '127.0.0.1'));
    const choice = await choosePort(port, 'api port');
    assert.ok(choice.port > port);
    servers.push(await listen(choice.port)); // the port chosen can really be bound
    assert.match(choice.warning!, new RegExp(`^api port ${port} is in use( by node \\(pid ${process.pid}\\))?; using ${choice.port} instead$`));
    if (process.platform === 'linux') assert.match(choice.warning!, /by node/);
  });

  it('an asked-for port that is taken is an error naming the holder and how to ask for another', { skip: process.platform === 'linux' ? false : 'names the holder from /proc' }, async () => {
    const port = await findFreePort();
    servers.push(await listen(port, '127.0.0.1'));
    const err = portTakenError(port, 'services.api.port', 'set services.api.port to a free port', 'api');
    assert.equal(err.code, 'PORT_IN_USE');
    assert.equal(err.message, `services.api.port: port ${port} is in use by node (pid ${process.pid})`);
    assert.equal(err.hint, `stop node (kill ${process.pid}) if it is a leftover, or set services.api.port to a free port`);
  });

  it('keeps a free port as is, without a warning', async () => {
    const port = await findFreePort();
    assert.deepEqual(await choosePort(port), { port });
  });

  it('nextFreePort skips taken ports and returns one that can really be bound', { timeout: 30_000 }, async () => {
    const port = await findFreePort();
    servers.push(await listen(port, '127.0.0.1'));
    const next = await nextFreePort(port);
    assert.ok(next > port, `${next} after ${port}`);
    // Free means free: listening on it on every interface (which also fails when 127.0.0.1 holds it) works.
    servers.push(await listen(next));
    assert.equal(await isPortFree(next), false, 'and it is seen as taken once bound');
  });
});
