import { defineDevfile } from 'devloop';

// A TypeScript service served the way Cloud Run would serve it, on this machine: the simulator
// in front (http://127.0.0.1:8080, the container port; the next free one when 8080 is taken, as
// no port is set here: `port: 8080` would make a taken 8080 an error instead), instances started
// on demand with Cloud Run's env contract, containerConcurrency 2 and at most 4 instances
// (service.yaml), scale to zero when idle, a new revision for every save. No Docker needed:
// without an image, instances are local processes. To watch instances grow, send a burst of
// requests that take 200 ms each (GET /work?ms=200): 20 at once are far more than one instance's
// 2 slots, so instances start up to the maxScale of 4.
export default defineDevfile({
  name: 'hello-cloud-run',
  simulation: { cloudRun: { enabled: true } },
  services: {
    hello: {
      src: ['src'],
      build: { type: 'esbuild', entry: 'src/server.ts' },
      cloudRun: { service: 'service.yaml' },
      env: { GREETING: 'hello' },
    },
  },
  // DEVLOOP_URL_HELLO is where devloop serves `hello` (another port when 8080 was taken).
  tests: [{ name: 'serves its revision', command: 'node -e "fetch(process.env.DEVLOOP_URL_HELLO).then(r => r.json()).then(j => { console.log(j); process.exit(/^hello-\\d{5}-/.test(j.revision) ? 0 : 1) })"' }],
});
