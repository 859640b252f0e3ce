/**
 * The service's agents, on the devloop agent framework. Three run an expert of the Ghostbusters
 * crew over a repository folder; `triage` subscribes to their findings and counts them, so every
 * execution is followed by a coordination step; `echo` and `sleep` are there to try the API
 * (and its timeout) without a repository.
 */
import { realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { AgentFramework, type Agent, type Finding } from 'devloop/agents';

/** A task the caller got wrong: the API answers with `status` instead of 500. */
export class TaskError extends Error {
  constructor(message: string, readonly status: 400 | 403 | 404) {
    super(message);
    this.name = 'TaskError';
  }
}

export interface ExpertResult {
  expert: string;
  path: string;
  findings: Finding[];
  skipped: { file: string; why: string }[];
}

export interface Triage {
  from: string;
  total: number;
  bySeverity: Record<'error' | 'warning' | 'note', number>;
  byRule: Record<string, number>;
}

/**
 * `task.path` as an absolute folder inside `root`. Symbolic links are resolved first, so a link
 * inside the root cannot lead the experts out of it.
 */
export function resolveRepoPath(root: string, task: unknown): string {
  const given = (task as { path?: unknown } | null)?.path;
  if (typeof given !== 'string' || !given) throw new TaskError('the task needs "path": a folder under the allowed root, e.g. {"path": "."}', 400);
  const realRoot = realpathSync(root);
  let real: string;
  try { real = realpathSync(path.resolve(realRoot, given)); } catch {
    throw new TaskError(`path "${given}" does not exist under ${realRoot}`, 404);
  }
  const rel = path.relative(realRoot, real);
  if (rel.startsWith('..') || path.isAbsolute(rel)) throw new TaskError(`path "${given}" is outside the allowed root ${realRoot} (AGENTS_REPO_ROOT)`, 403);
  if (!statSync(real).isDirectory()) throw new TaskError(`path "${given}" is not a folder`, 400);
  return real;
}

// The experts bring parsers and the TypeScript compiler: loaded on the first expert task, so a
// cold start (what Cloud Run waits for) does not pay for them.
const crew = () => import('devloop/agents/experts');

function expertAgent(id: 'security' | 'build' | 'manifests', description: string, root: string): Agent<unknown, ExpertResult> {
  return {
    id, description,
    capabilities: ['detect', 'repository'],
    produces: 'findings',
    async execute(task, ctx) {
      const dir = resolveRepoPath(root, task);
      const { openRepo, securityExpert, buildExpert, manifestsExpert } = await crew();
      const expert = { security: securityExpert, build: buildExpert, manifests: manifestsExpert }[id];
      const repo = openRepo(dir);
      ctx.log(`${id}: ${repo.files.length} files under ${dir}`);
      const findings = await expert.detect(repo, ctx.signal);
      return { expert: id, path: path.relative(realpathSync(root), dir) || '.', findings, skipped: repo.skipped };
    },
  };
}

export const triageAgent: Agent<ExpertResult, Triage> = {
  id: 'triage',
  description: 'Counts the findings of an expert run by severity and rule (runs after security, build and manifests)',
  capabilities: ['triage'],
  subscribes: ['findings'],
  async execute(result) {
    const bySeverity = { error: 0, warning: 0, note: 0 };
    const byRule: Record<string, number> = {};
    for (const f of result.findings) {
      bySeverity[f.severity]++;
      byRule[f.ruleId] = (byRule[f.ruleId] ?? 0) + 1;
    }
    return { from: result.expert, total: result.findings.length, bySeverity, byRule };
  },
};

export function createFramework(options: { root: string; timeoutMs: number; log?: (agent: string, message: string) => void }): AgentFramework {
  const framework = new AgentFramework({ timeoutMs: options.timeoutMs, concurrency: 2, log: options.log });
  framework.register(expertAgent('security', 'Hard-coded credentials, eval and shell built from input, secrets in config, root or privileged containers', options.root));
  framework.register(expertAgent('build', 'Dockerfile and package.json problems: unpinned bases, root user, secrets in ENV/ARG, no lockfile', options.root));
  framework.register(expertAgent('manifests', 'Kubernetes and Cloud Run YAML through the Autopilot and Cloud Run checks', options.root));
  framework.register(triageAgent);
  framework.register({
    id: 'echo', description: 'Returns the task it was given', capabilities: ['echo'],
    execute: async (task) => task,
  });
  framework.register({
    id: 'sleep', description: 'Waits {"ms": N} milliseconds (stops when cancelled): try the timeout with it', capabilities: ['sleep'],
    execute: (task: { ms?: unknown }, ctx) => new Promise((resolve, reject) => {
      const ms = Number(task?.ms ?? 0);
      if (!Number.isFinite(ms) || ms < 0) { reject(new TaskError('"ms" must be a number of milliseconds >= 0', 400)); return; }
      const t = setTimeout(() => resolve({ slept: ms }), ms);
      ctx.signal.addEventListener('abort', () => { clearTimeout(t); reject(ctx.signal.reason); }, { once: true });
    }),
  });
  return framework;
}
