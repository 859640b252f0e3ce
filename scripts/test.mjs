#!/usr/bin/env node
// Runs every *.test.ts / *.test.tsx under the source folders with node's own test runner.
// Node 20 has no glob support in `--test`, so the file list is collected here.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const roots = ['core', 'plugins', 'ui', 'bin', 'test'];
const skipDirs = new Set(['node_modules', 'dist', 'fixtures']);
const filter = process.argv.slice(2);

function collect(dir, out) {
  let entries;
  try { entries = readdirSync(dir); } catch { return out; }
  for (const name of entries) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) { if (!skipDirs.has(name)) collect(p, out); }
    else if (/\.test\.tsx?$/.test(name)) out.push(relative(root, p));
  }
  return out;
}

let files = roots.flatMap((r) => collect(join(root, r), [])).sort();
if (filter.length) files = files.filter((f) => filter.some((x) => f.includes(x)));
if (files.length === 0) { console.error('no test files matched'); process.exit(1); }

// A backstop for hangs: Node 20 applies --test-timeout to each test file as a whole (its children
// do not inherit it), so a file that hangs fails after this long instead of holding CI for its
// 90 minutes. Tests and suites also carry their own, shorter timeouts.
const fileTimeoutMs = Number(process.env.DEVLOOP_TEST_FILE_TIMEOUT_MS ?? 600_000);
// Two files at a time fits the 2-core machines this runs on; DEVLOOP_TEST_CONCURRENCY=4 checks
// that the suite holds under more contention.
const concurrency = Number(process.env.DEVLOOP_TEST_CONCURRENCY ?? 2);

// The infrastructure the integration suites talk to. A quick probe (well under a second when all
// is there); what is missing is set up as test/infra/up.sh does (root on Debian), or named with
// the way to get it, and nothing runs: a missing daemon must not turn into a wall of failures.
// DEVLOOP_TEST_INFRA=skip runs the tests without the check (unit tests on a laptop, say).
const REGISTRY_URL = 'http://127.0.0.1:5001/v2/';
const BASE_IMAGES = ['devloop-test/busybox:latest', 'devloop-test/node:20'];

function run(cmd, cmdArgs, timeout = 15_000) {
  const r = spawnSync(cmd, cmdArgs, { encoding: 'utf8', timeout, stdio: ['ignore', 'pipe', 'pipe'] });
  const text = `${r.stderr ?? ''}${r.stdout ?? ''}`.trim().split('\n').find((l) => l.trim()) ?? '';
  if (r.error?.code === 'ENOENT') return { ok: false, why: `${cmd} is not installed (not on PATH)`, absent: true };
  if (r.error) return { ok: false, why: `${cmd} ${cmdArgs[0]}: ${r.error.code === 'ETIMEDOUT' ? `no answer within ${timeout / 1000} s` : r.error.message}` };
  return r.status === 0 ? { ok: true } : { ok: false, why: text || `exit ${r.status}` };
}

async function registryAnswers() {
  try {
    const res = await fetch(REGISTRY_URL, { signal: AbortSignal.timeout(3_000) });
    return res.status === 200 ? { ok: true } : { ok: false, why: `GET ${REGISTRY_URL} answered ${res.status}` };
  } catch (err) {
    return { ok: false, why: `nothing answers at ${REGISTRY_URL} (${err.cause?.code ?? err.name})` };
  }
}

