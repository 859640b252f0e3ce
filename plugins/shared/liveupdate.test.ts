import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LiveUpdateStep } from '../../core/devfile/types.js';
import { liveUpdateOrderProblems, matches, planLiveUpdate, syncTargetIssues } from './liveupdate.js';

const rules: LiveUpdateStep[] = [
  { fallBackOn: ['package.json', 'src/config/**'] },
  { sync: { from: 'src', to: 'app/src' } },
  { sync: { from: 'public', to: '/srv/www' } },
  { run: 'npm run gen', trigger: 'src/**/*.graphql' },
  { run: 'echo always' },
  { restart: true },
];

describe('planLiveUpdate', () => {
  it('syncs covered files to their destinations, runs untriggered commands, restarts', () => {
    assert.deepEqual(planLiveUpdate(rules, ['src/index.ts', 'public/css/site.css']), {
      action: 'update',
      copies: [
        { from: 'src/index.ts', to: 'app/src/index.ts' },
        { from: 'public/css/site.css', to: '/srv/www/css/site.css' },
      ],
      runs: ['echo always'],
      restart: true,
    });
  });

  it('runs a triggered command only when one of the changed files matches its trigger', () => {
    const plan = planLiveUpdate(rules, ['src/schema/user.graphql']);
    assert.equal(plan.action, 'update');
    assert.deepEqual(plan.action === 'update' && plan.runs, ['npm run gen', 'echo always']);
  });

  it('keeps run commands in the order they were declared', () => {
    const steps: LiveUpdateStep[] = [{ sync: { from: '.', to: '.' } }, { run: 'b' }, { run: 'a', trigger: ['*.txt', '*.md'] }, { run: 'c' }];
    const plan = planLiveUpdate(steps, ['README.md']);
    assert.deepEqual(plan.action === 'update' && plan.runs, ['b', 'a', 'c']);
  });

  it('falls back to a rebuild when a file matches fallBackOn, naming the file and the rule', () => {
    assert.deepEqual(planLiveUpdate(rules, ['src/index.ts', 'package.json']), {
      action: 'rebuild', reason: 'package.json matches fallBackOn "package.json"', file: 'package.json',
    });
    const glob = planLiveUpdate(rules, ['src/config/db.ts']);
    assert.equal(glob.action, 'rebuild');
    assert.equal(glob.action === 'rebuild' && glob.reason, 'src/config/db.ts matches fallBackOn "src/config/**"');
  });

  it('fallBackOn wins over sync even when a sync rule also covers the file', () => {
    const plan = planLiveUpdate([{ fallBackOn: 'src/schema.prisma' }, { sync: { from: 'src', to: 'src' } }], ['src/schema.prisma']);
    assert.equal(plan.action, 'rebuild');
  });

  it('falls back to a rebuild when a file is not covered by any sync rule, naming it', () => {
    assert.deepEqual(planLiveUpdate(rules, ['src/a.ts', 'tsconfig.json']), {
      action: 'rebuild', reason: 'tsconfig.json is not covered by any sync rule', file: 'tsconfig.json',
    });
  });

  it('rebuilds when there are no rules or no sync step', () => {
    assert.equal(planLiveUpdate(undefined, ['a']).action, 'rebuild');
    assert.equal(planLiveUpdate([], ['a']).action, 'rebuild');
    const noSync = planLiveUpdate([{ run: 'make' }, { restart: true }], ['main.go']);
    assert.deepEqual(noSync, { action: 'rebuild', reason: 'main.go changed and the liveUpdate rules have no sync step', file: 'main.go' });
  });

  it('does not treat a folder name as a prefix of a sibling folder', () => {
    const plan = planLiveUpdate([{ sync: { from: 'src', to: 'out' } }], ['src-old/a.ts']);
    assert.equal(plan.action, 'rebuild');
  });

  it('maps a file rule to its destination file, or into a destination folder ending in /', () => {
    const steps: LiveUpdateStep[] = [{ sync: { from: 'config.json', to: 'dist/config.json' } }, { sync: { from: 'VERSION', to: 'meta/' } }];
    const plan = planLiveUpdate(steps, ['config.json', 'VERSION']);
    assert.deepEqual(plan.action === 'update' && plan.copies, [
      { from: 'config.json', to: 'dist/config.json' },
      { from: 'VERSION', to: 'meta/VERSION' },
    ]);
  });

  it('syncs a whole project with "." and keeps the relative layout', () => {
    const plan = planLiveUpdate([{ sync: { from: '.', to: '/app' } }], ['lib/x/y.py']);
    assert.deepEqual(plan.action === 'update' && plan.copies, [{ from: 'lib/x/y.py', to: '/app/lib/x/y.py' }]);
  });

  it('accepts ./-prefixed and trailing-slash paths in rules and files', () => {
    const plan = planLiveUpdate([{ sync: { from: './static/', to: 'public' } }], ['./static/logo.svg']);
    assert.deepEqual(plan.action === 'update' && plan.copies, [{ from: 'static/logo.svg', to: 'public/logo.svg' }]);
  });

  it('syncs with a glob `from` relative to the glob\'s static base', () => {
    const plan = planLiveUpdate([{ sync: { from: 'web/**/*.css', to: 'dist' } }], ['web/theme/dark.css']);
    assert.deepEqual(plan.action === 'update' && plan.copies, [{ from: 'web/theme/dark.css', to: 'dist/theme/dark.css' }]);
    assert.equal(planLiveUpdate([{ sync: { from: 'web/**/*.css', to: 'dist' } }], ['web/app.ts']).action, 'rebuild');
  });

  it('copies a file to every sync rule that covers it', () => {
    const plan = planLiveUpdate([{ sync: { from: 'shared', to: 'a/shared' } }, { sync: { from: 'shared', to: 'b/shared' } }], ['shared/x.js']);
    assert.deepEqual(plan.action === 'update' && plan.copies.map((c) => c.to), ['a/shared/x.js', 'b/shared/x.js']);
  });

  it('restart is false unless a restart step is present', () => {
    const plan = planLiveUpdate([{ sync: { from: 'src', to: 'src' } }], ['src/a.html']);
    assert.deepEqual(plan, { action: 'update', copies: [{ from: 'src/a.html', to: 'src/a.html' }], runs: [], restart: false });
  });

  it('an empty change is an update that does nothing', () => {
    assert.deepEqual(planLiveUpdate(rules, []), { action: 'update', copies: [], runs: ['echo always'], restart: true });
  });

  it('matches dotfiles with globs', () => {
    assert.ok(matches('src/.env', 'src/**'));
    assert.ok(matches('src/.env', 'src'));
    assert.ok(!matches('srcx/.env', 'src'));
  });
});

