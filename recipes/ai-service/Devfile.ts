import { defineDevfile } from 'devloop';

// The ai-service behind devloop's Cloud Run simulator (http://127.0.0.1:8080, or the next free
// port when 8080 is taken): instances are local processes running the esbuild bundle with
// Cloud Run's env contract; every save under src/ is a new revision (try editing src/version.ts
// and GET /version). Agents may read folders under AGENTS_REPO_ROOT (default: this folder).
export default defineDevfile({
  name: 'ai-service',
  simulation: { cloudRun: { enabled: true } },
  services: {
    ai: {
      src: ['src'],
      build: { type: 'esbuild', entry: 'src/server.ts' },
      cloudRun: { service: 'service.yaml' },
    },
  },
  // DEVLOOP_URL_AI is where devloop serves `ai`.
  tests: [{ name: 'health and an agent', command: 'node scripts/smoke.mjs' }],
});
