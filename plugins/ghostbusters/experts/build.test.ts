/**
 * The build expert on the planted and clean fixtures, its Dockerfile reader (continuations,
 * comments, heredocs), and its fixes (a .dockerignore, a non-root USER before CMD).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { planFixes } from '../fix.js';
import { openRepo } from '../repo.js';
import type { Finding } from '../types.js';
import { buildExpert } from './build.js';
import { parseDockerfile } from './dockerfile.js';

const fixtures = fileURLToPath(new URL('../../../test/fixtures/ghostbusters/', import.meta.url));
const signal = new AbortController().signal;
const where = (fs: Finding[]) => fs.map((f) => `${f.file}:${f.line}:${f.column} ${f.ruleId}`).sort();
const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'devloop-build-'));
  dirs.push(root);
  for (const [f, body] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    writeFileSync(path.join(root, f), body);
  }
  return root;
}

describe('build expert', () => {
  it('finds each planted problem at its file:line:column', async () => {
    const found = await buildExpert.detect(openRepo(path.join(fixtures, 'planted')), signal);
    assert.deepEqual(where(found), [
      'Dockerfile:1:1 build/dockerfile-root-user',
      'Dockerfile:1:1 build/dockerignore-missing',
      'Dockerfile:1:6 build/dockerfile-unpinned-base',
      'Dockerfile:3:5 build/dockerfile-add-url',
      'Dockerfile:4:25 build/dockerfile-secret',
      'Dockerfile:5:5 build/dockerfile-secret',
      'package.json:5:3 build/missing-script',
      'package.json:5:3 build/missing-script',
      'package.json:8:3 build/no-lockfile',
    ]);
    assert.deepEqual(found.filter((f) => f.ruleId === 'build/missing-script').map((f) => /"(start|test)"/.exec(f.message)![1]).sort(), ['start', 'test']);
    for (const f of found) assert.ok(buildExpert.rules[f.ruleId], `${f.ruleId} is declared in rules`);
  });

  it('finds nothing in the clean fixture', async () => {
    assert.deepEqual(await buildExpert.detect(openRepo(path.join(fixtures, 'clean')), signal), []);
  });

  it('fixes: creates .dockerignore, adds USER node before CMD', async () => {
    const root = path.join(fixtures, 'planted');
    const plan = planFixes(root, await buildExpert.detect(openRepo(root), signal));
    const changes = Object.fromEntries(plan.changes.map((c) => [c.file, c]));
    assert.equal(changes['.dockerignore'].created, true);
    assert.equal(changes['.dockerignore'].after, 'node_modules\n.git\n.devloop\ndist\n*.log\n');
    assert.match(changes.Dockerfile.after, /--omit=dev\nUSER node\nCMD \["node", "server.js"\]\n$/);
  });

  it('USER root in a multi-stage build: the final stage is judged, USER 65532 for a non-node image', async () => {
    const root = tree({
      'svc/Dockerfile': 'FROM node:20 AS build\nRUN npm ci\nFROM gcr.io/distroless/base-debian12:nonroot\nCOPY --from=build /app /app\nUSER root\nENTRYPOINT ["/app/run"]\n',
      'svc/.dockerignore': 'node_modules\n',
      'ok/Dockerfile': 'FROM build-stage\n',
    });
    const found = await buildExpert.detect(openRepo(root), signal);
    const user = found.find((f) => f.file === 'svc/Dockerfile' && f.ruleId === 'build/dockerfile-root-user')!;
    assert.equal(`${user.line}:${user.column}`, '5:1');
    const plan = planFixes(root, [user]);
    assert.match(plan.changes[0].after, /USER root\nUSER 65532\nENTRYPOINT/);
    assert.ok(!found.some((f) => f.file === 'svc/Dockerfile' && f.ruleId === 'build/dockerfile-unpinned-base'), 'tagged bases are pinned enough');
    assert.ok(found.some((f) => f.file === 'ok/Dockerfile' && f.ruleId === 'build/dockerfile-unpinned-base' && f.column === 6));
  });

  it('reads continuations, comment lines inside them, and heredocs as the builder does', () => {
    const list = parseDockerfile('FROM alpine:3.20\nRUN apk add \\\n  # a comment\n  curl\nRUN <<EOF\nENV X=1\nEOF\n  env  A_KEY=secret\n');
    assert.deepEqual(list.map((i) => [i.keyword, i.args]), [['FROM', 'alpine:3.20'], ['RUN', 'apk add    curl'], ['RUN', '<<EOF'], ['ENV', 'A_KEY=secret']]);
    assert.equal(list[3].start, 'FROM alpine:3.20\nRUN apk add \\\n  # a comment\n  curl\nRUN <<EOF\nENV X=1\nEOF\n  '.length);
  });

  it('secrets in ENV (both forms) and ARG, not references or plain settings', async () => {
    const root = tree({ Dockerfile: 'FROM node:20\nENV API_KEY sk-123\nENV TOKEN=$TOKEN PORT=8080\nARG NPM_TOKEN\nARG GITHUB_TOKEN="ghtok"\nUSER node\n', '.dockerignore': 'x\n' });
    assert.deepEqual(where(await buildExpert.detect(openRepo(root), signal)), ['Dockerfile:2:5 build/dockerfile-secret', 'Dockerfile:5:5 build/dockerfile-secret']);
  });
});
