/**
 * `monitoring.grafana`: writes the provisioning (grafana.ts) under `.devloop/monitoring/grafana/`
 * and starts Grafana on it as a local binary when one is installed (`grafana-server`, or
 * `grafana server` of Grafana 10+). Without one the files are still written, and the note says
 * where, so a Grafana of the user's can be pointed at them.
 *
 * Not as a container: Prometheus (and Jaeger) listen on 127.0.0.1, which a container reaches
 * only with host networking; devloop keeps containers off the host's network, so a local
 * `grafana/grafana` image gets the `docker run --network host` line to run by hand instead.
 */
import { execFile } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { isPortFree, nextFreePort, portTakenError } from '../shared/ports.js';
import { grafanaProvisioning } from './grafana.js';
import { findBinary, startLocalPart, type LocalPart } from './local-binary.js';

const run = promisify(execFile);

export const DEFAULT_GRAFANA_PORT = 3000;
const IMAGES = ['grafana/grafana', 'grafana/grafana-oss'];

export interface GrafanaStartInput {
  root: string;
  /** `monitoring.grafana` from the Devfile. */
  settings: boolean | { port?: number } | undefined;
  /** Grafana only shows what this Prometheus has; without one it is not started. */
  prometheusUrl?: string;
  jaegerUrl?: string;
  project: string;
  onCrash(message: string): void;
}

export type GrafanaStart = { part: LocalPart; url: string; dir: string } | { note: string; dir?: string };

/** The folder the provisioning goes to, under the project's `.devloop/`. */
export const grafanaDir = (root: string) => path.join(root, '.devloop', 'monitoring', 'grafana');

export async function startGrafana(i: GrafanaStartInput): Promise<GrafanaStart> {
  if (!i.prometheusUrl) return { note: 'grafana not started: its dashboards read the Prometheus devloop starts, which is not running (set monitoring.prometheus: true, or see the prometheus note)' };
  const dir = grafanaDir(i.root);
  const files = grafanaProvisioning({ prometheusUrl: i.prometheusUrl, jaegerUrl: i.jaegerUrl, project: i.project, dir });
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), text);
  }
  const provisioning = path.join(dir, 'provisioning');
  // Empty, as in Grafana's own image: a missing folder is an error line in its log at every start.
  for (const empty of ['plugins', 'alerting']) await mkdir(path.join(provisioning, empty), { recursive: true });
  const pointAt = `the provisioning files are in ${dir}: point a Grafana at them (GF_PATHS_PROVISIONING=${provisioning})`;

  const command = grafanaCommand();
  if (!command) {
    const image = await localImage();
    if (!image) return { dir, note: `grafana not started: no grafana-server binary or ${IMAGES[0]} image; ${pointAt}` };
    return { dir, note: `grafana not started: the ${image} image is here, but a container reaches Prometheus on 127.0.0.1 only with host networking, which devloop does not use; run it yourself: docker run --rm --network host -v ${dir}:${dir}:ro -e GF_PATHS_PROVISIONING=${provisioning} -e GF_SERVER_HTTP_ADDR=127.0.0.1 -e GF_SERVER_HTTP_PORT=${DEFAULT_GRAFANA_PORT} -e GF_AUTH_ANONYMOUS_ENABLED=true ${image}` };
  }

  const asked = typeof i.settings === 'object' ? i.settings.port : undefined;
  let port: number;
  if (asked !== undefined) {
    if (!(await isPortFree(asked))) {
      const taken = portTakenError(asked, 'monitoring.grafana.port', `set monitoring.grafana.port to a free port, or remove it to take the next free one after ${DEFAULT_GRAFANA_PORT}`);
      return { dir, note: `grafana not started: ${taken.message}; ${taken.hint}; ${pointAt}` };
    }
    port = asked;
  } else {
    port = await nextFreePort(DEFAULT_GRAFANA_PORT);
  }

  const data = path.join(dir, 'data');
  await mkdir(data, { recursive: true });
  const env: Record<string, string> = {
    GF_PATHS_PROVISIONING: provisioning,
    GF_PATHS_DATA: data,
    GF_PATHS_LOGS: path.join(dir, 'logs'),
    GF_PATHS_PLUGINS: path.join(data, 'plugins'),
    GF_SERVER_HTTP_ADDR: '127.0.0.1',
    GF_SERVER_HTTP_PORT: String(port),
    // Local and loopback-only: no login between the developer and the dashboards.
    GF_AUTH_ANONYMOUS_ENABLED: 'true',
    GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH: path.join(dir, 'dashboards', 'devloop-services.json'),
    GF_ANALYTICS_REPORTING_ENABLED: 'false',
    GF_ANALYTICS_CHECK_FOR_UPDATES: 'false',
    GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES: 'false',
  };
  const address = `127.0.0.1:${port}`;
  try {
    const part = await startLocalPart({
      name: 'grafana', root: i.root, logFile: path.join(path.dirname(dir), 'grafana.log'),
      // startLocalPart gives a part devloop's own environment; env(1) adds Grafana's settings
      // and execs it, so the recorded pid is Grafana's.
      argv: ['/usr/bin/env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...command],
      readyUrl: `http://${address}/api/health`,
      // The first start migrates a fresh database: tens of seconds on a slow disk.
      readyTimeoutMs: 90_000,
      onCrash: i.onCrash,
    });
    return { part, url: `http://${address}`, dir };
  } catch (err) {
    const e = err as { message?: string; hint?: string };
    return { dir, note: `grafana not started: ${e.message ?? String(err)}${e.hint ? `; ${e.hint}` : ''}; ${pointAt}` };
  }
}

/** The argv that runs a Grafana server, with its home (conf/defaults.ini, public/) when found. */
function grafanaCommand(): string[] | undefined {
  const legacy = findBinary(['grafana-server']);
  const binary = legacy ?? findBinary(['grafana']);
  if (!binary) return undefined;
  const argv = legacy ? [binary] : [binary, 'server'];
  const home = grafanaHome(binary);
  return home ? [...argv, '--homepath', home] : argv;
}

/**
 * Grafana looks for its home in the working directory, which is the project here: the release
 * tarball keeps it beside bin/, the Debian and RPM packages in /usr/share/grafana.
 */
function grafanaHome(binary: string): string | undefined {
  let real = binary;
  try { real = realpathSync(binary); } catch { /* keep the path as found */ }
  for (const home of [path.dirname(path.dirname(real)), '/usr/share/grafana']) {
    if (existsSync(path.join(home, 'conf', 'defaults.ini'))) return home;
  }
  return undefined;
}

/** The first Grafana image the local daemon has (no pull), or undefined (no docker, no daemon, no image). */
async function localImage(): Promise<string | undefined> {
  for (const image of IMAGES) {
    try {
      await run('docker', ['image', 'inspect', '--format', '{{.Id}}', image], { timeout: 5_000 });
      return image;
    } catch { /* not there, or no docker */ }
  }
  return undefined;
}
