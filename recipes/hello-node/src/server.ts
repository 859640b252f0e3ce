import http from 'node:http';
import { message } from './message';

const port = Number(process.env.PORT ?? 8080);

const server = http.createServer((req, res) => {
  if (req.url === '/healthz') {
    res.end('ok');
    return;
  }
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ message: message(process.env.GREETING ?? 'hello'), pid: process.pid }));
});

// devloop's process runtime sets HOST=127.0.0.1; loopback too when run by hand.
server.listen(port, process.env.HOST ?? '127.0.0.1', () => {
  // Cloud Logging shape: devloop pretty-prints it.
  console.log(JSON.stringify({ severity: 'INFO', message: `hello-node listening on ${port}` }));
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
