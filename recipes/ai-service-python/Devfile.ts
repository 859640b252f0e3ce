import { defineDevfile } from 'devloop';

// The Python ai-service behind devloop's Cloud Run simulator (http://127.0.0.1:8080, or the next
// free port when 8080 is taken): instances are local processes running app/serve.py (uvicorn)
// in a venv with Cloud Run's env contract. The build only syntax-checks app/ and digests it
// (tools/build.py): every save under app/ is a new revision (try editing app/version.py and
// GET /version), and a syntax error keeps the last good one serving. The venv: .venv here (see README.md),
// or DEVLOOP_PYTHON naming another one's python. Agents may read folders under AGENTS_REPO_ROOT
// (default: this folder).
const python = process.env.DEVLOOP_PYTHON || '.venv/bin/python';

export default defineDevfile({
  name: 'ai-service-python',
  simulation: { cloudRun: { enabled: true, instances: 'process' } },
  services: {
    ai: {
      runtime: 'cloud-run',
      src: ['app'],
      // Bytecode caches are not sources: without this, the first import would look like an edit.
      ignore: ['**/__pycache__/**', '**/*.pyc'],
      build: { type: 'command', command: `${JSON.stringify(python)} tools/build.py`, outputs: ['.devloop/app.sha256'] },
      command: [python, '-m', 'app.serve'],
      env: { PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' },
      cloudRun: { service: 'service.yaml' },
    },
  },
  // DEVLOOP_URL_AI is where devloop serves `ai`.
  tests: [{ name: 'the API', command: `${JSON.stringify(python)} -m pytest -q` }],
});
