import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ProjectIgnores } from './ignore.js';
import { rebaseGitignore } from './gitignore.js';
import { DockerignoreMatcher } from './dockerignore.js';

function project(files: Record<string, string>): { root: string; done(): void } {
  const root = mkdtempSync(join(tmpdir(), 'devloop-ignore-'));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
  return { root, done: () => rmSync(root, { recursive: true, force: true }) };
}

test('rebaseGitignore anchors rules to their folder', () => {
  assert.deepEqual(rebaseGitignore('# c\n\n*.log\n/build\nout/\ndocs/*.md\n!keep.log\n', 'svc/api'), [
    'svc/api/**/*.log',
    'svc/api/build',
    'svc/api/**/out/',
    'svc/api/docs/*.md',
    '!svc/api/**/keep.log',
  ]);
});

test('.gitignore: root and nested files, with git precedence', (t) => {
  const p = project({
    '.gitignore': 'node_modules/\n*.log\ndist\n',
    'svc/api/.gitignore': '!important.log\n/gen\ntmp/\n',
    'svc/api/src/deeper/.gitignore': '*.snap\n',
  });
  t.after(p.done);
  const ig = new ProjectIgnores({ root: p.root }).forTarget({ name: 'api', paths: [join(p.root, 'svc/api')] });
  const is = (rel: string) => ig.ignores(join(p.root, rel));
  assert.equal(is('svc/api/src/index.ts'), false);
  assert.equal(is('svc/api/node_modules/x/index.js'), true, 'root rule applies at any depth');
  assert.equal(is('svc/api/node_modules'), true, 'a folder event is matched by a folder rule');
  assert.equal(is('svc/api/debug.log'), true);
  assert.equal(is('svc/api/important.log'), false, 'deeper .gitignore re-includes');
  assert.equal(is('svc/api/gen/a.ts'), true, 'anchored to its own folder');
  assert.equal(is('svc/api/src/gen/a.ts'), false, '/gen is not **/gen');
  assert.equal(is('svc/api/src/tmp/x'), true);
  assert.equal(is('svc/api/src/deeper/a.snap'), true, 'a .gitignore below the target path applies too');
  assert.equal(is('svc/api/src/a.snap'), false, '...but only below its folder');
  assert.equal(is('svc/api/dist/important.log'), true, 'no re-include inside an excluded folder');
});

test('.gitignore outside the target chain does not leak in', (t) => {
  const p = project({ 'other/.gitignore': '*.ts\n' });
  t.after(p.done);
  const ig = new ProjectIgnores({ root: p.root }).forTarget({ name: 'api', paths: [join(p.root, 'api')] });
  assert.equal(ig.ignores(join(p.root, 'api/a.ts')), false);
});

test('a target path that git ignores was named on purpose', (t) => {
  const p = project({ '.gitignore': '.env*\ngenerated/\n' });
  t.after(p.done);
  const ig = new ProjectIgnores({ root: p.root }).forTarget({ name: 'api', paths: [join(p.root, 'api'), join(p.root, '.env.local'), join(p.root, 'generated')] });
  assert.equal(ig.ignores(join(p.root, '.env.local')), false);
  assert.equal(ig.ignores(join(p.root, 'generated/schema.ts')), false);
  assert.equal(ig.ignores(join(p.root, 'api/.env')), true);
});

test('.dockerignore of the build context, with Docker semantics', (t) => {
  const p = project({ 'api/.dockerignore': '# c\n*.md\n!README.md\ntests\n**/*.tmp\n/coverage/\n' });
  t.after(p.done);
  const api = join(p.root, 'api');
  const ig = new ProjectIgnores({ root: p.root }).forTarget({ name: 'api', paths: [api, join(p.root, 'shared')], dockerContext: api });
  const is = (rel: string) => ig.ignores(join(p.root, rel));
  assert.equal(is('api/CHANGES.md'), true);
  assert.equal(is('api/README.md'), false);
  assert.equal(is('api/docs/x.md'), false, 'a pattern without ** is anchored at the context root');
  assert.equal(is('api/tests/a/b.ts'), true, 'a matched folder excludes its content');
  assert.equal(is('api/src/tests/a.ts'), false);
  assert.equal(is('api/src/a.tmp'), true);
  assert.equal(is('api/coverage/lcov.info'), true);
  assert.equal(is('shared/CHANGES.md'), false, 'outside the context');
  assert.equal(is('api/.dockerignore'), false, 'Docker always reads it');
});

