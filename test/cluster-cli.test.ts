// `devloop cluster create|delete`. No kind node image can be pulled on this machine, so the
// cluster itself is not created here (the note says so); what is tested: the missing-tool answer,
// a bad flag, and that the files the command hands to kind, containerd and kubectl are what kind's
// local-registry recipe documents.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { hostsToml, kindConfig, registryConfigMap, REGISTRY_CONTAINER } from '../bin/commands/cluster.js';
import { runCli } from './helpers.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'devloop-cluster-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('devloop cluster', () => {
  it('without kind on PATH, says which tool is missing and how to get it (exit 1), for create and delete', async () => {
    for (const verb of ['create', 'delete']) {
      const r = await runCli(['cluster', verb], { cwd: dir, env: { PATH: path.dirname(process.execPath) } });
      assert.equal(r.code, 1, `${verb}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /`kind` was not found on PATH/);
      assert.match(r.stderr, /kind\.sigs\.k8s\.io\/docs\/user\/quick-start/);
    }
  });

  it('rejects a registry port that is not one (exit 2)', async () => {
    const r = await runCli(['cluster', 'create', '--registry-port', '99999'], { cwd: dir });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--registry-port.*expected a port number/);
  });

  it('hands kind, containerd and kubectl what the local-registry recipe documents', () => {
    const config = parse(kindConfig());
    assert.equal(config.kind, 'Cluster');
    assert.equal(config.apiVersion, 'kind.x-k8s.io/v1alpha4');
    assert.match(config.containerdConfigPatches[0], /\[plugins\."io\.containerd\.grpc\.v1\.cri"\.registry\]\n\s+config_path = "\/etc\/containerd\/certs\.d"/);
    assert.equal(hostsToml(), `[host."http://${REGISTRY_CONTAINER}:5000"]\n`);
    const cm = parse(registryConfigMap(5002));
    assert.deepEqual(cm.metadata, { name: 'local-registry-hosting', namespace: 'kube-public' });
    assert.equal(parse(cm.data['localRegistryHosting.v1']).host, 'localhost:5002');
  });
});
