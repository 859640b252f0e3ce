/**
 * `devloop release --target cloudrun`: the pure part. The release of a Cloud Run service goes by
 * revisions and traffic, as Cloud Run's own gradual rollouts do:
 *
 * 1. replace the service with the rendered YAML (plugins/production/render.ts), its revision named
 *    `<svc>-r<time>` (spec.template.metadata.name, which Cloud Run accepts when it starts with the
 *    service name) and a traffic block that keeps 100% on the revision serving now and gives the
 *    new one only a tag (`candidate`): no user request reaches it yet, only its tag URL does;
 * 2. gate it through the tag URL (a burst of requests, the error ratio), then move each step's
 *    share of traffic to it (`update-traffic --to-revisions NEW=p,OLD=100-p`), gating after each;
 * 3. at the end 100% to the new revision and the tag removed; on a failed gate 100% back to the
 *    previous revision (rollback).
 *
 * A service with no revision yet (a first release) has nothing to keep serving: its revision gets
 * 100% at once, still gated through the tag before the release is called a success.
 *
 * Everything here is a function of its arguments, so the commands a gcloud release would run are
 * tested without gcloud (plugins/release/cloudrun.test.ts).
 */
import { DevloopError } from '../../core/errors.js';

export const CANDIDATE_TAG = 'candidate';

export interface Split { revision: string; percent: number }

/** Cloud Run's rule for a revision name: the service name, a hyphen, lowercase letters/digits/hyphens, 63 characters at most. */
export function revisionName(service: string, startedAt: Date): string {
  const name = `${service}-r${startedAt.getTime().toString(36)}`;
  if (name.length > 63) {
    throw new DevloopError(`revision name ${name} is longer than the 63 characters Cloud Run allows`, { code: 'RELEASE_REVISION_NAME', exitCode: 2, hint: `shorten the service name ${service}` });
  }
  return name;
}

/** The rendered Service with its revision named and the traffic kept where it is (see the file comment). */
export function candidateService(rendered: object, revision: string, previous: string | undefined): object {
  const s = structuredClone(rendered) as { spec: { template: { metadata?: Record<string, unknown> }; traffic?: unknown } };
  s.spec.template.metadata = { name: revision, ...s.spec.template.metadata };
  s.spec.traffic = previous
    ? [{ revisionName: previous, percent: 100 }, { revisionName: revision, percent: 0, tag: CANDIDATE_TAG }]
    : [{ revisionName: revision, percent: 100, tag: CANDIDATE_TAG }];
  return s;
}

/** The split of one step: `percent` to the new revision, the rest to the previous one. */
export function stepSplit(revision: string, previous: string, percent: number): Split[] {
  return percent >= 100 ? [{ revision, percent: 100 }] : [{ revision, percent }, { revision: previous, percent: 100 - percent }];
}

/** The revision that serves the most traffic now (the one a rollback goes back to), from a live traffic block. */
export function servingRevision(traffic: Array<{ revisionName?: string; percent?: number }>): string | undefined {
  const best = [...traffic].filter((t) => t.revisionName && (t.percent ?? 0) > 0).sort((a, b) => (b.percent ?? 0) - (a.percent ?? 0))[0];
  return best?.revisionName;
}

export interface GcloudTarget { service: string; region: string; project: string }

const where = (t: GcloudTarget) => ['--region', t.region, '--project', t.project];

/** `gcloud run services replace FILE`: creates the revision, waits for it to be ready, applies the traffic block. */
export function gcloudReplace(t: GcloudTarget, file: string): string[] {
  return ['gcloud', 'run', 'services', 'replace', file, ...where(t), '--quiet'];
}

/** `gcloud run services describe`: the live traffic (status.traffic, each tagged entry with its url). */
export function gcloudDescribe(t: GcloudTarget): string[] {
  return ['gcloud', 'run', 'services', 'describe', t.service, ...where(t), '--format', 'json'];
}

/** `gcloud run services update-traffic --to-revisions A=p,B=q`, removing the candidate tag when asked. */
export function gcloudUpdateTraffic(t: GcloudTarget, split: Split[], o: { removeTag?: boolean } = {}): string[] {
  return ['gcloud', 'run', 'services', 'update-traffic', t.service, '--to-revisions', split.map((s) => `${s.revision}=${s.percent}`).join(','),
    ...(o.removeTag ? ['--remove-tags', CANDIDATE_TAG] : []), ...where(t), '--quiet'];
}

/**
 * The tag's URL from `describe --format json`: status.traffic[].url where Cloud Run gives it, else
 * `https://TAG---` before the service URL's host, which is how Cloud Run forms it.
 */
export function tagUrl(described: { status?: { url?: string; traffic?: Array<{ tag?: string; url?: string }> } }, tag: string): string | undefined {
  const given = described.status?.traffic?.find((t) => t.tag === tag)?.url;
  if (given) return given;
  const url = described.status?.url;
  return url ? url.replace(/^https:\/\//, `https://${tag}---`) : undefined;
}

/** A command line as a shell would take it, for `--dry-run`. */
export function shellLine(argv: string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