describe('liveUpdateOrderProblems', () => {
  it('accepts Tilt\'s order', () => {
    assert.deepEqual(liveUpdateOrderProblems(rules), []);
  });
  it('names a step that comes too late', () => {
    assert.deepEqual(liveUpdateOrderProblems([{ sync: { from: 'a', to: 'b' } }, { restart: true }, { run: 'x' }]), [
      'liveUpdate[2] (run) comes after a restart step; steps apply as fallBackOn, sync, run, restart',
    ]);
  });
});

describe('syncTargetIssues', () => {
  const dir = '/work/proj/api';
  it('accepts targets that stay inside the folder, even through ..', () => {
    assert.deepEqual(syncTargetIssues([{ sync: { from: 'a', to: 'public' } }, { sync: { from: 'b', to: 'x/../y' } }, { sync: { from: 'c', to: '.' } }, { restart: true }], dir), []);
  });
  it('names absolute and escaping targets with their step index', () => {
    assert.deepEqual(syncTargetIssues([
      { fallBackOn: 'package.json' },
      { sync: { from: 'public', to: '/app/public' } },
      { sync: { from: 'a', to: '../outside' } },
      { sync: { from: 'b', to: 'x/../../outside' } },
      { sync: { from: 'c', to: '..' } },
      { sync: { from: 'd', to: '..foo' } },
    ], dir), [
      { index: 1, to: '/app/public', kind: 'absolute' },
      { index: 2, to: '../outside', kind: 'escaping' },
      { index: 3, to: 'x/../../outside', kind: 'escaping' },
      { index: 4, to: '..', kind: 'escaping' },
    ]);
  });
});
