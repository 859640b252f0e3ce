// devloop release without --image against the local test cluster and its registry on
// 127.0.0.1:5001: a service with `build: { type: 'docker' }` (a busybox httpd Dockerfile on the
// test infra's devloop-test/busybox) is built by the docker plugin's builder, pushed to
// environments.staging.registry as <registry>/web, and released by that digest; a dry run builds
// and changes nothing; an environment without a registry is exit 2 naming the field; a second
// release of unchanged sources reuses the image and deploys the same digest.
//
// The CLI runs from dist/ (DEVLOOP_CLI points at another build). Without a cluster the suite is
// skipped; DEVLOOP_K8S_REQUIRE=1 (or an explicit KUBECONFIG) makes that a failure.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { docker, ensureDockerInfra } from './helpers.js';
import { kubectl, missing, required, scratch } from './k8s-helpers.js';
import { devloop } from './release-helpers.js';

const REGISTRY = '127.0.0.1:5001/reltest';
const image = (ns: string) => kubectl('get', 'deployment', 'web', '-n', ns, '-o', 'jsonpath={.spec.template.spec.containers[0].image}');

describe('devloop release builds and pushes a docker build without --image', { skip: missing && !required ? missing : false, timeout: 240_000 }, () => {
  const s = scratch('devloop-relb');
  let dir = '';
  // The builder names images after the project folder: devloop-<folder>-web (s.cleanup removes them).
  let localRepo = '';
  const run = (args: string[]) => devloop(args, dir, s.env, 180_000);

  before(() => {
    if (missing) throw new Error(missing);
    ensureDockerInfra(() => { execFileSync('curl', ['-sf', 'http://127.0.0.1:5001/v2/']); });
    s.create();
    dir = s.tmp();
    localRepo = `devloop-${path.basename(dir).toLowerCase()}-web`;
    mkdirSync(path.join(dir, 'www'));
    writeFileSync(path.join(dir, 'www', 'index.html'), `hello ${s.ns}\n`);
    writeFileSync(path.join(dir, 'Dockerfile'), 'FROM devloop-test/busybox:latest\nCOPY www /www\nCMD ["httpd", "-f", "-p", "8080", "-h", "/www"]\n');
    writeFileSync(path.join(dir, 'Devfile.ts'), `import { defineDevfile } from 'devloop';
export default defineDevfile({
  environments: {
    staging: { kubeContext: 'devloop-local', registry: ${JSON.stringify(REGISTRY)}, replicas: 1, resources: { cpu: '50m', memory: '64Mi' } },
    noreg: { kubeContext: 'devloop-local' },
  },
  services: {
    web: { build: { type: 'docker' }, runtime: 'kubernetes', port: 8080, health: { tcp: true, intervalMs: 1000 }, extensions: { 'devloop:autopilot': { namespace: ${JSON.stringify(s.ns)} } } },
  },
});
`);
  });
  after(() => s.cleanup());

  it('--dry-run says what it would build and push, and builds nothing', async () => {
    const r = await run(['release', '--env', 'staging', '--dry-run']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^would build web \(docker, context \.\) and push to 127\.0\.0\.1:5001\/reltest\/web$/m, r.stdout);
    assert.equal(docker('images', '-q', localRepo), '', 'no image built');
    assert.equal(kubectl('get', 'deployments', '-n', s.ns, '-o', 'name'), '', 'nothing applied');
  });

  it('an environment without a registry is exit 2 naming the field to set', async () => {
    const r = await run(['release', '--env', 'noreg']);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /environment "noreg" names no registry/, r.stderr);
    assert.match(r.stderr, /environments\.noreg\.registry/, r.stderr);
    assert.equal(docker('images', '-q', localRepo), '', 'no image built');
  });

  let first = '';
  it('release builds, pushes and rolls out <registry>/web@sha256:...', async () => {
    const r = await run(['release', '--env', 'staging']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    first = image(s.ns);
    assert.match(first, /^127\.0\.0\.1:5001\/reltest\/web@sha256:[0-9a-f]{64}$/, r.stderr);
    assert.match(r.stdout, new RegExp(`^web: succeeded, now ${first.replace(/[.]/g, '\\.')}`, 'm'), r.stdout);
    assert.equal(kubectl('get', 'deployment', 'web', '-n', s.ns, '-o', 'jsonpath={.status.readyReplicas}'), '1');
    // The digest deployed is the registry's own for the content-hash tag pushed.
    const tag = /image (devloop-\S+:(devloop-[0-9a-f]{16}))/.exec(r.stderr)?.[2];
    assert.ok(tag, r.stderr);
    const res = await fetch(`http://127.0.0.1:5001/v2/reltest/web/manifests/${tag}`, { method: 'HEAD', headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(res.headers.get('docker-content-digest'), first.split('@')[1]);
    // Only the builder's own content-hash tag is left locally: the alias and registry-named tags used for the push are gone.
    assert.equal(docker('images', '-q', 'devloop-release/web'), '');
    assert.equal(docker('images', '-q', `${REGISTRY}/web`), '');
    assert.notEqual(docker('images', '-q', localRepo), '');
  });

  it('a second release of unchanged sources reuses the image and deploys the same digest', async () => {
    assert.ok(first, 'the first release ran');
    const r = await run(['release', '--env', 'staging']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stderr, /already built for these inputs/, r.stderr);
    assert.equal(image(s.ns), first);
    assert.ok(existsSync(path.join(dir, '.devloop', 'releases')), 'records written');
  });
});
