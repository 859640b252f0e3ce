import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { chooseContainer, execFailure, readyInstances, staleInstance, syncCommand, syncEntries } from './liveupdate.js';

const IMAGE = '127.0.0.1:5001/devloop-x-web@sha256:aaa';

function pod(name: string, opts: { uid?: string; ready?: boolean; deleting?: boolean; running?: boolean; containerID?: string; containers?: [string, string][] } = {}): V1Pod {
  const containers = opts.containers ?? [['web', IMAGE]];
  return {
    metadata: { name, uid: opts.uid ?? `uid-${name}`, namespace: 'ns', ...(opts.deleting ? { deletionTimestamp: new Date() } : {}) },
    spec: { containers: containers.map(([n, image]) => ({ name: n, image })) },
    status: {
      conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True' }],
      containerStatuses: containers.map(([n, image]) => ({
        name: n, image, imageID: '', ready: true, restartCount: 0,
        containerID: opts.containerID ?? `containerd://${name}-${n}`,
        state: opts.running === false ? { waiting: { reason: 'ContainerCreating' } } : { running: { startedAt: new Date() } },
      })),
    },
  };
}

test('the container updated is the one running the image devloop built, else the first', () => {
  const p = pod('a', { containers: [['sidecar', 'envoy:1'], ['app', IMAGE]] });
  assert.equal(chooseContainer(p, IMAGE), 'app');
  assert.equal(chooseContainer(p, 'other:1'), 'sidecar');
  assert.equal(chooseContainer(p, undefined), 'sidecar');
  assert.equal(chooseContainer({ spec: { containers: [] } }, IMAGE), undefined);
});

test('only ready pods with the container running are updated; pods being deleted are not', () => {
  const got = readyInstances([
    pod('ok'),
    pod('unready', { ready: false }),
    pod('deleting', { deleting: true }),
    pod('starting', { running: false }),
  ], IMAGE);
  assert.deepEqual(got, [{ pod: 'ok', uid: 'uid-ok', container: 'web', containerID: 'containerd://ok-web', supervised: false }]);
  const supervised = pod('s');
  supervised.metadata!.annotations = { 'devloop.dev/supervised': 'web' };
  assert.equal(readyInstances([supervised], IMAGE)[0].supervised, true, 'the pod template said the container runs under the supervisor');
});

test('a pod is stale when the live updates never reached it or its container started again since', () => {
  const updated = new Map([['uid-a', 'containerd://a-web']]);
  assert.equal(staleInstance([pod('a')], IMAGE, updated), undefined, 'the updated instance is not stale');
  assert.equal(staleInstance([pod('a'), pod('b')], IMAGE, updated)?.metadata?.name, 'b', 'a new pod (a replacement) is');
  assert.equal(staleInstance([pod('a', { containerID: 'containerd://again' })], IMAGE, updated)?.metadata?.name, 'a', 'a restarted container is');
  assert.equal(staleInstance([pod('a'), pod('old', { deleting: true })], IMAGE, updated), undefined, 'a pod on its way out is not');
  assert.equal(staleInstance([pod('b', { running: false, containerID: '' })], IMAGE, updated)?.metadata?.name, 'b', 'a new pod still pending is');
});

test('the sync command unpacks at / as the container user and removes deletions in the same exec', () => {
  assert.deepEqual(syncCommand(true, []), ['sh', '-c', 'tar -xof - -C / && if [ $# -gt 0 ]; then rm -rf -- "$@"; fi', 'devloop-sync']);
  assert.deepEqual(syncCommand(false, ['/www/a b.txt']), ['sh', '-c', 'if [ $# -gt 0 ]; then rm -rf -- "$@"; fi', 'devloop-sync', '/www/a b.txt']);
});

test('a failed exec says what is missing, or that the pod is gone, or the exit code and output', () => {
  const noSh = 'Internal error occurred: error executing command in container: failed to exec in container: OCI runtime exec failed: exec failed: unable to start container process: exec: "sh": executable file not found in $PATH: unknown';
  assert.match(execFailure('copying into pod p', undefined, noSh, []), /^copying into pod p: the container has no `sh` \(live update into pods copies files with sh and tar/);
  assert.match(execFailure('copying into pod p', 127, '', ['sh: tar: not found']), /^copying into pod p: the container has no `tar`/);
  assert.equal(execFailure('copying into pod p', undefined, 'Unexpected server response: 404', []), 'copying into pod p: the pod is gone (404)');
  assert.match(execFailure('copying into pod p', undefined, 'Unexpected server response: 403', []), /exec refused \(403\)/);
  assert.equal(execFailure('copying into pod p', 1, '', ["tar: can't create directory 'proc/x': No such file or directory", 'x']), "copying into pod p failed with exit code 1 (output: tar: can't create directory 'proc/x': No such file or directory / x)");
});

test('sync entries: files, folders and links under their destination, relative ones under the workdir; missing files are deletions', async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'devloop-k8s-lu-'));
  try {
    mkdirSync(path.join(root, 'www', 'sub'), { recursive: true });
    writeFileSync(path.join(root, 'www', 'index.html'), 'x');
    writeFileSync(path.join(root, 'www', 'sub', 'a.txt'), 'y');
    symlinkSync('index.html', path.join(root, 'www', 'link'));
    const { entries, deletions } = await syncEntries(root, [
      { from: 'www/index.html', to: '/srv/www/index.html' },
      { from: 'www/sub', to: 'public/sub' },
      { from: 'www/link', to: '/srv/www/link' },
      { from: 'www/gone.txt', to: '/srv/www/gone.txt' },
    ], '/app');
    assert.deepEqual(entries.map((e) => [e.name, e.type, e.linkname]), [
      ['srv/www/index.html', 'file', undefined],
      ['app/public/sub', 'directory', undefined],
      ['app/public/sub/a.txt', 'file', undefined],
      ['srv/www/link', 'symlink', 'index.html'],
    ]);
    assert.deepEqual(deletions, ['/srv/www/gone.txt']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