async function probe() {
  const missing = [];
  const docker = run('docker', ['info', '--format', '{{.ServerVersion}}']);
  if (!docker.ok) {
    missing.push({ what: 'docker', why: docker.absent ? 'the docker CLI is not installed' : `no Docker daemon answers \`docker info\`: ${docker.why}`,
      how: 'install Docker Engine (https://docs.docker.com/engine/install/) and start dockerd; as root on Debian, `bash test/infra/docker.sh` does both' });
  }
  const registry = await registryAnswers();
  if (!registry.ok) {
    missing.push({ what: 'registry', why: `no registry on 127.0.0.1:5001: ${registry.why}`,
      how: 'as root on Debian, `bash test/infra/registry.sh` (Debian\'s docker-registry on 127.0.0.1:5001); elsewhere any Docker Distribution registry there, e.g. `docker run -d -p 127.0.0.1:5001:5000 registry:2`' });
  }
  if (docker.ok) {
    const absent = BASE_IMAGES.filter((image) => !run('docker', ['image', 'inspect', '--format', '{{.Id}}', image]).ok);
    if (absent.length) {
      missing.push({ what: 'images', why: `base image${absent.length > 1 ? 's' : ''} ${absent.join(', ')} not in the daemon`,
        how: 'as root on Debian, `bash test/infra/images.sh` builds them from busybox-static and this machine\'s node, without pulling (see test/infra/README.md)' });
    }
  } else {
    missing.push({ what: 'images', why: `base images ${BASE_IMAGES.join(', ')} (not checked: no Docker daemon)`,
      how: 'once dockerd runs: as root on Debian, `bash test/infra/images.sh`' });
  }
  // The local Kubernetes cluster (test/infra/k8s-up.sh): its kubeconfig and an API that answers.
  const k8sState = process.env.DEVLOOP_K8S_STATE ?? '/tmp/devloop-k8s';
  const kubeconfig = join(k8sState, 'admin.kubeconfig');
  const kubectl = join(k8sState, 'bin', 'kubectl');
  const k8s = existsSync(kubeconfig) && existsSync(kubectl)
    ? run(kubectl, ['--kubeconfig', kubeconfig, 'get', '--raw', '/readyz'])
    : { ok: false, why: `${kubeconfig} does not exist` };
  if (!k8s.ok) {
    missing.push({ what: 'kubernetes', why: `no local Kubernetes test cluster answers: ${k8s.why}`,
      how: 'as root on Debian, `bash test/infra/k8s-up.sh` (builds Kubernetes from the Go module proxy once, ~15 min on 2 cores, then ~15 s; see test/infra/README.md)' });
  }
  // Prometheus' promtool and Alertmanager (test/infra/monitoring.sh): the monitoring rule tests
  // run the real binaries. Debian names Alertmanager prometheus-alertmanager; upstream, alertmanager.
  const promtool = run('promtool', ['--version']);
  let alertmanager = run('prometheus-alertmanager', ['--version']);
  if (alertmanager.absent) alertmanager = run('alertmanager', ['--version']);
  if (!promtool.ok || !alertmanager.ok) {
    const why = [!promtool.ok && (promtool.absent ? 'promtool is not installed' : `promtool --version failed: ${promtool.why}`),
      !alertmanager.ok && (alertmanager.absent ? 'neither prometheus-alertmanager nor alertmanager is installed' : `alertmanager --version failed: ${alertmanager.why}`)].filter(Boolean).join('; ');
    missing.push({ what: 'monitoring', why,
      how: 'as root on Debian, `bash test/infra/monitoring.sh` (Debian\'s prometheus and prometheus-alertmanager, never started); elsewhere Prometheus and Alertmanager from https://prometheus.io/download/ on PATH' });
  }
  // Jaeger v2 (test/infra/jaeger.sh): the tracing tests run the real binary.
  const jaeger = run('jaeger', ['version']);
  if (!jaeger.ok) {
    missing.push({ what: 'jaeger', why: jaeger.absent ? 'jaeger is not installed' : `jaeger version failed: ${jaeger.why}`,
      how: 'as root, `bash test/infra/jaeger.sh` (builds Jaeger v2 from the Go module proxy once, 5-15 min on 2 cores; needs go); elsewhere the release from https://www.jaegertracing.io/download/ on PATH' });
  }
  // The ai-service-python template's venv (test/infra/python.sh): its pytest suite runs in it.
  const python = process.env.DEVLOOP_PYTHON ?? '/var/cache/devloop-python/ai-service-venv/bin/python';
  const venv = run(python, ['-c', 'import fastapi, uvicorn, prometheus_client, pytest']);
  if (!venv.ok) {
    missing.push({ what: 'python', why: venv.absent ? `no Python venv at ${python}` : `${python} cannot import the recipe's requirements: ${venv.why}`,
      how: '`bash test/infra/python.sh` (python3 -m venv, then pip install -r recipes/ai-service-python/requirements.txt from PyPI); or set DEVLOOP_PYTHON to a venv\'s python with them installed' });
  }
  const tmux = run('tmux', ['-V']);
  if (!tmux.ok) {
    missing.push({ what: 'tmux', why: tmux.absent ? 'tmux is not installed' : `tmux -V failed: ${tmux.why}`,
      how: '`apt-get install tmux` (Debian/Ubuntu), `brew install tmux` (macOS), or your package manager\'s tmux' });
  }
  // The web dashboard's browser tests drive a real Chromium (puppeteer-core, no download).
  const chromium = run(process.env.DEVLOOP_CHROMIUM ?? 'chromium', ['--version']);
  if (!chromium.ok) {
    missing.push({ what: 'chromium', why: chromium.absent ? 'chromium is not installed' : `chromium --version failed: ${chromium.why}`,
      how: '`apt-get install chromium` (Debian), or set DEVLOOP_CHROMIUM to a Chrome or Chromium binary' });
  }
  return missing;
}

