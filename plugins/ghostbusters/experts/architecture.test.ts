import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { openRepo } from '../repo.js';
import type { Finding } from '../types.js';
import { architectureExpert, createArchitectureExpert } from './architecture.js';
import { compileLayers } from './layers.js';

const repoRoot = path.resolve(import.meta.dirname, '../../..');
const fixtures = path.join(repoRoot, 'test/fixtures/ghostbusters-quality');
const where = (fs: Finding[]) => fs.map((f) => `${f.file}:${f.line}:${f.column} ${f.ruleId}`);
const signal = () => new AbortController().signal;

describe('architecture expert', () => {
  it('finds the value cycle, the type-only cycle and the layer rule the Devfile declares, each once', async () => {
    const found = await architectureExpert.detect(openRepo(path.join(fixtures, 'planted')), signal());
    assert.deepEqual(where(found), [
      'src/core/engine.ts:2:1 architecture/layer-violation',
      'src/cycle-b.ts:1:1 architecture/import-cycle',
      'src/type-a.ts:1:1 architecture/type-import-cycle',
    ]);
    assert.match(found[0].message, /must not import src\/ui\/\*\*: the engine runs headless/);
    assert.match(found[1].message, /src\/cycle-a\.ts -> src\/cycle-b\.ts -> src\/cycle-a\.ts/);
    assert.deepEqual(found.map((f) => f.severity), ['error', 'warning', 'note']);
  });

  it('reports nothing on the clean fixture', async () => {
    assert.deepEqual(where(await architectureExpert.detect(openRepo(path.join(fixtures, 'clean')), signal())), []);
  });

  it('says where a malformed layers field is, and still reports cycles', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gb-arch-'));
    try {
      writeFileSync(path.join(dir, 'Devfile.ts'), "export default {\n  services: {},\n  ai: { ghostbusters: { layers: 'core' } },\n};\n");
      writeFileSync(path.join(dir, 'a.ts'), "import { b } from './b.js';\nexport const a = b;\n");
      writeFileSync(path.join(dir, 'b.ts'), "import { a } from './a.js';\nexport const b = 1;\nexport const c = () => a;\n");
      const found = await architectureExpert.detect(openRepo(dir), signal());
      assert.deepEqual(where(found), ['b.ts:1:1 architecture/import-cycle', 'Devfile.ts:3:33 architecture/layers-unchecked']);
      assert.match(found[1].message, /ai\.ghostbusters\.layers:? must be a list/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('matches package names and their subpaths, and repository globs', () => {
    const [rule] = compileLayers([{ from: 'core/**', notImport: ['react', '@scope/pkg', 'ui/**'] }]);
    assert.equal(rule.forbids('core/a.ts', 'react/jsx-runtime', undefined), 'react');
    assert.equal(rule.forbids('core/a.ts', 'react-dom', undefined), undefined);
    assert.equal(rule.forbids('core/a.ts', '@scope/pkg/x', undefined), '@scope/pkg');
    assert.equal(rule.forbids('core/a.ts', '../ui/view.js', 'ui/view.tsx'), 'ui/**');
    assert.equal(rule.forbids('plugins/a.ts', 'react', undefined), undefined);
  });

  it('holds this repository to ARCHITECTURE.md: core/ never imports ink, react or ui/', async () => {
    const expert = createArchitectureExpert({ layers: [{ from: 'core/**', notImport: ['ink', 'react', 'ui/**'] }] });
    const found = await expert.detect(openRepo(repoRoot), signal());
    assert.deepEqual(found.filter((f) => f.ruleId === 'architecture/layer-violation'), []);
  });
});
