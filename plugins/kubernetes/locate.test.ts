import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fieldsFromError, formatFieldPath, locateField, parseFieldPath } from './locate.js';

const manifest = `apiVersion: v1
kind: ConfigMap
metadata: {name: first}
---
# the deployment
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: -1
  template:
    spec:
      containers:
      - name: side
        image: busybox
      - name: web
        image: web
        ports:
        - containerPort: "80"
          name: http
`;

describe('parseFieldPath', () => {
  it('reads keys, indexes and selectors, with or without the leading dot', () => {
    assert.deepEqual(parseFieldPath('spec.template.spec.containers[0].image'), ['spec', 'template', 'spec', 'containers', 0, 'image']);
    assert.deepEqual(parseFieldPath('.spec.replicas'), ['spec', 'replicas']);
    assert.deepEqual(parseFieldPath('.spec.containers[name="web"].ports[containerPort=80,protocol="TCP"].containerPort'),
      ['spec', 'containers', { match: { name: 'web' } }, 'ports', { match: { containerPort: '80', protocol: 'TCP' } }, 'containerPort']);
    assert.equal(formatFieldPath(parseFieldPath('spec.containers[name="web"].image')), 'spec.containers[name="web"].image');
  });
});

describe('fieldsFromError', () => {
  it('takes the Status causes first', () => {
    assert.deepEqual(fieldsFromError('whatever', [{ field: 'spec.replicas' }, { field: 'spec.replicas' }, { field: 'metadata.name' }]), ['spec.replicas', 'metadata.name']);
  });
  it('reads the paths of a validation message, one or several', () => {
    assert.deepEqual(fieldsFromError('Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0'), ['spec.replicas']);
    assert.deepEqual(fieldsFromError('Deployment.apps "web" is invalid: [spec.template.spec.containers[0].name: Required value, spec.selector: Required value]'),
      ['spec.template.spec.containers[0].name', 'spec.selector']);
  });
  it('reads the path of a schema error from server-side apply', () => {
    assert.deepEqual(fieldsFromError('failed to create typed patch object (ns/web; apps/v1, Kind=Deployment): .spec.replicas: expected numeric (int or float), got string'), ['.spec.replicas']);
  });
  it('finds none in a message without a field', () => {
    assert.deepEqual(fieldsFromError('namespaces "nope" not found'), []);
  });
});

describe('locateField', () => {
  it('finds the line of a field in the right document', () => {
    assert.deepEqual(locateField(manifest, 1, ['spec', 'replicas']), { line: 11, column: 3, found: 2 });
    assert.equal(locateField(manifest, 0, ['metadata', 'name'])?.line, 3);
  });
  it('follows indexes and selectors into lists', () => {
    assert.equal(locateField(manifest, 1, parseFieldPath('spec.template.spec.containers[1].image'))?.line, 18);
    assert.equal(locateField(manifest, 1, parseFieldPath('.spec.template.spec.containers[name="web"].image'))?.line, 18);
  });
  it('ignores selector keys the server defaulted and the file leaves out', () => {
    assert.equal(locateField(manifest, 1, parseFieldPath('.spec.template.spec.containers[name="web"].ports[containerPort="80",protocol="TCP"].containerPort'))?.line, 20);
  });
  it('lands on the deepest ancestor the file has for a field it leaves out', () => {
    const at = locateField(manifest, 1, parseFieldPath('spec.template.spec.containers[0].resources.limits'));
    assert.equal(at?.line, 15);
    assert.equal(at?.found, 5);
  });
  it('is undefined for a document that is not there', () => {
    assert.equal(locateField(manifest, 5, ['spec']), undefined);
  });
});
