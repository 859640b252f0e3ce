/**
 * `devloop doctor`'s advice is run, not only read: the registry command it prints serves a
 * registry at the address devloop looks at, which takes a push; and it suggests no Kubernetes
 * tool, as only services on the kubernetes runtime need a cluster.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { findFreePort } from '../plugins/shared/ports.js';
import { docker, runCli, until } from './helpers.js';

describe('doctor', { timeout: 120_000 }, () => {
  it('the registry command it gives serves on the address asked and takes a push; Kubernetes is "only needed by" that runtime', { timeout: 90_000 }, async (t) => {
    const home = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-doctor-')));
    t.after(() => rmSync(home, { recursive: true, force: true }));
    const hostPort = `127.0.0.1:${await findFreePort()}`;
    const env = { HOME: home, KUBECONFIG: path.join(home, 'no-kubeconfig'), DEVLOOP_REGISTRY: hostPort };
    const r = await runCli(['doctor'], { cwd: home, env });
    assert.match(r.stdout, new RegExp(`no registry at ${hostPort.replace(/\./g, '\\.')}`));
    assert.doesNotMatch(r.stdout, /kind create cluster|minikube|k3d/);
    assert.match(r.stdout, /Kubernetes: no kubeconfig at .*; only needed by services with runtime "kubernetes"/);

    const command = r.stdout.split('\n').map((l) => l.trim()).find((l) => l.startsWith('mkdir -p '));
    assert.ok(command, `no registry command in:\n${r.stdout}`);
    assert.ok(command.includes(`addr: ${hostPort}`), command);
    const registry = spawn('bash', ['-c', command.replace('&& docker-registry', '&& exec docker-registry')], { env: { ...process.env, HOME: home }, stdio: 'ignore', detached: true });
    const tag = `${hostPort}/devloop-doctor-probe:${process.pid}`;
    t.after(() => { try { process.kill(-registry.pid!, 'SIGTERM'); } catch { /* gone */ } });
    t.after(() => { try { docker('rmi', tag); } catch { /* not made */ } });
    await until(async () => (await fetch(`http://${hostPort}/v2/`).catch(() => undefined))?.status === 200, 20_000, `the registry answering 200 on ${hostPort}`);
    docker('tag', 'devloop-test/busybox:latest', tag);
    assert.match(docker('push', tag), /digest: sha256:/);

    const again = await runCli(['doctor'], { cwd: home, env });
    assert.match(again.stdout, new RegExp(`Registry: registry API answers at ${hostPort.replace(/\./g, '\\.')}`));
  });
});
