import { defineDevfile } from 'devloop';

// A TypeScript HTTP service bundled by esbuild and run as a local process.
// Edit src/*.ts while "devloop up" runs: the bundle is rebuilt incrementally and the process
// restarted in place (about 0.1 s on a 2-core machine).
export default defineDevfile({
  name: 'hello-node',
  services: {
    hello: {
      src: ['src'],
      build: { type: 'esbuild', entry: 'src/server.ts' },
      runtime: 'process',
      port: 8080,
      health: { http: '/healthz' },
      env: { GREETING: 'hello' },
    },
  },
});
