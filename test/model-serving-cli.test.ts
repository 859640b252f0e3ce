/**
 * Model serving through the CLI, as a user runs it: `devloop models serve FILE.onnx`, and a
 * Devfile whose `ai.modelServing` models run as services under `devloop up` (real processes, real
 * onnxruntime-node, models made by test/onnx-models.ts).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { findFreePort, isPortFree } from '../plugins/shared/ports.js';
import { cliPath, runCli, startCli, until, type RunningCli } from './helpers.js';
import { matmulAdd, SMALL_MATMUL, smallMatmulRow, writeModel } from './onnx-models.js';

const temps: string[] = [];
const running: RunningCli[] = [];
after(async () => {
  for (const cli of running) if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-models-cli-')));
  temps.push(dir);
  return dir;
}

async function infer(base: string, model: string, row: number[]): Promise<{ status: number; json: any }> {
  const res = await fetch(`${base}/v2/models/${model}/infer`, { method: 'POST', body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: row }] }) });
  return { status: res.status, json: await res.json().catch(() => undefined) };
}

describe('devloop models serve', () => {
  test('serves a .onnx file in the foreground and stops cleanly on Ctrl-C', { timeout: 60_000 }, async () => {
    const dir = tempDir();
    writeModel(path.join(dir, 'My Model.onnx'), matmulAdd(SMALL_MATMUL));
    const port = await findFreePort();
    const child = spawn(process.execPath, [cliPath, 'models', 'serve', 'My Model.onnx', '--port', String(port), '--max-batch-size', '4', '--max-batch-delay-ms', '1'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      await until(() => out.includes('serving model'), 30_000, `the serving line; output so far:\n${out}`);
      // The name comes from the file: lowercased, spaces to "-".
      assert.match(out, new RegExp(`serving model "my-model" at http://127\\.0\\.0\\.1:${port}/v2/models/my-model \\(Open Inference Protocol v2, batching up to 4 rows or 1 ms\\)`));
      const base = `http://127.0.0.1:${port}`;
      const r = await infer(base, 'my-model', [1, 2, 3]);
      assert.equal(r.status, 200);
      assert.deepEqual(r.json.outputs[0].data, smallMatmulRow([1, 2, 3]));
    } finally {
      child.kill('SIGINT');
    }
    assert.equal(await exited, 0, out);
    assert.match(out, /SIGINT: finishing requests in flight, then stopping/);
    assert.ok(await isPortFree(port), 'the port is free after Ctrl-C');
  });

  test('a corrupt model file exits 1 saying why; a missing one exits 2', { timeout: 60_000 }, async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'broken.onnx'), 'not a model');
    const corrupt = await runCli(['models', 'serve', 'broken.onnx', '--port', '0'], { cwd: dir });
    assert.equal(corrupt.code, 1, corrupt.stdout + corrupt.stderr);
    assert.match(corrupt.stderr, /error: model "broken" did not start: cannot load .*broken\.onnx: .*protobuf parsing failed/);
    const missing = await runCli(['models', 'serve', 'nope.onnx'], { cwd: dir });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /model file not found: .*nope\.onnx/);
    const badFlag = await runCli(['models', 'serve', 'broken.onnx', '--max-batch-size', '0'], { cwd: dir });
    assert.equal(badFlag.code, 2);
    assert.match(badFlag.stderr, /--max-batch-size.*expected an integer of at least 1/);
  });
});

describe('ai.modelServing in a Devfile', () => {
  test('models run as services: served, reloaded in place, a broken one failed alone and restarted once fixed', { timeout: 120_000 }, async () => {
    const dir = tempDir();
    writeModel(path.join(dir, 'mm.onnx'), matmulAdd(SMALL_MATMUL));
    writeFileSync(path.join(dir, 'bad.onnx'), 'garbage, not a model');
    const [mmPort, badPort] = [await findFreePort(), await findFreePort()];
    writeFileSync(path.join(dir, 'Devfile.ts'), `import { defineDevfile } from 'devloop';
export default defineDevfile({
  services: {},
  ai: {
    modelServing: {
      models: [
        { name: 'mm', path: 'mm.onnx', port: ${mmPort}, maxBatchSize: 8, maxBatchDelayMs: 2 },
        { name: 'broken', path: 'bad.onnx', port: ${badPort} },
      ],
    },
  },
});
`);
    const up = startCli(['up', '--output', 'json'], { cwd: dir });
    running.push(up);
    const base = `http://127.0.0.1:${mmPort}`;
    try {
      await up.waitFor((e) => e.type === 'service/health' && e.service === 'mm' && e.health === 'healthy', 60_000, 'mm healthy');
      const failed = await up.waitFor((e) => e.type === 'service/failed' && e.service === 'broken', 60_000, 'broken failed');
      assert.match(failed.error.message, /cannot load .*bad\.onnx/);
      // The broken model did not take the good one down.
      const first = await infer(base, 'mm', [1, 1, 1]);
      assert.deepEqual(first.json.outputs[0].data, [9.5, 11]);

      const status = await runCli(['status', '--output', 'json'], { cwd: dir });
      const services = JSON.parse(status.stdout).services;
      assert.equal(services.mm.phase, 'healthy');
      assert.equal(services.broken.phase, 'failed');

      // A new model file (saved by rename, as exporters do): reloaded by the running server.
      const deploysBefore = up.events.filter((e) => e.type === 'deploy/finished' && e.service === 'mm').length;
      writeFileSync(path.join(dir, 'mm.onnx.tmp'), matmulAdd({ ...SMALL_MATMUL, bias: [100, 200] }));
      renameSync(path.join(dir, 'mm.onnx.tmp'), path.join(dir, 'mm.onnx'));
      await until(async () => (await infer(base, 'mm', [1, 1, 1])).json?.outputs[0].data[0] === 109, 30_000, 'the new weights served');
      await up.waitFor((e) => e.type === 'log' && e.line?.service === 'mm' && /reloaded version 1/.test(e.line?.message ?? ''), 10_000, 'the reload line in mm\'s log');
      await up.waitFor((e) => e.type === 'log' && e.line?.service === 'mm' && /model file changed: the model server reloads it in place/.test(e.line?.message ?? ''), 10_000, 'the plugin choosing no rebuild');
      assert.equal(up.events.filter((e) => e.type === 'deploy/finished' && e.service === 'mm').length, deploysBefore, 'mm was not redeployed');

      // Fixing the broken file brings that service up.
      writeModel(path.join(dir, 'bad.onnx'), matmulAdd(SMALL_MATMUL));
      await up.waitFor((e) => e.type === 'service/health' && e.service === 'broken' && e.health === 'healthy', 60_000, 'broken healthy once fixed');
      assert.deepEqual((await infer(`http://127.0.0.1:${badPort}`, 'broken', [0, 0, 1])).json.outputs[0].data, smallMatmulRow([0, 0, 1]));
    } finally {
      up.child.kill('SIGINT');
    }
    assert.equal(await up.exited, 0, up.stderr());
    assert.ok(await isPortFree(mmPort) && await isPortFree(badPort), 'no model server left listening');
  });
});
