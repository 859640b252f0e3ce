import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SUPERVISOR_SCRIPT } from '../docker/supervisor.js';
import type { LoadedObject } from './manifests.js';
import { ANNOTATION_SUPERVISED, supervise, wantsRestart } from './restart.js';

const IMAGE = '127.0.0.1:5001/devloop-x-web@sha256:aaa';
const head = ['/bin/sh', '-c', SUPERVISOR_SCRIPT, 'devloop-supervisor', '2'];

function deployment(containers: Record<string, unknown>[]): LoadedObject {
  return { source: 'k8s/web.yaml:1', object: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { template: { metadata: { labels: { app: 'web' } }, spec: { containers } } } } };
}
const template = (o: LoadedObject) => (o.object as any).spec.template;

test('only a liveUpdate with a restart step asks for the supervisor', () => {
  assert.equal(wantsRestart([{ sync: { from: 'a', to: 'b' } }, { restart: true }]), true);
  assert.equal(wantsRestart([{ sync: { from: 'a', to: 'b' } }]), false);
  assert.equal(wantsRestart(undefined), false);
});

test('the container built for the service runs its image command under the supervisor, and the pod template says which', () => {
  const o = deployment([{ name: 'proxy', image: 'envoy:1' }, { name: 'app', image: IMAGE }]);
  assert.deepEqual(supervise([o], IMAGE, { entrypoint: ['docker-entrypoint.sh'], cmd: ['node', 'server.js'] }), ['deployment/web:app']);
  const [proxy, app] = template(o).spec.containers;
  assert.deepEqual(app.command, head);
  assert.deepEqual(app.args, ['docker-entrypoint.sh', 'node', 'server.js']);
  assert.equal(proxy.command, undefined, 'other containers are left alone');
  assert.deepEqual(template(o).metadata, { labels: { app: 'web' }, annotations: { [ANNOTATION_SUPERVISED]: 'app' } });
});

test("the manifest's command and args win over the image's, as Kubernetes runs them", () => {
  const own = deployment([{ name: 'app', image: IMAGE, command: ['/srv/app'], args: ['--port', '80'] }]);
  supervise([own], IMAGE, undefined);
  assert.deepEqual(template(own).spec.containers[0].args, ['/srv/app', '--port', '80']);
  const args = deployment([{ name: 'app', image: IMAGE, args: ['--debug'] }]);
  supervise([args], IMAGE, { entrypoint: ['/entry'], cmd: ['serve'] });
  assert.deepEqual(template(args).spec.containers[0].args, ['/entry', '--debug'], 'args replace the CMD, not the ENTRYPOINT');
});

test('an image without a shell or an unknown command is not wrapped', () => {
  const o = deployment([{ name: 'app', image: IMAGE }]);
  assert.deepEqual(supervise([o], IMAGE, undefined), []);
  assert.equal(template(o).spec.containers[0].command, undefined);
  assert.equal(template(o).metadata.annotations, undefined);
});