function canSetUp() {
  const reasons = [];
  if (process.platform !== 'linux' || !existsSync('/etc/debian_version')) reasons.push('this is not Debian');
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) reasons.push('not running as root');
  if (!run('apt-get', ['--version']).ok) reasons.push('apt-get is missing');
  return reasons;
}

function setUp(missing) {
  const what = new Set(missing.map((m) => m.what));
  const packages = [...(what.has('tmux') ? ['tmux'] : []), ...(what.has('chromium') ? ['chromium', 'fonts-dejavu-core'] : [])];
  if (packages.length) {
    console.error(`[test] installing ${packages.join(', ')} (apt-get)`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    let r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { stdio: 'inherit', env });
    if (r.status !== 0) {
      spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
      r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { stdio: 'inherit', env });
    }
  }
  if (what.has('docker') || what.has('registry') || what.has('images')) {
    console.error('[test] setting up dockerd, the registry and the base images: bash test/infra/up.sh');
    spawnSync('bash', [join(root, 'test', 'infra', 'up.sh')], { stdio: 'inherit' });
  }
  // One script each: run when its probe failed.
  for (const [part, script, doing] of [
    ['monitoring', 'monitoring.sh', 'installing Prometheus, promtool and Alertmanager'],
    ['jaeger', 'jaeger.sh', 'building Jaeger'],
    ['python', 'python.sh', 'making the Python venv for recipes/ai-service-python'],
  ]) {
    if (!what.has(part)) continue;
    console.error(`[test] ${doing}: bash test/infra/${script}`);
    spawnSync('bash', [join(root, 'test', 'infra', script)], { stdio: 'inherit' });
  }
  if (what.has('kubernetes')) {
    console.error('[test] bringing up the local Kubernetes test cluster: bash test/infra/k8s-up.sh');
    spawnSync('bash', [join(root, 'test', 'infra', 'k8s-up.sh')], { stdio: 'inherit' });
  }
}

function report(missing, preface) {
  console.error(`npm test: ${preface}; no test was run. Missing:`);
  for (const m of missing) console.error(`  - ${m.why}\n      fix: ${m.how}`);
  console.error('Then run npm test again. (DEVLOOP_TEST_INFRA=skip runs the tests anyway; the integration suites will fail.)');
}

if (process.env.DEVLOOP_TEST_INFRA !== 'skip') {
  let missing = await probe();
  if (missing.length) {
    const cannot = canSetUp();
    if (cannot.length) {
      report(missing, `the test infrastructure is incomplete and cannot be set up here (${cannot.join(', ')}; test/infra/up.sh needs root on Debian)`);
      process.exit(1);
    }
    console.error(`[test] missing: ${missing.map((m) => m.what).join(', ')}; setting it up as test/infra/up.sh does`);
    setUp(missing);
    missing = await probe();
    if (missing.length) {
      report(missing, 'setting up the test infrastructure failed (see the output above)');
      process.exit(1);
    }
  } else if (canSetUp().length === 0) {
    // A cluster that answers may come from an older k8s-up.sh (no kwok controller, no Gateway API
    // CRDs): its reuse path adds what is missing and takes about a second otherwise.
    const r = spawnSync('bash', [join(root, 'test', 'infra', 'k8s-up.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) {
      console.error('npm test: bash test/infra/k8s-up.sh failed on the running cluster (see above); no test was run');
      process.exit(1);
    }
  }
}

// With the infrastructure checked, a test that finds no cluster fails instead of skipping.
const childEnv = process.env.DEVLOOP_TEST_INFRA === 'skip' ? process.env : { ...process.env, DEVLOOP_K8S_REQUIRE: '1' };
const args = ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, `--test-timeout=${fileTimeoutMs}`, ...files];
const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit', env: childEnv });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