test('DockerignoreMatcher: last matching rule wins', () => {
  const m = new DockerignoreMatcher('*\n!src\nsrc/*.gen.ts\n');
  assert.equal(m.ignores('package.json'), true);
  assert.equal(m.ignores('src/a.ts'), false);
  assert.equal(m.ignores('src/a.gen.ts'), true);
});

test('Devfile globs, project-wide and per service, relative to the root', (t) => {
  const p = project({});
  t.after(p.done);
  const ignores = new ProjectIgnores({ root: p.root, globs: ['**/*.swp', 'tmp'] });
  const api = ignores.forTarget({ name: 'api', paths: [p.root], ignore: ['api/fixtures/**', '*.csv'] });
  const web = ignores.forTarget({ name: 'web', paths: [p.root] });
  const is = (ig: typeof api, rel: string) => ig.ignores(join(p.root, rel));
  assert.equal(is(api, 'api/.a.ts.swp'), true, 'dot files match');
  assert.equal(is(web, 'web/x.swp'), true);
  assert.equal(is(api, 'tmp/a/b'), true, 'a glob matching a folder covers its content');
  assert.equal(is(api, 'api/tmp/a'), false);
  assert.equal(is(api, 'api/fixtures/big.json'), true);
  assert.equal(is(web, 'api/fixtures/big.json'), false, 'service globs stay with their service');
  assert.equal(is(api, 'data.csv'), true);
  assert.equal(is(api, 'api/data.csv'), false, 'picomatch: * does not cross folders');
});

test('.git, .devloop and extra absolute paths are always ignored', (t) => {
  const p = project({});
  t.after(p.done);
  const ig = new ProjectIgnores({ root: p.root, paths: [join(p.root, 'out')] })
    .forTarget({ name: 'api', paths: [p.root], ignorePaths: [join(p.root, 'api/dist')] });
  const is = (rel: string) => ig.ignores(join(p.root, rel));
  assert.equal(is('.git/index'), true);
  assert.equal(is('sub/.git/HEAD'), true);
  assert.equal(is('.devloop/cache/x'), true);
  assert.equal(is('api/.devloop'), true);
  assert.equal(is('.gitignore'), false);
  assert.equal(is('.devlooprc'), false);
  assert.equal(is('out/a.js'), true);
  assert.equal(is('api/dist/a.js'), true);
  assert.equal(is('api/dist2/a.js'), false);
});

test('reload() picks up a changed .gitignore and .dockerignore', (t) => {
  const p = project({ '.gitignore': '*.log\n', 'api/.dockerignore': '*.md\n' });
  t.after(p.done);
  const api = join(p.root, 'api');
  const project_ = new ProjectIgnores({ root: p.root });
  const ig = project_.forTarget({ name: 'api', paths: [api], dockerContext: api });
  assert.equal(ig.ignores(join(api, 'a.log')), true);
  assert.equal(ig.ignores(join(api, 'a.md')), true);
  assert.equal(ig.ignores(join(api, 'a.tmp')), false);

  writeFileSync(join(p.root, '.gitignore'), '*.tmp\n');
  writeFileSync(join(api, '.dockerignore'), '');
  assert.equal(ig.ignores(join(api, 'a.log')), true, 'read once: not re-read without reload()');
  assert.equal(project_.reload(join(p.root, '.gitignore')), true);
  assert.equal(project_.reload(join(api, '.dockerignore')), true);
  assert.equal(ig.ignores(join(api, 'a.log')), false);
  assert.equal(ig.ignores(join(api, 'a.tmp')), true);
  assert.equal(ig.ignores(join(api, 'a.md')), false);

  writeFileSync(join(api, '.gitignore'), '*.ts\n');
  assert.equal(project_.reload(join(api, '.gitignore')), true, 'a new .gitignore in a folder already read');
  assert.equal(ig.ignores(join(api, 'a.ts')), true);
  assert.equal(project_.reload(join(p.root, 'unrelated/.gitignore')), false);
});

test('the temp bundles written while a Devfile loads are never changes', (t) => {
  const p = project({ 'Devfile.ts': '' });
  t.after(p.done);
  const ig = new ProjectIgnores({ root: p.root }).forTarget({ name: 'all', paths: [p.root] });
  assert.equal(ig.ignores(join(p.root, 'Devfile.ts.timestamp-1732600000000-9f3a0c1b.mjs')), true);
  assert.equal(ig.ignores(join(p.root, 'plugins/mine.ts.timestamp-1732600000000-00ff00aa.mjs')), true);
  assert.equal(ig.ignores(join(p.root, 'Devfile.ts')), false);
});
