// defineDevfile() is the identity at run time (asserting that would check nothing); what it is for
// is the type check an editor or tsc gives a Devfile. So these tests compile small Devfiles with
// the TypeScript compiler against the real define.ts and types.ts and assert the diagnostics.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';

const define = path.join(import.meta.dirname, 'define.ts');

/** Type-checks `source` as a Devfile.ts that imports defineDevfile; returns the error messages. */
function typeErrors(source: string): string[] {
  const file = path.join(import.meta.dirname, '__define_check__.ts');
  const text = `import { defineDevfile } from ${JSON.stringify(define.replace(/\.ts$/, '.js'))};\n${source}\n`;
  const options: ts.CompilerOptions = { strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, skipLibCheck: true, types: [] };
  const host = ts.createCompilerHost(options);
  const read = host.readFile.bind(host);
  host.readFile = (f) => (f === file ? text : read(f));
  const exists = host.fileExists.bind(host);
  host.fileExists = (f) => f === file || exists(f);
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).filter((d) => d.file?.fileName === file).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

test('defineDevfile type-checks a Devfile: valid object and function forms compile, mistakes do not', { timeout: 120_000 }, () => {
  assert.deepEqual(typeErrors(`export default defineDevfile({ services: { api: { port: 8080 } } });`), []);
  assert.deepEqual(typeErrors(`export default defineDevfile(async ({ mode, env }) => ({ name: mode, services: { api: { env: { HOME: env.HOME ?? '' } } } }));`), []);

  const misspelt = typeErrors(`export default defineDevfile({ services: { api: { prot: 8080 } } });`);
  assert.equal(misspelt.length, 1, misspelt.join('\n'));
  assert.match(misspelt[0], /'prot' does not exist/);

  const wrongType = typeErrors(`export default defineDevfile({ services: { api: { port: '8080' } } });`);
  assert.equal(wrongType.length, 1, wrongType.join('\n'));
  assert.match(wrongType[0], /'string' is not assignable to type 'number'/);

  // The function form is checked too: its context is typed and its result must be a DevfileConfig.
  const badResult = typeErrors(`export default defineDevfile(({ mode }) => ({ name: mode, services: { api: { port: true } } }));`);
  assert.ok(badResult.length >= 1 && badResult.some((m) => /not assignable/.test(m)), badResult.join('\n'));
  const badContext = typeErrors(`export default defineDevfile(({ nosuch }) => ({ services: {} }));`);
  assert.ok(badContext.some((m) => /nosuch/.test(m)), badContext.join('\n'));
});
