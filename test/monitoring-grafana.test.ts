// monitoring.grafana against a real Prometheus: devloop writes the Grafana provisioning under
// .devloop/monitoring/grafana/, and every series the services and Cloud Run dashboards query is
// one the real Prometheus has after a little traffic (a recorded one counts when devloop's rules
// define it and Prometheus loaded them). The Autopilot series come only with a Kubernetes target,
// so the Autopilot dashboard is checked against what AutopilotMetrics exposes instead.
// No Grafana is installed here: the note says where the files are and no grafana URL is
// published. A stand-in `grafana-server` (a small node server, not Grafana) pins how devloop
// starts one: the environment it passes, the ready check, the URL it publishes, the stop.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import type { DevfileConfig } from '../core/devfile/types.js';
import { Engine } from '../core/engine/engine.js';
import { AutopilotMetrics } from '../plugins/autopilot/metrics.js';
import { cloudRunPlugin } from '../plugins/cloud-run/index.js';
import { commandPlugin } from '../plugins/command/index.js';
import { processPlugin } from '../plugins/local-process/index.js';
import { dashboardQueries, grafanaProvisioning, metricNamesOf, type GrafanaFiles } from '../plugins/monitoring/grafana.js';
import { monitoringPlugin } from '../plugins/monitoring/plugin.js';
import { devloopRuleGroups } from '../plugins/monitoring/rules.js';
import { findFreePort } from '../plugins/shared/ports.js';
import { copyFixture, httpGet, until } from './helpers.js';

if (!(process.env.PATH ?? '').split(':').some((d) => existsSync(path.join(d, 'prometheus')))) {
  throw new Error('prometheus not on PATH: run bash test/infra/monitoring.sh (as root on Debian)');
}

type Published = { urls: Record<string, string>; notes: string[] };
const published = (e: Engine) => e.getState().extra['devloop:monitoring'] as Published | undefined;

