// SIGTERM as Cloud Run sends it: a request in flight still gets its answer, new connections are
// refused, and the process exits 0. A real process on a real port.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { it } from 'node:test';

const freePort = () => new Promise<number>((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address() as { port: number }; s.close(() => resolve(port)); });
});

it('SIGTERM: the in-flight request completes, then the server exits 0', { timeout: 30_000 }, async () => {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./server.ts', import.meta.url).pathname], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      try { if ((await fetch(`${url}/health`)).ok) break; } catch { /* not listening yet */ }
      if (i > 200) throw new Error(`the server did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const inFlight = fetch(`${url}/agents/sleep/execute`, { method: 'POST', body: '{"ms": 1500}' });
    for (let i = 0; !out.includes('agent sleep started'); i++) {
      if (i > 100) throw new Error(`the request never reached the agent:\n${out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGTERM');
    const res = await inFlight;
    assert.equal(res.status, 200);
    assert.deepEqual(((await res.json()) as { result: unknown }).result, { slept: 1500 });
    assert.equal(await exited, 0, out);
    await assert.rejects(fetch(`${url}/health`), 'no longer accepting');
    assert.match(out, /"message":"SIGTERM: drained, exiting"/);
    for (const line of out.trim().split('\n')) assert.ok(typeof JSON.parse(line).severity === 'string', `a Cloud Logging line: ${line}`);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
