/**
 * The CLI entry: parses argv, builds the global options, runs one command, exits with its code.
 * Exit codes: 0 ok, 1 failed, 2 usage or Devfile error, 130 interrupted, 70 internal bug.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { installLastResort, installOutputGuard } from './last-resort.js';
import type { GlobalOptions } from './shared.js';

// Each command's module (and what it pulls in: the engine, the plugins, esbuild, dockerode, Ink)
// is imported inside its action, so `--version`, `--help` and a bad flag load only commander.
// The codes main() returns itself; bin/shared.ts's EXIT has the same values for the commands.
const EXIT_OK = 0;
const EXIT_USAGE = 2;

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

function globals(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals() as { file?: string; env: string; output: 'plain' | 'json'; tui: boolean; cwd?: string; color: boolean; context?: string };
  // The engine's plugins read it from the environment (plugins/kubernetes/context.ts): they see no CLI options.
  if (o.context) process.env.DEVLOOP_KUBE_CONTEXT = o.context;
  const isCi = !!process.env.CI && process.env.CI !== 'false';
  return {
    file: o.file,
    env: o.env,
    output: o.output,
    tui: o.tui && !isCi && !!process.stdout.isTTY,
    cwd: o.cwd ?? process.cwd(),
    color: o.color && !!process.stdout.isTTY && !process.env.NO_COLOR,
    context: o.context,
  };
}

/** bin/shared.ts, loaded on first use: it brings the Devfile loader, the engine and the reporters. */
const shared = () => import('./shared.js');

