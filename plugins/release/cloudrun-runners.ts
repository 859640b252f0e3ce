/**
 * Who changes the Cloud Run service during `devloop release --target cloudrun`:
 *
 * - `gcloud`: Cloud Run itself, through the commands cloudrun.ts builds (`gcloud run services
 *   replace`, `update-traffic`, `describe`);
 * - `simulator`: a running `devloop cloudrun replace FILE` session standing in for production. The
 *   new YAML is written to FILE (the session applies it on save, as it does for a person editing
 *   it) and traffic moves through the session's update-traffic request, as `devloop cloudrun
 *   update-traffic` sends it.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { DevloopError } from '../../core/errors.js';
import { findSession, request, sessionState } from '../../core/session/client.js';
import type { SessionInfo } from '../../core/session/server.js';
import { PLUGIN as CLOUD_RUN_PLUGIN } from '../cloud-run/id.js';
import { sleep } from '../shared/time.js';
import { CANDIDATE_TAG, gcloudDescribe, gcloudReplace, gcloudUpdateTraffic, servingRevision, tagUrl, type GcloudTarget, type Split } from './cloudrun.js';

export interface CloudRunRunner {
  readonly kind: 'gcloud' | 'simulator';
  /** Where the service is, in words (the record's context). */
  readonly where: string;
  /** The revision serving the most traffic now; undefined when the service has none yet. */
  serving(): Promise<string | undefined>;
  /** Applies the Service (cloudrun.ts's candidateService); resolves once `revision` is ready, throws when it failed. */
  replace(service: object, revision: string, timeoutMs: number): Promise<void>;
  /** The candidate tag's URL. */
  tagUrl(): Promise<string>;
  /** Sets the split; `removeTag` drops the candidate tag (the end of a release either way). */
  setTraffic(split: Split[], o: { removeTag: boolean }): Promise<void>;
}

/** True when an executable `gcloud` is on PATH. */
export function gcloudOnPath(env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.PATH ?? '').split(path.delimiter).filter(Boolean).some((d) => existsSync(path.join(d, 'gcloud')));
}

function run(argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(argv[0], argv.slice(1), { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new DevloopError(`${argv.slice(0, 4).join(' ')} failed: ${stderr.trim().split('\n').slice(-3).join(' ') || err.message}`, { code: 'RELEASE_GCLOUD', cause: err, hint: 'run the command by hand to see all of it; gcloud auth login and the project/region of the environment are the usual suspects' }));
      else resolve(stdout);
    });
  });
}

export function gcloudRunner(t: GcloudTarget): CloudRunRunner {
  const describe = async () => JSON.parse(await run(gcloudDescribe(t))) as { status?: { url?: string; traffic?: Array<{ revisionName?: string; percent?: number; tag?: string; url?: string }> } };
  return {
    kind: 'gcloud',
    where: `Cloud Run ${t.project}/${t.region}`,
    async serving() {
      try {
        return servingRevision((await describe()).status?.traffic ?? []);
      } catch (err) {
        // A first release: the service does not exist yet.
        if (err instanceof DevloopError && /cannot find service|could not be found|NOT_FOUND|not found/i.test(err.message)) return undefined;
        throw err;
      }
    },
    async replace(service) {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'devloop-release-'));
      const file = path.join(dir, `${t.service}.service.yaml`);
      try {
        writeFileSync(file, stringify(service));
        await run(gcloudReplace(t, file));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    async tagUrl() {
      const url = tagUrl(await describe(), CANDIDATE_TAG);
      if (!url) throw new DevloopError(`Cloud Run gave ${t.service} no URL for tag ${CANDIDATE_TAG}`, { code: 'RELEASE_NO_TAG_URL', hint: `gcloud run services describe ${t.service} --region ${t.region} shows its traffic` });
      return url;
    },
    async setTraffic(split, o) {
      await run(gcloudUpdateTraffic(t, split, o));
    },
  };
}

interface LiveTraffic { revisionName: string; percent: number; tag?: string; url?: string }
interface LiveService { traffic?: LiveTraffic[]; revisions?: Array<{ name: string; failed?: string }> }

/**
 * The running session of `dir`: `serviceFile` is the YAML it serves (default: the file of a
 * `devloop cloudrun replace FILE` session).
 */