const engines: Engine[] = [];
const roots: string[] = [];
const PATH = process.env.PATH ?? '';
after(async () => {
  process.env.PATH = PATH;
  for (const e of engines) await e.stop('test over');
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** The monitoring fixture's services, in process, with Grafana asked for. */
async function launch(grafana: boolean | { port?: number } = true, warnings: string[] = []) {
  const root = copyFixture('monitoring');
  roots.push(root);
  const web = await findFreePort();
  const devfile: DevfileConfig = {
    name: 'grafana-fixture',
    simulation: { cloudRun: { instances: 'process' } } as DevfileConfig['simulation'],
    services: {
      web: { runtime: 'cloud-run', command: ['node', 'web.js'], port: web, cloudRun: { minScale: 1 } },
      // A build step (so the build histogram has a series) and a service of its own.
      stats: { runtime: 'process', command: ['node', 'stats.js'], port: await findFreePort(), health: { http: '/' }, build: { type: 'command', command: 'true' } },
      // Exits at once and stays down: devloop_failures_total gets a series.
      broken: { runtime: 'process', command: ['node', '-e', 'process.exit(3)'], restart: 'never' },
    },
    monitoring: { prometheus: { scrapeInterval: '1s', retention: '1h' }, grafana },
  } as DevfileConfig;
  const engine = new Engine({ root, devfile, plugins: [processPlugin(), commandPlugin(), cloudRunPlugin(), monitoringPlugin()] });
  engines.push(engine);
  engine.subscribe((_s, a) => { if (a.type === 'log' && a.line.level === 'warn') warnings.push(a.line.message); });
  await engine.start();
  await until(() => ['web', 'stats'].every((s) => engine.getState().services[s]?.phase === 'healthy'), 60_000, 'web and stats healthy');
  const m = await until(() => {
    const p = published(engine);
    return p?.urls.prometheus && (p.urls.grafana || p.notes.some((n) => n.startsWith('grafana not started'))) ? p : undefined;
  }, 120_000, 'Prometheus up and Grafana started or reported');
  return { engine, root, web, m, dir: path.join(root, '.devloop', 'monitoring', 'grafana') };
}

function written(dir: string): GrafanaFiles {
  const files: GrafanaFiles = {};
  for (const f of ['provisioning/datasources/devloop.yaml', 'provisioning/dashboards/devloop.yaml', 'dashboards/devloop-services.json', 'dashboards/devloop-cloud-run.json', 'dashboards/devloop-autopilot.json']) {
    files[f] = readFileSync(path.join(dir, f), 'utf8');
  }
  return files;
}

const namesIn = (files: GrafanaFiles, dashboards: string[]) =>
  [...new Set(dashboardQueries(Object.fromEntries(dashboards.map((d) => [d, files[d]]))).flatMap(metricNamesOf))].sort();

describe('monitoring.grafana: provisioning checked against a real Prometheus', { timeout: 300_000 }, () => {
  it('without a Grafana: writes the files, every series the services and Cloud Run dashboards query exists, one note says where the files are, no grafana URL', async () => {
    // Whatever Grafana this machine may have is hidden, so the "not started" path is the one taken.
    process.env.PATH = PATH.split(':').filter((d) => !existsSync(path.join(d, 'grafana-server')) && !existsSync(path.join(d, 'grafana'))).join(':');
    const warnings: string[] = [];
    const { web, m, dir } = await launch(true, warnings);
    process.env.PATH = PATH;
    const prom = m.urls.prometheus;

    // The note: where the files are and how to point a Grafana at them (or the docker line, where an image is).
    const notes = m.notes.filter((n) => n.startsWith('grafana not started'));
    assert.equal(notes.length, 1, m.notes.join('\n'));
    assert.ok(
      notes[0] === `grafana not started: no grafana-server binary or grafana/grafana image; the provisioning files are in ${dir}: point a Grafana at them (GF_PATHS_PROVISIONING=${dir}/provisioning)`
      || (notes[0].includes('docker run --rm --network host') && notes[0].includes(`GF_PATHS_PROVISIONING=${dir}/provisioning`)),
      notes[0],
    );
    // devloop status -o json lists monitoring.grafana from these URLs (null when absent).
    assert.equal(m.urls.grafana, undefined, 'no grafana URL published');
    assert.ok(!m.notes.some((n) => n.startsWith('monitoring.grafana: not started; devloop does not run')), 'the old placeholder note is gone');

    // The files Grafana would read, pointing at this Prometheus and this folder.
    const files = written(dir);
    const ds = parse(files['provisioning/datasources/devloop.yaml']).datasources;
    assert.deepEqual(ds.map((d: { uid: string; url: string }) => [d.uid, d.url]), [['devloop-prometheus', prom]]);
    assert.equal(parse(files['provisioning/dashboards/devloop.yaml']).providers[0].options.path, path.join(dir, 'dashboards'));

    // A little traffic: good and failing requests, so the request, latency and 5xx series exist.
    for (let i = 0; i < 10; i++) assert.equal((await httpGet(`http://127.0.0.1:${web}/ok`)).status, 200);
    for (let i = 0; i < 3; i++) assert.equal((await httpGet(`http://127.0.0.1:${web}/fail`)).status, 500);

    const names = namesIn(files, ['dashboards/devloop-services.json', 'dashboards/devloop-cloud-run.json']);
    const recorded = names.filter((n) => n.includes(':'));
    const raw = names.filter((n) => !n.includes(':'));
    assert.ok(raw.length >= 15 && recorded.length >= 1, `names found: ${names.join(', ')}`);
    // Recorded series count when devloop's rules define them and this Prometheus loaded those rules.
    const defined = new Set(devloopRuleGroups().flatMap((g) => g.rules.map((r) => r.record).filter(Boolean)));
    const loaded = new Set((JSON.parse((await httpGet(`${prom}/api/v1/rules?type=record`)).body).data.groups as { rules: { name: string }[] }[]).flatMap((g) => g.rules.map((r) => r.name)));
    for (const n of recorded) {
      assert.ok(defined.has(n), `${n}: no recording rule defines it`);
      assert.ok(loaded.has(n), `${n}: Prometheus did not load the rule`);
    }
    let missing: string[] = raw;
    await until(async () => {
      const have = new Set(JSON.parse((await httpGet(`${prom}/api/v1/label/__name__/values`)).body).data as string[]);
      missing = raw.filter((n) => !have.has(n));
      return missing.length === 0;
    }, 60_000, 'every series the dashboards query in Prometheus').catch((err) => { throw new Error(`${(err as Error).message}; missing: ${missing.join(', ')}`); });
    assert.equal(warnings.filter((w) => w.includes('grafana not started')).length, 1, 'one warning');
  });

  it('the Autopilot dashboard queries only series AutopilotMetrics exposes (they need a Kubernetes target, so not this Prometheus)', async () => {
    const files = grafanaProvisioning({ prometheusUrl: 'http://127.0.0.1:9090', project: 'p', dir: '/tmp/devloop-grafana' });
    const exposition = await new AutopilotMetrics().registry.metrics();
    const exposed = new Set<string>();
    for (const m of exposition.matchAll(/^# TYPE (\S+) (\w+)$/gm)) {
      exposed.add(m[1]);
      if (m[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) exposed.add(`${m[1]}${s}`);
    }
    const names = namesIn(files, ['dashboards/devloop-autopilot.json']);
    assert.ok(names.length >= 5, names.join(', '));
    for (const n of names) assert.ok(exposed.has(n), `${n} is not a series AutopilotMetrics exposes`);
  });
  // Starting a real Grafana is not tested: none can be installed on these machines (not in Debian;
  // its Go module is refused), and a stand-in script would test only devloop's side of a fake.
});
