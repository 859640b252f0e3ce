import http from 'node:http';
import { randomBytes } from 'node:crypto';

// Cloud Run's contract: listen on $PORT; K_SERVICE / K_REVISION say who this instance is.
// $HOST: devloop gives a process instance 127.0.0.1, so nothing reaches it around the simulator;
// unset in a container, where it must listen on every interface of the container.
const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST;
const instance = randomBytes(3).toString('hex');

const server = http.createServer((req, res) => {
  if (req.url === '/healthz') {
    res.end('ok');
    return;
  }
  // /work?ms=200: a request that takes a while (waiting, as on a database, not burning CPU), so a
  // burst of them fills each instance's 2 slots (containerConcurrency) and the simulator starts more.
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/work') {
    const ms = Math.min(Math.max(Number(url.searchParams.get('ms') ?? 200) || 0, 0), 10_000);
    setTimeout(() => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ worked: ms, revision: process.env.K_REVISION, instance }));
    }, ms);
    return;
  }
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({
    message: `${process.env.GREETING ?? 'hello'} from ${process.env.K_SERVICE}`,
    revision: process.env.K_REVISION,
    instance,
    trace: req.headers['x-cloud-trace-context'],
  }));
});

server.listen(port, host, () => {
  console.log(JSON.stringify({ severity: 'INFO', message: `instance ${instance} listening on ${port}` }));
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