export async function simulatorRunner(dir: string, service: string, serviceFile: string | undefined): Promise<CloudRunRunner & { file: string }> {
  const session = await findSession(dir);
  if (!session) {
    throw new DevloopError(`no devloop session is running in ${dir} to stand in for Cloud Run`, { code: 'NO_SESSION', exitCode: 2, hint: 'start one with devloop cloudrun replace service.yaml (--instances process --command "..." without Docker), or release with --via gcloud' });
  }
  const file = serviceFile ? path.resolve(dir, serviceFile) : session.command.startsWith('cloudrun replace') ? session.devfile : undefined;
  if (!file) {
    throw new DevloopError(`the session in ${dir} (devloop ${session.command}) serves no single Cloud Run YAML file`, { code: 'USAGE', exitCode: 2, hint: 'pass --service-file FILE: the Cloud Run YAML of the service the session serves' });
  }
  const live = async (): Promise<LiveService> => {
    const s = (await sessionState(session)).services[service];
    const cr = s?.extra['cloud-run'] as LiveService | undefined;
    if (!cr) throw new DevloopError(`the session in ${dir} serves no Cloud Run service named ${service}`, { code: 'UNKNOWN_SERVICE', exitCode: 2, hint: `devloop status lists what it serves; the YAML's metadata.name must be ${service}` });
    return cr;
  };
  let candidate: string | undefined;
  return {
    kind: 'simulator',
    where: `simulator session ${session.pid} (${path.relative(dir, file) || file})`,
    file,
    async serving() {
      return servingRevision((await live()).traffic ?? []);
    },
    async replace(svc, revision, timeoutMs) {
      candidate = revision;
      writeFileSync(file, stringify(svc));
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const now = await live();
        const failed = now.revisions?.find((r) => r.name === revision)?.failed;
        if (failed) throw new DevloopError(`revision ${revision} is not ready: ${failed}`, { code: 'REVISION_FAILED', hint: 'the session\'s log says why; traffic stays on the revision serving before' });
        // The simulator applies the traffic block only once the revision started: its tag means ready.
        if (now.traffic?.some((t) => t.revisionName === revision)) return;
        if (Date.now() > deadline) throw new DevloopError(`revision ${revision} was not ready within ${Math.round(timeoutMs / 1000)} s`, { code: 'TIMEOUT', hint: 'raise --timeout, or see the session\'s log' });
        await sleep(100);
      }
    },
    async tagUrl() {
      const url = (await live()).traffic?.find((t) => t.tag === CANDIDATE_TAG)?.url;
      if (!url) throw new DevloopError(`the simulator gave ${service} no URL for tag ${CANDIDATE_TAG}`, { code: 'RELEASE_NO_TAG_URL' });
      return url;
    },
    async setTraffic(split, o) {
      const traffic: Array<{ revisionName: string; percent: number; tag?: string }> = split.map((s) => ({ revisionName: s.revision, percent: s.percent }));
      if (!o.removeTag && candidate) {
        const own = traffic.find((t) => t.revisionName === candidate);
        if (own) own.tag = CANDIDATE_TAG;
        else traffic.push({ revisionName: candidate, percent: 0, tag: CANDIDATE_TAG });
      }
      await updateTraffic(session, service, traffic);
    },
  };
}

/** What `devloop cloudrun update-traffic` sends the session, and its wait for the answer. */
async function updateTraffic(session: SessionInfo, service: string, traffic: unknown[]): Promise<void> {
  const id = `release-${process.pid}-${Date.now()}`;
  await request(session.socket, 'POST', `/plugin?plugin=${encodeURIComponent(CLOUD_RUN_PLUGIN)}&name=update-traffic`, 10_000, { service, traffic, id });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const result = (await sessionState(session)).services[service]?.extra['cloud-run-traffic'] as { id?: string; ok?: boolean; error?: string; hint?: string } | undefined;
    if (result?.id === id) {
      if (!result.ok) throw new DevloopError(`update-traffic: ${result.error}`, { code: 'TRAFFIC_REFUSED', hint: result.hint });
      return;
    }
    if (Date.now() > deadline) throw new DevloopError('the session did not apply the traffic within 10 s', { code: 'TIMEOUT' });
    await sleep(50);
  }
}
