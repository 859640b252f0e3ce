/**
 * Names and labels of what devloop creates in Docker. Images are named after the project and the
 * service so `docker images` is readable; containers carry labels that let a later devloop find
 * (and remove) what an earlier one left behind, even one that was killed with -9.
 */
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { processStartTime } from '../shared/procfs.js';

export const LABEL_PROJECT = 'dev.devloop.project';
export const LABEL_ROOT = 'dev.devloop.root';
export const LABEL_SERVICE = 'dev.devloop.service';
export const LABEL_SESSION = 'dev.devloop.session';
/** The session process's start time: a recycled pid must not pass for the session that labelled the container. */
export const LABEL_SESSION_START = 'dev.devloop.session-start';

/** Tag prefix of content-addressed images: `devloop-<hash16>`. */
export const TAG_PREFIX = 'devloop-';

/** A project is its absolute root: two checkouts of one repo are two projects. */
export function projectId(root: string): string {
  return createHash('sha256').update(path.resolve(root)).digest('hex').slice(0, 16);
}

/** `devfile.name` or the folder name, made fit for an image repository name. */
export function projectName(root: string, name?: string): string {
  return sanitize(name || path.basename(path.resolve(root))) || 'project';
}

/** `devloop-<project>-<service>`: the repository of a service's images. */
export function imageRepository(project: string, service: string): string {
  return `devloop-${project}-${sanitize(service) || 'service'}`;
}

export function imageTag(hash: string): string {
  return `${TAG_PREFIX}${hash.slice(0, 16)}`;
}

export function isDevloopTag(ref: string): boolean {
  const tag = ref.slice(ref.lastIndexOf(':') + 1);
  return ref.includes('/') ? false : tag.startsWith(TAG_PREFIX) && ref.startsWith('devloop-');
}

/** `devloop-<project>-<service>-<short>`: unique per container, so a replacement can exist beside the old one. */
export function containerName(project: string, service: string): string {
  return `devloop-${project}-${sanitize(service) || 'service'}-${randomBytes(3).toString('hex')}`;
}

export interface SessionLabels {
  [key: string]: string;
}

let selfStart: string | undefined | null = null;

export function sessionLabels(root: string, service: string): SessionLabels {
  if (selfStart === null) selfStart = processStartTime(process.pid);
  const labels: SessionLabels = {
    [LABEL_PROJECT]: projectId(root),
    [LABEL_ROOT]: path.resolve(root),
    [LABEL_SERVICE]: service,
    [LABEL_SESSION]: String(process.pid),
  };
  if (selfStart) labels[LABEL_SESSION_START] = selfStart;
  return labels;
}

/**
 * Whether the devloop that labelled a container still runs. A pid that is alive but started at
 * another time is a recycled pid: the session is gone.
 */
export function sessionAlive(labels: Record<string, string> | undefined): boolean {
  const pid = Number(labels?.[LABEL_SESSION]);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  const start = processStartTime(pid);
  if (start === undefined) {
    try { process.kill(pid, 0); } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM'; }
    // Alive but unreadable (no /proc): trust the pid.
    return !labels?.[LABEL_SESSION_START];
  }
  const recorded = labels?.[LABEL_SESSION_START];
  return recorded === undefined || recorded === start;
}

/** Docker repository names: lowercase letters, digits and single separators. */
function sanitize(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/[._-]{2,}/g, '-').replace(/^[._-]+|[._-]+$/g, '');
}