export function buildProgram(run: (fn: () => Promise<number>, cmd: Command) => Promise<void>): Command {
  const program = new Command('devloop')
    .description('A fast inner loop for services on Cloud Run and GKE Autopilot, simulated faithfully on one machine.')
    .version(pkg.version, '-v, --version')
    .option('-f, --file <path>', 'Devfile to use (default: Devfile.ts here or in a parent folder)')
    .option('-e, --env <name>', 'environment from the Devfile (local, staging, prod, ...)', 'local')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['plain', 'json']).default('plain'))
    .option('--no-tui', 'plain line output even on a terminal')
    .option('--no-color', 'no colours')
    .option('-C, --cwd <dir>', 'run as if started in <dir>')
    .option('--context <name>', 'kube context for Kubernetes services (default: the Devfile\'s kubernetes.context, else the kubeconfig\'s current one); a non-local one must be in kubernetes.allowContexts')
    .showSuggestionAfterError(true)
    .exitOverride();

  program.command('init')
    .description('write a Devfile.ts in this folder (optionally converted from a gke-local.yaml), or start a project from a template')
    .argument('[dir]', 'the folder (default: this one); created when missing')
    .option('--from <file>', 'convert an old gke-local.yaml')
    .option('--template <name>', 'copy a whole starter project into a new or empty folder: ai-service (an agent service on devloop/agents)')
    .option('--name <name>', 'project name (default: the folder name)')
    .option('--force', 'overwrite an existing Devfile.ts', false)
    .action((dir: string | undefined, o, cmd) => run(async () => (await import('./commands/init.js')).init(globals(cmd), { from: o.from, name: o.name, force: o.force, template: o.template, dir }), cmd));

  program.command('up')
    .description('build, deploy and watch every service (or the ones named); Ctrl-C stops them all')
    .argument('[services...]', 'only these services (and what they depend on)')
    .option('--manual', 'start in manual trigger mode: changes wait for "devloop deploy <service>"', false)
    .option('--no-watch', 'build and deploy once, do not watch files')
    .option('--no-dashboard', 'do not serve the web dashboard (http://127.0.0.1:10350/ by default; "devloop dashboard" starts it later)')
    .action((services: string[], o, cmd) => run(async () => (await import('./commands/up.js')).up(globals(cmd), { services, manual: o.manual, watch: o.watch, dashboard: o.dashboard }), cmd));

  program.command('dashboard')
    .description('print the URL of the running session\'s web dashboard, starting it if it was off (services, logs, revisions, costs, charts in a browser)')
    .action((_o, cmd) => run(async () => (await import('./commands/dashboard.js')).dashboardCommand(globals(cmd)), cmd));

  program.command('ci')
    .description('build and deploy once, wait until every service is healthy, run the Devfile\'s tests, exit 0; exit 1 at the first failure')
    .argument('[services...]', 'only these services (and what they depend on)')
    .option('--timeout <duration>', 'give up after this long', '30m')
    .option('--readiness-timeout <duration>', 'a service must be healthy this long after its deploy', '5m')
    .option('--grace <duration>', 'how long a failure (crash, failed build, unhealthy) may last before ci fails', '0s')
    .option('--snapshot <file>', 'write the final state of every service as JSON')
    .option('--junit <file>', 'write a JUnit XML report (one case per service readiness and per test)')
    .option('--keep', 'leave the services running afterwards', false)
    .action((services: string[], o, cmd) => run(async () => {
      const { parseDuration } = await shared();
      const ciOpts = {
        services,
        timeoutMs: parseDuration(o.timeout, '--timeout'),
        readinessTimeoutMs: parseDuration(o.readinessTimeout, '--readiness-timeout'),
        graceMs: parseDuration(o.grace, '--grace'),
        keep: o.keep,
        snapshot: o.snapshot,
        junit: o.junit,
      };
      return (await import('./commands/ci.js')).ci(globals(cmd), ciOpts);
    }, cmd));

  program.command('deploy')
    .description('rebuild and redeploy one service in the running session and wait for it; with --diff, show what applying the Kubernetes services would change (server-side dry run) and exit 0 when nothing, 1 when something, 2 on an error')
    .argument('[service]', 'the service (with --diff: default every Kubernetes service)')
    .option('--timeout <duration>', 'how long to wait for the result', '10m')
    .option('--diff', 'change nothing: diff each object with the API server\'s dry run of its apply', false)
    .action((service: string | undefined, o, cmd) => run(async () => {
      const deploy = await import('./commands/deploy.js');
      if (o.diff) return deploy.deployDiff(globals(cmd), service);
      return deploy.deploy(globals(cmd), service, (await shared()).parseDuration(o.timeout, '--timeout'));
    }, cmd));

  program.command('logs')
    .description('show the logs of a service (or all) from the current or last session')
    .argument('[service]')
    .option('-F, --follow', 'keep printing new lines', false)
    .option('--since <time>', 'only lines newer than a duration (10m) or a timestamp')
    .action((service: string | undefined, o, cmd) => run(async () => (await import('./commands/logs.js')).logs(globals(cmd), service, { follow: o.follow, since: o.since }), cmd));

  program.command('debug')
    .description('restart a Node service of the running session with the inspector on 127.0.0.1 and print where to attach')
    .argument('<service>')
    .option('--port <port>', 'inspector port (default: a free one)')
    .action((service: string, o, cmd) => run(async () => (await import('./commands/debug.js')).debug(globals(cmd), service, o.port ? Number(o.port) : undefined), cmd));

  program.command('profile')
    .description('CPU profile (or heap snapshot) of a Node service of the running session, through its inspector; prints the functions with the most self time')
    .argument('<service>')
    .option('--seconds <n>', 'how long to sample (Ctrl-C stops early)', (v) => { const n = Number(v); if (!(n > 0 && n <= 3600)) throw new InvalidArgumentError('expected a number of seconds from 0 to 3600'); return n; }, 5)
    .option('--heap', 'take a heap snapshot instead (.heapsnapshot)', false)
    .option('--out <file>', 'where to write it (default: .devloop/profiles/SERVICE-TIME.cpuprofile)')
    .action((service: string, o, cmd) => run(async () => (await import('./commands/profile.js')).profile(globals(cmd), service, { seconds: o.seconds, heap: o.heap, out: o.out }), cmd));

  program.command('down')
    .description('stop the running session and remove everything devloop started, including leftovers of a crash')
    .action((_o, cmd) => run(async () => (await import('./commands/down.js')).down(globals(cmd)), cmd));

  program.command('status')
    .description('show every service: phase, build, image, URL, health, and why it waits')
    .action((_o, cmd) => run(async () => (await import('./commands/status.js')).status(globals(cmd)), cmd));

  program.command('render')
    .description('print the Kubernetes objects devloop would apply (a YAML stream, as skaffold render), or the resolved Devfile when no service deploys to a cluster (YAML, or JSON with -o json); with --monitoring, writes the Prometheus alert rules; with --target gke|cloudrun, the production manifests for --env')
    .argument('[services...]', 'only these services\' objects')
    .option('--devfile', 'print the Devfile as resolved for the environment instead', false)
    .option('--monitoring', 'write the Prometheus recording and alerting rules (rule file, PrometheusRule, GMP Rules) and print their paths', false)
    .option('--out <dir>', 'with --monitoring: the folder to write to (default: .devloop/monitoring/rendered in the project); with --target: write the files there and print their paths (default: a YAML stream on stdout)')
    .option('--target <gke|cloudrun>', 'render what production needs for --env on GKE Autopilot (Deployments, Services, HPAs, PDBs, NetworkPolicies, admitted by Autopilot) or Cloud Run (Service YAML for gcloud run services replace), with the monitoring rules')
    .option('--image <service=ref>', 'with --target: the pushed image of a service (repeatable); a service without one gets its image field, else a placeholder', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .action((services: string[], o, cmd) => run(async () => (await import('./commands/render.js')).render(globals(cmd), { services, devfile: o.devfile, monitoring: o.monitoring, out: o.out, target: o.target, images: o.image }), cmd));

  program.command('doctor')
    .description('check Node, Docker, the registry, the cluster (context, API server, RBAC, its registry) and file watching; say how to fix what is missing')
    .action((_o, cmd) => run(async () => (await import('./commands/doctor.js')).doctor(globals(cmd)), cmd));

  const cluster = program.command('cluster').description('a local kind cluster with a local registry wired as kind documents it (needs kind, docker, kubectl)');
  const clusterOpts = (c: Command) => c
    .option('--name <name>', 'kind cluster name (context kind-NAME)', 'devloop')
    .option('--registry-port <port>', 'host port of the registry on 127.0.0.1', (v) => { const n = Number(v); if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('expected a port number (1-65535)'); return n; }, 5001);
  clusterOpts(cluster.command('create').description('create (or finish wiring) the cluster and its registry; each step already done is skipped'))
    .action((o, cmd) => run(async () => (await import('./commands/cluster.js')).clusterCreate(globals(cmd), { name: o.name, registryPort: o.registryPort }), cmd));
  clusterOpts(cluster.command('delete').description('delete the cluster (the registry and its images stay unless --registry)'))
    .option('--registry', 'also remove the registry container', false)
    .action((o, cmd) => run(async () => (await import('./commands/cluster.js')).clusterDelete(globals(cmd), { name: o.name, registryPort: o.registryPort, registry: o.registry }), cmd));

  const autopilot = program.command('autopilot').description('GKE Autopilot simulation: admission checks and node planning (no cluster needed), Spot preemption in a running session');
  const bursting = (o: { bursting?: boolean }) => (o.bursting === undefined ? undefined : o.bursting);
  autopilot.command('check')
    .description('run manifests through the Autopilot admission rules: mutations, warnings, Warden denials, cost (exit 1 if denied, 2 if an input is invalid; other YAML is skipped with a note)')
    .argument('[files...]', 'YAML files or folders; - (or a pipe) reads stdin')
    .option('--bursting', 'cluster supports bursting (default: from the GKE version)')
    .option('--no-bursting', 'cluster without bursting (250m steps, limits = requests)')
    .option('--gke-version <version>', 'GKE version of the simulated cluster')
    .option('--region <region>', 'region for prices and zones')
    .action((files: string[], o, cmd) => run(async () => {
      const g = globals(cmd);
      return (await import('./commands/autopilot.js')).autopilotCheck({ output: g.output, cwd: g.cwd }, files, { bursting: bursting(o), gkeVersion: o.gkeVersion, region: o.region });
    }, cmd));
  autopilot.command('simulate')
    .description('plan pending pods onto auto-provisioned nodes: node plan, timeline, hourly cost')
    .argument('[files...]', 'YAML files or folders; - (or a pipe) reads stdin')
    .option('--bursting', 'cluster supports bursting (default: from the GKE version)')
    .option('--no-bursting', 'cluster without bursting')
    .option('--gke-version <version>', 'GKE version of the simulated cluster')
    .option('--region <region>', 'region for prices and zones')
    .addOption(new Option('--provisioning <mode>', 'node boot delay: realistic (~100 s) or fast').choices(['realistic', 'fast']))
    .option('--scale-down-delay <duration>', 'how long an empty node lives')
    .option('--until <duration>', 'stop the simulation at this time')
    .option('--cluster', 'apply to the local cluster of the kube context instead: admission by devloop\'s webhook, nodes made as kwok nodes (no container runs); prints nodes and cost, then removes it all')
    .option('--namespace <name>', 'with --cluster: namespace for objects without one (default: a new devloop-sim-XXXXXX, deleted at the end)')
    .option('--watch', 'with --cluster: keep running after the pods settle, printing changes, until Ctrl-C')
    .option('--timeout <duration>', 'with --cluster: how long the pods may take to settle (default 10m)')
    .action((files: string[], o, cmd) => run(async () => {
      const g = globals(cmd);
      const flags = { bursting: bursting(o), gkeVersion: o.gkeVersion, region: o.region, provisioning: o.provisioning, scaleDownDelay: o.scaleDownDelay, until: o.until };
      if (o.cluster) return (await import('./commands/autopilot-cluster.js')).autopilotSimulateCluster({ output: g.output, cwd: g.cwd }, files, { ...flags, namespace: o.namespace, watch: o.watch, timeout: o.timeout });
      if (o.namespace || o.watch || o.timeout) { process.stderr.write('error: --namespace, --watch and --timeout need --cluster (add --cluster to run the simulation in the local cluster, or drop them)\n'); return 2; }
      return (await import('./commands/autopilot.js')).autopilotSimulate({ output: g.output, cwd: g.cwd }, files, flags);
    }, cmd));

  autopilot.command('preempt')
    .description('preempt a Spot node the running session\'s Autopilot node provisioner made, as GKE does: its pods are evicted and rescheduled onto a new node (exit 1 if the node is not one)')
    .argument('<node>', 'node name (kubectl get nodes -l cloud.google.com/gke-spot=true)')
    .action((node: string, _o, cmd) => run(async () => (await import('./commands/autopilot-preempt.js')).autopilotPreempt(globals(cmd), node), cmd));

  const agentsCmd = program.command('agents').description('the Ghostbusters expert crew: find security, build, manifest, quality, test and architecture problems in a repository, and fix the safe ones');
  agentsCmd.command('run')
    .description('run the experts over a repository: findings with file:line:col, rule, severity, confidence and fix (exit 1 if findings at or above --fail-on remain, 2 on bad input)')
    .argument('[path]', 'the repository (default: the current folder)')
    .option('--agent <ids>', 'only these experts, comma-separated (security, build, manifests, quality, tests, architecture)')
    .addOption(new Option('--output <format>', 'output format (default: text, or json with the global -o json)').choices(['text', 'json', 'sarif']))
    .option('--fix', 'write the safe fixes as .devloop/agents/fixes-<time>.patch; nothing else changes', false)
    .option('--record <file>', 'write the run record (each expert\'s step: input, output, duration, error) as JSON')
    .option('--apply', 'apply the safe fixes, then run the experts again to show the fixed findings gone', false)
    .addOption(new Option('--fail-on <severity>', 'lowest severity that fails the run').choices(['error', 'warning', 'note']).default('error'))
    .option('--explain', 'add one short explanation per finding from the model in Devfile.ts (ai.ghostbusters.model); a failing model is a warning', false)
    .option('--token-budget <n>', 'model tokens --explain may spend (default 20000)')
    .action((repoPath: string | undefined, o, cmd) => run(async () => {
      const g = globals(cmd);
      return (await import('./commands/agents.js')).agents({ cwd: g.cwd, path: repoPath, agent: o.agent, output: o.output ?? (g.output === 'json' ? 'json' : 'text'), fix: o.fix, apply: o.apply, failOn: o.failOn, record: o.record, explain: o.explain, tokenBudget: o.tokenBudget });
    }, cmd));

  const hooks = program.command('hooks').description('a git pre-push hook that runs devloop ci and the security expert, blocking the push when either fails');
  hooks.command('install')
    .description('add the pre-push hook in the folder git runs hooks from (core.hooksPath and worktrees respected); an existing pre-push hook is kept as pre-push.devloop-previous and run first; the hook runs the project\'s node_modules/.bin/devloop, else this devloop; bypass once with DEVLOOP_SKIP_HOOKS=1 git push or git push --no-verify')
    .action((_o, cmd) => run(async () => (await import('./commands/hooks.js')).hooksInstall(globals(cmd)), cmd));
  hooks.command('uninstall')
    .description('remove devloop\'s pre-push hook (only one devloop wrote) and restore the hook it chained; nothing to remove is not an error')
    .action((_o, cmd) => run(async () => (await import('./commands/hooks.js')).hooksUninstall(globals(cmd)), cmd));
  hooks.command('status')
    .description('say whether the pre-push hook is devloop\'s, another one, or none, and which project it checks')
    .action((_o, cmd) => run(async () => (await import('./commands/hooks.js')).hooksStatus(globals(cmd)), cmd));

  program.command('validate')
    .description('check the Devfile for every environment it declares (and local): secrets each environment lacks, resources GKE Autopilot would change, Cloud Run settings production would refuse (exit 2 with each problem at its field path)')
    .action((_o, cmd) => run(async () => (await import('./commands/validate.js')).validate(globals(cmd)), cmd));

  const models = program.command('models').description('local model serving: ONNX models behind the Open Inference Protocol v2 (as KServe and Triton serve it)');
  const intFlag = (min: number, what: string) => (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected ${what}`);
    return n;
  };
  models.command('serve')
    .description('serve one .onnx model (or a folder of numbered versions) in the foreground: /v2/models/NAME/infer, /v1/embeddings for embedding models, /metrics; reloads the file when it changes')
    .argument('<file>', 'a .onnx file, or a folder holding 1/model.onnx, 2/model.onnx, ...')
    .option('--name <name>', 'the model\'s name in URLs (default: the file name without .onnx)')
    .option('--port <port>', 'port on 127.0.0.1 (default 8000; 0 picks a free one)', intFlag(0, 'a port from 0 to 65535'))
    .option('--host <host>', 'address to listen on (default 127.0.0.1)')
    .option('--gpu', 'run on the CUDA execution provider when onnxruntime-node has it and a GPU answers; else CPU, said once', false)
    .option('--max-batch-size <k>', 'merge concurrent requests along the batch dimension up to K rows (default 1: no batching)', intFlag(1, 'an integer of at least 1'))
    .option('--max-batch-delay-ms <d>', 'how long a request may wait for others to batch with (default 0)', intFlag(0, 'an integer of at least 0'))
    .option('--instances <n>', 'sessions running batches in parallel, each on its own thread (default 1)', intFlag(1, 'an integer of at least 1'))
    .option('--max-queue <n>', 'requests that may wait; beyond it the answer is 429 (default 128)', intFlag(1, 'an integer of at least 1'))
    .action((file: string, o, cmd) => run(async () => {
      const g = globals(cmd);
      return (await import('./commands/models.js')).modelsServe(file, { cwd: g.cwd, name: o.name, port: o.port, host: o.host, gpu: o.gpu, maxBatchSize: o.maxBatchSize, maxBatchDelayMs: o.maxBatchDelayMs, instances: o.instances, maxQueue: o.maxQueue });
    }, cmd));

  const cloudrun = program.command('cloudrun').description('Cloud Run simulation: check and serve Knative Service YAML locally');
  cloudrun.command('validate')
    .description('check service.yaml files against Cloud Run\'s rules; print what each deploys (exit 2 on any error)')
    .argument('<files...>', 'Knative Service YAML files')
    .action((files: string[], _o, cmd) => run(() => {
      const g = globals(cmd);
      return import('./commands/cloudrun.js').then((m) => m.cloudrunValidate({ output: g.output, cwd: g.cwd, color: g.color }, files));
    }, cmd));
  cloudrun.command('replace')
    .description('serve the service a YAML file describes (its image) behind the Cloud Run simulator; re-applied on every save')
    .argument('<file>', 'Knative Service YAML (as gcloud run services replace takes)')
    .option('--port <port>', 'port of the service URL on 127.0.0.1 (default: the container port, or the next free one)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('expected a port from 1 to 65535');
      return n;
    })
    .addOption(new Option('--instances <kind>', 'instances as containers or processes').choices(['auto', 'docker', 'process']))
    .addOption(new Option('--preset <preset>', 'scaling timings: dev (quick) or parity (Cloud Run\'s)').choices(['dev', 'parity']))
    .option('--command <cmd>', 'the command each process instance runs, e.g. "node server.js" (with --instances process, or without Docker)')
    .action((file: string, o, cmd) => run(() => import('./commands/cloudrun.js').then((m) => m.cloudrunReplace(globals(cmd), file, { port: o.port, instances: o.instances, preset: o.preset, command: o.command })), cmd));
  cloudrun.command('update-traffic')
    .description('change a running Cloud Run service\'s traffic (as gcloud run services update-traffic); kept across deploys until its traffic block changes')
    .argument('<service>', 'the service (its name in Devfile.ts, or in the replaced YAML)')
    .option('--to-revisions <list>', 'REVISION=PERCENT,... adding up to 100; LATEST is the latest ready revision')
    .option('--to-latest', 'all traffic to the latest ready revision')
    .option('--set-tags <list>', 'TAG=REVISION,... (LATEST allowed); each tag gets its own URL')
    .option('--remove-tags <list>', 'TAG,...')
    .option('--clear-tags', 'remove every tag')
    .action((service: string, o, cmd) => run(() => import('./commands/cloudrun.js').then((m) => m.cloudrunUpdateTraffic(globals(cmd), service, { toRevisions: o.toRevisions, toLatest: o.toLatest, setTags: o.setTags, removeTags: o.removeTags, clearTags: o.clearTags })), cmd));

  program.command('parity')
    .description('compare what --env renders for production with what production runs (a kubectl get -o yaml or gcloud run services describe --format export file, or a folder of them); print each difference that changes behaviour, exit 1 when any, 0 when none')
    .requiredOption('--against <path>', 'the production export: a YAML file (documents or a kind: List) or a folder of .yaml/.yml files')
    .addOption(new Option('--target <target>', 'what production is (default: from the export\'s kinds)').choices(['gke', 'cloudrun']))
    .action((o, cmd) => run(async () => (await import('./commands/parity.js')).parity(globals(cmd), { against: o.against, target: o.target }), cmd));

  // devloop release (issue 17 part 4b): bin/commands/release.ts, plugins/release/.
  const release = program.command('release')
    .description('ship --env\'s rendered objects: on GKE (--target gke) to its kube context as a rolling update, a canary by replicas or a blue-green switch, each new pod gated (Ready, error ratio of a burst of requests) before it gets traffic; on Cloud Run (--target cloudrun) by revisions and traffic steps (gcloud, or --via simulator); rolled back on failure; recorded under .devloop/releases')
    .argument('[services...]', 'only these services')
    .addOption(new Option('--strategy <strategy>', 'how the new images go out').choices(['rolling', 'canary', 'blue-green']).default('rolling'))
    .option('--steps <list>', 'canary: percentages of the stable replica count the canary runs at, in order', '25,50,100')
    .option('--max-error-ratio <ratio>', 'canary: a gate fails when more than this share of its requests fail', '0.05')
    .option('--image <service=ref>', 'the pushed image of a service, by digest (repeatable); default for a docker build: built and pushed to environments.<env>.registry', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--timeout <duration>', 'each rollout and each canary step must be ready within this', '3m')
    .option('--dry-run', 'print the plan (objects, steps, gates) and change nothing', false)
    .option('--yes', 'confirm a release to a non-local context without asking', false)
    .addOption(new Option('--target <target>', 'gke: the Deployments (as above); cloudrun: the Cloud Run YAML, by revisions and traffic steps gated through the new revision\'s tag URL').choices(['gke', 'cloudrun']).default('gke'))
    .addOption(new Option('--via <runner>', 'cloudrun: gcloud (default when on PATH), or simulator: a running devloop cloudrun replace session stands in').choices(['gcloud', 'simulator']))
    .option('--service-file <file>', 'cloudrun --via simulator: the YAML the session serves (default: the file of its cloudrun replace)')
    .option('--step-wait <duration>', 'cloudrun: how long each traffic step holds (users on both revisions) before its gate', '0s')
    .action((services: string[], o, cmd) => run(async () => (await import('./commands/release.js')).release(globals(cmd), { target: o.target, via: o.via, serviceFile: o.serviceFile, stepWait: o.stepWait, services, strategy: o.strategy, steps: o.steps, maxErrorRatio: o.maxErrorRatio, dryRun: o.dryRun, yes: o.yes, images: o.image, timeout: o.timeout }), cmd));
  release.command('history')
    .description('list the releases recorded under .devloop/releases (of --env when given), oldest first, with their outcomes')
    .action((_o, cmd) => run(async () => {
      // Every environment's releases unless --env was given (its default, local, would hide the rest).
      const envGiven = cmd.getOptionValueSourceWithGlobals('env') === 'cli';
      return (await import('./commands/release.js')).releaseHistory(globals(cmd), envGiven ? globals(cmd).env : undefined);
    }, cmd));
  release.command('rollback')
    .description('re-apply (rolling) the images of the successful release before the newest successful one of --env')
    .argument('[service]', 'only this service')
    .option('--timeout <duration>', 'the rollout must be ready within this', '3m')
    .option('--yes', 'confirm a rollback on a non-local context without asking', false)
    .action((service: string | undefined, o, cmd) => run(async () => (await import('./commands/release.js')).releaseRollback(globals(cmd), service, { yes: o.yes, timeout: o.timeout }), cmd));

  return program;
}

/** The first argument that is not a global option or its value: the command's name. */
function firstOperand(args: string[]): string | undefined {
  const withValue = new Set(['-f', '--file', '-e', '--env', '-o', '--output', '-C', '--cwd', '--context']);
  for (let i = 0; i < args.length; i++) {
    if (withValue.has(args[i])) i++;
    else if (!args[i].startsWith('-')) return args[i];
  }
  return undefined;
}

export async function main(argv: string[]): Promise<number> {
  let code: number = EXIT_OK;
  const program = buildProgram(async (fn, cmd) => {
    try {
      code = await fn();
    } catch (err) {
      const g = (() => { try { return globals(cmd); } catch { return { output: 'plain' as const, color: false }; } })();
      code = (await shared()).reportError(err, g);
    }
  });
  // `agents run` has its own --output (text|json|sarif): global options after `agents` would take
  // it as the global -o (plain|json) and refuse sarif, so for that command they go before it.
  if (firstOperand(argv.slice(2)) === 'agents') program.enablePositionalOptions();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT_OK;
      // Commander has printed the message; usage errors exit 2 like other CLIs.
      return EXIT_USAGE;
    }
    throw err;
  }
  if (program.args.length === 0 && argv.length <= 2) {
    program.outputHelp();
  }
  return code;
}

installLastResort();
// `devloop up | head`: a closed stdout/stderr stops the command cleanly, not as a bug (last-resort.ts).
installOutputGuard();
const code = await main(process.argv);
process.exitCode = code;
// Give stdout a moment to drain; plugins must not keep the process alive after a command.
setTimeout(() => process.exit(code), 50).unref();
