// resolvePlugins: inline objects, relative .ts paths with options, devloop:<name> built-ins, npm names.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { DevloopError } from '../errors.js';
import { resolvePlugin, resolvePlugins, type BuiltinRegistry } from './resolve.js';
import type { DevloopPlugin } from './types.js';

const temps: string[] = [];
after(() => { for (const d of temps) rmSync(d, { recursive: true, force: true }); });

function tempProject(files: Record<string, string>): string {
  const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-resolve-')));
  temps.push(dir);
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

/** A plugin that remembers the options it was made with. */
type Probe = DevloopPlugin & { options: unknown };

describe('resolvePlugins', { timeout: 30_000 }, () => {
  it('returns an inline object as it is', async () => {
    const inline: DevloopPlugin = { name: 'inline', apply() {} };
    const [p] = await resolvePlugins([inline], { root: os.tmpdir() });
    assert.equal(p, inline);
  });

  it('rejects an inline object that is not a plugin', async () => {
    await assert.rejects(resolvePlugins([{ name: '', apply() {} } as DevloopPlugin], { root: os.tmpdir() }), (err: DevloopError) => {
      assert.equal(err.code, 'PLUGIN_INVALID');
      assert.match(err.message, /^plugins\.0: inline plugin is not a devloop plugin: expected an object \{ name: string, apply\(engine\) \}/);
      return true;
    });
  });

  it('loads a relative .ts path, calling its default export with the options of the tuple', async () => {
    const root = tempProject({
      'tools/probe.ts': `
interface Options { verbose?: boolean }
export default function probe(options: Options = {}) {
  const verbose: boolean = options.verbose ?? false;
  return { name: 'probe', options: { ...options, verbose }, apply(_engine: unknown) {} };
}
`,
    });
    const [withOptions, bare, noExtension] = await resolvePlugins([['./tools/probe.ts', { verbose: true, level: 2 }], './tools/probe.ts', './tools/probe'], { root }) as Probe[];
    assert.equal(withOptions.name, 'probe');
    assert.deepEqual(withOptions.options, { verbose: true, level: 2 });
    assert.deepEqual(bare.options, { verbose: false });
    assert.deepEqual(noExtension.options, { verbose: false });
  });

  it('says which relative path was not found', async () => {
    const root = tempProject({});
    await assert.rejects(resolvePlugin('./tools/missing.ts', 3, { root }), (err: DevloopError) => {
      assert.equal(err.code, 'PLUGIN_NOT_FOUND');
      assert.equal(err.message, `plugins.3: plugin file "./tools/missing.ts" not found (looked for ${path.join(root, 'tools/missing.ts')})`);
      return true;
    });
  });

  it('makes devloop:<name> from the built-ins, with the options of the tuple', async () => {
    const made: unknown[] = [];
    const builtins: BuiltinRegistry = {
      'devloop:alpha': (options) => { made.push(options); return { name: 'devloop:alpha', apply() {} }; },
      'devloop:beta': () => ({ name: 'devloop:beta', apply() {} }),
    };
    const plugins = await resolvePlugins(['devloop:alpha', ['devloop:beta', {}], ['devloop:alpha', { x: 1 }]], { root: os.tmpdir(), builtins });
    assert.deepEqual(plugins.map((p) => p.name), ['devloop:alpha', 'devloop:beta', 'devloop:alpha']);
    assert.deepEqual(made, [{}, { x: 1 }]);
  });

  it('names an unknown devloop:<name> and lists the built-ins', async () => {
    const builtins: BuiltinRegistry = { 'devloop:alpha': () => ({ name: 'devloop:alpha', apply() {} }), 'devloop:beta': () => ({ name: 'devloop:beta', apply() {} }) };
    await assert.rejects(resolvePlugins(['devloop:alpha', 'devloop:nope'], { root: os.tmpdir(), builtins }), (err: DevloopError) => {
      assert.ok(err instanceof DevloopError);
      assert.equal(err.code, 'PLUGIN_NOT_FOUND');
      assert.equal(err.exitCode, 2);
      assert.equal(err.message, 'plugins.1: no built-in plugin named "devloop:nope"');
      assert.equal(err.hint, 'built-in plugins are: devloop:alpha, devloop:beta');
      return true;
    });
  });

  it('finds an npm name as devloop-plugin-<name> in the project\'s node_modules, with options', async () => {
    const root = tempProject({
      'node_modules/devloop-plugin-foo/package.json': JSON.stringify({ name: 'devloop-plugin-foo', type: 'module', exports: { '.': { import: './lib/index.js' } } }),
      'node_modules/devloop-plugin-foo/lib/index.js': "export default (options = {}) => ({ name: 'devloop-plugin-foo', options, apply() {} });\n",
    });
    // Resolved from a folder below the one holding node_modules, as a monorepo package would be.
    const nested = path.join(root, 'services', 'api');
    mkdirSync(nested, { recursive: true });
    const [short, full] = await resolvePlugins([['foo', { greeting: 'bonjour' }], 'devloop-plugin-foo'], { root: nested }) as Probe[];
    assert.equal(short.name, 'devloop-plugin-foo');
    assert.deepEqual(short.options, { greeting: 'bonjour' });
    assert.deepEqual(full.options, {});
  });

  it('says how to install an npm name that is not there', async () => {
    const root = tempProject({});
    await assert.rejects(resolvePlugin('bar', 0, { root }), (err: DevloopError) => {
      assert.equal(err.code, 'PLUGIN_NOT_FOUND');
      assert.equal(err.message, `plugins.0: plugin package "bar" is not installed in ${root}`);
      assert.equal(err.hint, 'install it: npm install -D devloop-plugin-bar');
      return true;
    });
  });
});
