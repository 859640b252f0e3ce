import http from 'node:http';
import { randomBytes } from 'node:crypto';

// Cloud Run's contract: listen on $PORT; K_SERVICE / K_REVISION say who this instance is.
const port = Number(process.env.PORT ?? 8080);
const instance = randomBytes(3).toString('hex');

const server = http.createServer((req, res) => {
  if (req.url === '/healthz') {
    res.end('ok');
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

server.listen(port, () => {
  console.log(JSON.stringify({ severity: 'INFO', message: `instance ${instance} listening on ${port}` }));
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
