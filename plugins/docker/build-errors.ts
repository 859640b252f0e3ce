/**
 * Turning the classic builder's output into an error a user can act on: which step failed, where
 * it is in the Dockerfile, its last lines of output, and what to try.
 */
import path from 'node:path';
import { DevloopError, type SourceLocation } from '../../core/errors.js';

export interface StepInfo {
  /** 1-based, as the builder prints it: `Step 3/7 : RUN npm ci`. */
  index: number;
  total: number;
  instruction: string;
}

const STEP_RE = /^Step (\d+)\/(\d+) : (.*)$/;

export function parseStep(line: string): StepInfo | undefined {
  const m = STEP_RE.exec(line.trim());
  return m ? { index: Number(m[1]), total: Number(m[2]), instruction: m[3] } : undefined;
}

/**
 * The 1-based line where each instruction starts. The builder numbers steps over every
 * instruction of every stage, so step N is instruction N-1 here.
 */
export function instructionLines(dockerfileText: string): number[] {
  const lines = dockerfileText.split(/\r?\n/);
  const starts: number[] = [];
  let escape = '\\';
  let continuing = false;
  let inHeader = true;
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i].trim();
    if (inHeader) {
      const directive = /^#\s*escape\s*=\s*(\S)/i.exec(t);
      if (directive) { escape = directive[1]; continue; }
      if (!/^#\s*\w+\s*=/.test(t)) inHeader = false;
    }
    if (t === '' || t.startsWith('#')) continue;
    if (!continuing) starts.push(i + 1);
    continuing = t.endsWith(escape);
  }
  return starts;
}

export interface BuildFailureInput {
  service: string;
  root: string;
  dockerfile: string;
  dockerfileText: string;
  step?: StepInfo;
  /** The daemon's `error` message. */
  error: string;
  lastLines: string[];
  /** Shown instead of the Dockerfile path when the Dockerfile was generated (esbuild images). */
  generated?: boolean;
  /**
   * A healthy deployment of the service from an earlier build runs now (and keeps running: a
   * failed build deploys nothing). Only then does the hint say so: not on a first build, not in
   * `devloop ci`.
   */
  lastGoodRunning?: boolean;
}

export function buildFailure(input: BuildFailureInput): DevloopError {
  const { step, error, service } = input;
  const rel = input.generated ? 'the generated Dockerfile' : path.relative(input.root, input.dockerfile) || input.dockerfile;
  let location: SourceLocation | undefined;
  if (step && !input.generated) {
    const line = instructionLines(input.dockerfileText)[step.index - 1];
    if (line) {
      const text = input.dockerfileText.split(/\r?\n/)[line - 1] ?? '';
      location = { file: rel, line, column: 1, frame: `${text}\n^` };
    }
  }
  const where = step ? ` at step ${step.index}/${step.total} (${truncate(step.instruction, 120)})` : '';
  const at = location ? `${location.file}:${location.line}: ` : '';
  const tail = input.lastLines.length ? `\n  last output:\n${input.lastLines.map((l) => `    ${l}`).join('\n')}` : '';
  return new DevloopError(`${at}docker build failed${where}: ${error.trim()}${tail}`, {
    code: 'BUILD_FAILED',
    service,
    location,
    hint: hintFor(error, step, rel, service, input.lastGoodRunning === true),
  });
}

function hintFor(error: string, step: StepInfo | undefined, rel: string, service: string, running: boolean): string {
  const keep = running ? '; the last good image keeps running meanwhile' : '';
  if (/returned a non-zero code/.test(error)) {
    return `the command of that step failed (its output is above); fix it in ${rel} or in the code it builds, and save${keep}`;
  }
  if (/does not match the specified platform|no matching manifest for/i.test(error)) {
    return `services.${service}.build.platform asks for a platform the base image is not built for: remove it, or use a base image published for that platform`;
  }
  if (/pull access denied|manifest unknown|not found: manifest|repository does not exist|no such host|failed to resolve|dial tcp/i.test(error) && step && /^FROM\b/i.test(step.instruction)) {
    const image = step.instruction.split(/\s+/)[1] ?? 'the base image';
    return `the base image ${image} is not on this machine and could not be pulled; check the name in ${rel}, or build/pull/tag it first (\`docker images\` lists what is here)`;
  }
  if (/COPY failed|ADD failed|no such file or directory|not found in build context|excluded by \.dockerignore/i.test(error)) {
    return `the path is not in the build context: it must be under services.${service}.build.context and not excluded by .dockerignore`;
  }
  if (/unknown instruction|dockerfile parse error|Unknown flag/i.test(error)) {
    return `${rel} has a syntax error; fix it and save`;
  }
  if (/target stage .* could not be found|failed to reach build target/i.test(error)) {
    return `services.${service}.build.target names a stage that ${rel} does not define (\`FROM ... AS <name>\`)`;
  }
  return `fix ${rel} and save${keep}`;
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
