// The model-serving recipe as a new user runs it: `devloop ci` on recipes/model-serving serves
// both models and its two declared tests pass (their exact answers are checked by the recipe's
// scripts); under `devloop up` the embedding model's /v1/embeddings gives the vectors worked out
// by hand, and Ctrl-C stops it cleanly. The committed models are what make-models.ts makes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, it } from 'node:test';
import { findFreePort, isPortFree } from '../plugins/shared/ports.js';
import { repoRoot, runCli, startCli, type RunningCli } from './helpers.js';

const recipe = path.join(repoRoot, 'recipes', 'model-serving');
const dirs: string[] = [];
const running: RunningCli[] = [];
after(() => {
  for (const cli of running) if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-recipe-models-')));
  dirs.push(dir);
  return dir;
}

/** The recipe in a temp folder, its fixed ports (8500, 8501) swapped for free ones so suites running at once cannot clash. */
async function copyRecipe(): Promise<{ dir: string; matmulPort: number; embedPort: number }> {
  const dir = tempDir();
  cpSync(recipe, dir, { recursive: true, filter: (src) => !src.includes('.devloop') });
  const [matmulPort, embedPort] = [await findFreePort(), await findFreePort()];
  const devfile = path.join(dir, 'Devfile.ts');
  const source = readFileSync(devfile, 'utf8');
  const rewritten = source.replace('port: 8500,', `port: ${matmulPort},`).replace('port: 8501 }', `port: ${embedPort} }`);
  assert.equal((rewritten.match(new RegExp(`port: (${matmulPort}|${embedPort})\\b`, 'g')) ?? []).length, 2, 'both fixed ports were rewritten');
  writeFileSync(devfile, rewritten);
  return { dir, matmulPort, embedPort };
}

it('recipes/model-serving: devloop ci serves both models and its two tests pass', { timeout: 120_000 }, async () => {
  const { dir, matmulPort, embedPort } = await copyRecipe();
  const r = await runCli(['ci'], { cwd: dir, timeoutMs: 90_000 });
  const out = r.stdout + r.stderr;
  assert.equal(r.code, 0, out);
  assert.match(out, new RegExp(`matmul +✔ healthy +http://127\\.0\\.0\\.1:${matmulPort}`));
  assert.match(out, new RegExp(`embed +✔ healthy +http://127\\.0\\.0\\.1:${embedPort}`));
  // The recipe's scripts print each answer; all four MatMul rows and the embeddings were right.
  assert.equal((out.match(/\[matmul answers\] ok /g) ?? []).length, 4, out);
  assert.match(out, /\[embed answers\] ok +\[\[1,2,3\],\[4,4,7\]\] -> \[\[2,20,-2\],\[5,50,-5\]\]/);
  assert.doesNotMatch(out, /FAIL/);
  assert.match(out, /test matmul answers passed in \d+ ms/);
  assert.match(out, /test embed answers passed in \d+ ms/);
  assert.match(r.stdout, /ci: all 2 services healthy, 2 tests passed/);
  assert.ok(await isPortFree(matmulPort) && await isPortFree(embedPort), 'ci stopped both model servers');
});

it('recipes/model-serving: under devloop up, /v1/embeddings gives the hand-computed vectors; Ctrl-C exits 0', { timeout: 120_000 }, async () => {
  const { dir, embedPort } = await copyRecipe();
  const up = startCli(['up', '--output', 'json'], { cwd: dir });
  running.push(up);
  try {
    await up.waitFor((e) => e.type === 'service/health' && e.service === 'matmul' && e.health === 'healthy', 60_000, 'matmul healthy');
    const healthy = await up.waitFor((e) => e.type === 'service/health' && e.service === 'embed' && e.health === 'healthy', 60_000, 'embed healthy');
    const url = healthy.state.endpoints[0].url as string;
    assert.equal(url, `http://127.0.0.1:${embedPort}`);
    const res = await fetch(`${url}/v1/embeddings`, { method: 'POST', body: JSON.stringify({ model: 'embed', input: [[1, 2, 3], [9], [0, 5]] }) });
    assert.equal(res.status, 200);
    const body = await res.json() as { model: string; data: { index: number; embedding: number[] }[] };
    // Token t is [t, 10t, -t]; a row is the mean of its tokens.
    assert.equal(body.model, 'embed');
    assert.deepEqual(body.data.map((d) => [d.index, d.embedding]), [[0, [2, 20, -2]], [1, [9, 90, -9]], [2, [2.5, 25, -2.5]]]);
  } finally {
    up.child.kill('SIGINT');
  }
  assert.equal(await up.exited, 0, up.stderr());
  assert.ok(await isPortFree(embedPort), 'the port is free after Ctrl-C');
});

it('recipes/model-serving: the committed models are what make-models.ts makes', { timeout: 60_000 }, () => {
  const out = tempDir();
  execFileSync(process.execPath, ['--import', 'tsx', path.join(recipe, 'make-models.ts'), out], { cwd: repoRoot, stdio: 'pipe' });
  for (const file of ['matmul.onnx', 'embed.onnx']) {
    assert.ok(readFileSync(path.join(out, file)).equals(readFileSync(path.join(recipe, 'models', file))), `models/${file} is stale: run \`npx tsx recipes/model-serving/make-models.ts\``);
  }
});
