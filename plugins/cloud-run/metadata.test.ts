import assert from 'node:assert/strict';
import { createPublicKey, verify, type JsonWebKey } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { after, before, describe, it } from 'node:test';
import { METADATA_SERVER_HEADER, serviceAccountUniqueId, startMetadataServer, TokenSigner, type InstanceIdentity, type MetadataServer } from './metadata.js';

// Real HTTP against a server on 127.0.0.1.

const ID: InstanceIdentity = {
  projectId: 'my-project',
  numericProjectId: '123456789012',
  region: 'europe-west1',
  instanceId: '00f1e2d3c4b5a6978877665544332211',
  service: 'api',
  revision: 'api-00001-abc',
  serviceAccountEmail: 'api-runtime@my-project.iam.gserviceaccount.com',
};
const FLAVOR = { 'Metadata-Flavor': 'Google' };

interface Got {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A plain GET (no redirects followed, no headers added). */
function get(port: number, path: string, headers: Record<string, string> = {}, method = 'GET', host = '127.0.0.1'): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

const v1 = (p: string) => `/computeMetadata/v1/${p}`;

function decodeJwt(token: string) {
  const [h, p, s] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>,
    input: `${h}.${p}`,
    signature: Buffer.from(s, 'base64url'),
  };
}

/** Verifies an RS256 JWT against a JWKS with node:crypto. */
function verifyJwt(token: string, jwks: { keys: object[] }): boolean {
  const { header, input, signature } = decodeJwt(token);
  const jwk = jwks.keys.find((k) => (k as { kid?: string }).kid === header.kid);
  if (!jwk || header.alg !== 'RS256') return false;
  const key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  return verify('sha256', Buffer.from(input), key, signature);
}

/** Addresses of this machine other than loopback, by family. */
function otherAddresses(family: 'IPv4' | 'IPv6'): string[] {
  return Object.values(os.networkInterfaces())
    .flat()
    .filter((a): a is os.NetworkInterfaceInfo => !!a && !a.internal && a.family === family && !a.address.startsWith('fe80'))
    .map((a) => a.address);
}

function connectRefused(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    sock.setTimeout(2000);
    sock.on('connect', () => {
      sock.destroy();
      resolve('connected');
    });
    sock.on('timeout', () => {
      sock.destroy();
      resolve('timeout');
    });
    sock.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });
}

describe('metadata server', () => {
  const signer = new TokenSigner();
  let server: MetadataServer;
  let port: number;

  before(async () => {
    server = await startMetadataServer(ID, { signer });
    port = server.port;
  });
  after(() => server.close());

  it('refuses requests without Metadata-Flavor: Google with 403 and Google\'s message', async () => {
    for (const headers of [{}, { 'Metadata-Flavor': 'google-ish' }] as Array<Record<string, string>>) {
      const r = await get(port, v1('instance/id'), headers);
      assert.equal(r.status, 403);
      assert.match(r.headers['content-type'] ?? '', /^text\/html/);
      assert.match(r.body, /Your client does not have permission to get URL <code>\/computeMetadata\/v1\/instance\/id<\/code> from this server\. Missing Metadata-Flavor:Google header\./);
      assert.equal(r.headers['metadata-flavor'], 'Google');
      assert.doesNotMatch(r.body, new RegExp(ID.instanceId));
    }
  });

  it('refuses requests that carry X-Forwarded-For, even with the flavor header', async () => {
    const r = await get(port, v1('instance/service-accounts/default/token'), { ...FLAVOR, 'X-Forwarded-For': '10.0.0.1' });
    assert.equal(r.status, 403);
    assert.doesNotMatch(r.body, /ya29/);
  });

  it('serves each value as text with the real headers', async () => {
    const cases: Array<[string, string]> = [
      ['project/project-id', 'my-project'],
      ['project/numeric-project-id', '123456789012'],
      ['instance/id', ID.instanceId],
      ['instance/region', 'projects/123456789012/regions/europe-west1'],
      ['instance/zone', 'projects/123456789012/zones/europe-west1-1'],
      ['instance/service-accounts/default/email', ID.serviceAccountEmail],
      [`instance/service-accounts/${ID.serviceAccountEmail}/email`, ID.serviceAccountEmail],
      ['instance/service-accounts/default/aliases', 'default'],
      ['instance/service-accounts/default/scopes', 'https://www.googleapis.com/auth/cloud-platform\n'],
    ];
    for (const [path, want] of cases) {
      const r = await get(port, v1(path), FLAVOR);
      assert.equal(r.status, 200, path);
      assert.equal(r.body, want, path);
      assert.equal(r.headers['metadata-flavor'], 'Google', path);
      assert.equal(r.headers.server, METADATA_SERVER_HEADER, path);
      assert.equal(r.headers['content-type'], 'application/text', path);
      assert.match(r.headers.etag ?? '', /^[0-9a-f]{16}$/, path);
    }
    assert.equal(METADATA_SERVER_HEADER, 'Metadata Server for Serverless');
  });

  it('lists directories with a trailing slash, sorted, subdirectories ending in /', async () => {
    const cases: Array<[string, string]> = [
      ['/', 'computeMetadata/\n'],
      ['/computeMetadata/', 'v1/\n'],
      [v1(''), 'instance/\nproject/\n'],
      [v1('instance/'), 'id\nregion\nservice-accounts/\nzone\n'],
      [v1('project/'), 'numeric-project-id\nproject-id\n'],
      [v1('instance/service-accounts/'), `${ID.serviceAccountEmail}/\ndefault/\n`],
      [v1('instance/service-accounts/default/'), 'aliases\nemail\nidentity\nscopes\ntoken\n'],
    ];
    for (const [path, want] of cases) {
      const r = await get(port, path, FLAVOR);
      assert.equal(r.status, 200, path);
      assert.equal(r.body, want, path);
    }
  });

  it('answers / without the flavor header (platform detection), with Metadata-Flavor: Google', async () => {
    const r = await get(port, '/');
    assert.equal(r.status, 200);
    assert.equal(r.headers['metadata-flavor'], 'Google');
  });

  it('redirects a directory without its slash to the slashed URL, keeping the query', async () => {
    const r = await get(port, v1('instance/service-accounts?recursive=true'), FLAVOR);
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, `http://127.0.0.1:${port}${v1('instance/service-accounts/?recursive=true')}`);
  });

  it('serves a token: JSON access_token (local, opaque), expires_in <= 3600, token_type Bearer, stable until near expiry', async () => {
    const r = await get(port, v1('instance/service-accounts/default/token'), FLAVOR);
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'] ?? '', /^application\/json/);
    const tok = JSON.parse(r.body) as { access_token: string; expires_in: number; token_type: string };
    assert.deepEqual(Object.keys(tok).sort(), ['access_token', 'expires_in', 'token_type']);
    assert.match(tok.access_token, /^ya29\.local-[A-Za-z0-9_-]{20,}$/);
    assert.equal(tok.token_type, 'Bearer');
    assert.ok(tok.expires_in > 3500 && tok.expires_in <= 3600, String(tok.expires_in));
    // The email-named account is the same account: same cached token.
    const again = JSON.parse((await get(port, v1(`instance/service-accounts/${ID.serviceAccountEmail}/token`), FLAVOR)).body) as typeof tok;
    assert.equal(again.access_token, tok.access_token);
    // ?alt=text gives `key value` lines.
    const text = await get(port, v1('instance/service-accounts/default/token?alt=text'), FLAVOR);
    assert.match(text.body, /^access_token ya29\.local-\S+\nexpires_in \d+\ntoken_type Bearer\n$/);
  });

  it('serves an identity token that verifies against jwks() and carries the audience', async () => {
    const audience = 'https://api-abc123-ew.a.run.app';
    const r = await get(port, v1(`instance/service-accounts/default/identity?audience=${encodeURIComponent(audience)}`), FLAVOR);
    assert.equal(r.status, 200);
    assert.ok(verifyJwt(r.body, signer.jwks()), 'signature verifies');
    assert.ok(verifyJwt(r.body, new TokenSigner().jwks()), 'one key per process');
    const { header, payload } = decodeJwt(r.body);
    assert.equal(header.alg, 'RS256');
    assert.equal(header.typ, 'JWT');
    assert.equal(payload.aud, audience);
    assert.equal(payload.iss, 'https://accounts.google.com');
    assert.equal(payload.email, ID.serviceAccountEmail);
    assert.equal(payload.email_verified, true);
    assert.equal(payload.sub, serviceAccountUniqueId(ID.serviceAccountEmail));
    assert.match(String(payload.sub), /^1\d{20}$/);
    assert.equal(payload.azp, payload.sub);
    assert.equal((payload.exp as number) - (payload.iat as number), 3600);
    assert.ok(Math.abs((payload.iat as number) - Date.now() / 1000) < 5);
    assert.equal(payload.google, undefined, 'standard format has no google claim');

    // A tampered payload no longer verifies.
    const [h, , s] = r.body.split('.');
    const forged = Buffer.from(JSON.stringify({ ...payload, aud: 'https://evil.example' })).toString('base64url');
    assert.equal(verifyJwt(`${h}.${forged}.${s}`, signer.jwks()), false);
  });

  it('adds the google.compute_engine claim with format=full', async () => {
    const r = await get(port, v1('instance/service-accounts/default/identity?audience=x&format=full'), FLAVOR);
    assert.equal(r.status, 200);
    assert.ok(verifyJwt(r.body, signer.jwks()));
    const ce = (decodeJwt(r.body).payload.google as { compute_engine: Record<string, unknown> }).compute_engine;
    assert.equal(ce.project_id, 'my-project');
    assert.equal(ce.project_number, 123456789012);
    assert.equal(ce.instance_id, ID.instanceId);
    assert.equal(ce.zone, 'europe-west1-1');
    assert.equal(typeof ce.instance_creation_timestamp, 'number');
  });

  it('answers identity without an audience with 400', async () => {
    for (const q of ['', '?audience=']) {
      const r = await get(port, v1(`instance/service-accounts/default/identity${q}`), FLAVOR);
      assert.equal(r.status, 400);
      assert.match(r.body, /non-empty audience parameter required/);
    }
  });

  it('returns directories as JSON with ?recursive=true (camelCase keys, no tokens)', async () => {
    const inst = await get(port, v1('instance/?recursive=true'), FLAVOR);
    assert.equal(inst.status, 200);
    assert.match(inst.headers['content-type'] ?? '', /^application\/json/);
    const account = { aliases: ['default'], email: ID.serviceAccountEmail, scopes: ['https://www.googleapis.com/auth/cloud-platform'] };
    assert.deepEqual(JSON.parse(inst.body), {
      id: ID.instanceId,
      region: 'projects/123456789012/regions/europe-west1',
      serviceAccounts: { default: account, [ID.serviceAccountEmail]: account },
      zone: 'projects/123456789012/zones/europe-west1-1',
    });
    const project = await get(port, v1('project/?recursive=true'), FLAVOR);
    assert.deepEqual(JSON.parse(project.body), { numericProjectId: 123456789012, projectId: 'my-project' });
    const all = JSON.parse((await get(port, v1('?recursive=true'), FLAVOR)).body) as Record<string, unknown>;
    assert.deepEqual(Object.keys(all), ['instance', 'project']);
  });

  it('honours ?alt=json on values and ?alt=text on recursive directories', async () => {
    assert.equal((await get(port, v1('project/project-id?alt=json'), FLAVOR)).body, '"my-project"');
    assert.equal((await get(port, v1('project/numeric-project-id?alt=json'), FLAVOR)).body, '123456789012');
    assert.equal((await get(port, v1('instance/service-accounts/default/scopes?alt=json'), FLAVOR)).body, '["https://www.googleapis.com/auth/cloud-platform"]');
    const text = await get(port, v1('instance/service-accounts/?recursive=true&alt=text'), FLAVOR);
    assert.equal(text.status, 200);
    assert.ok(text.body.includes(`default/email ${ID.serviceAccountEmail}\n`), text.body);
    assert.ok(text.body.includes('default/aliases/0 default\n'), text.body);
    assert.ok(text.body.includes('default/scopes/0 https://www.googleapis.com/auth/cloud-platform\n'), text.body);
    assert.doesNotMatch(text.body, /token|ya29/);
  });

  it('answers wait_for_change at once when last_etag is stale, else after timeout_sec', async () => {
    const first = await get(port, v1('instance/id'), FLAVOR);
    const stale = await get(port, v1('instance/id?wait_for_change=true&last_etag=0000000000000000'), FLAVOR);
    assert.equal(stale.body, ID.instanceId);
    const t0 = Date.now();
    const held = await get(port, v1(`instance/id?wait_for_change=true&last_etag=${first.headers.etag}&timeout_sec=1`), FLAVOR);
    assert.equal(held.body, ID.instanceId);
    assert.ok(Date.now() - t0 >= 900, 'held until the timeout');
  });

  it('answers unknown paths, other accounts and values with a slash with 404', async () => {
    for (const path of [v1('instance/name'), v1('instance/service-accounts/other@x.iam.gserviceaccount.com/token'), v1('project/project-id/'), '/computeMetadata/v2/', '/nope']) {
      const r = await get(port, path, FLAVOR);
      assert.equal(r.status, 404, path);
      assert.match(r.body, /was not found on this server/, path);
      assert.equal(r.headers['metadata-flavor'], 'Google', path);
    }
  });

  it('answers only GET', async () => {
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const r = await get(port, v1('project/project-id'), FLAVOR, method);
      assert.equal(r.status, 405, method);
    }
  });

  it('gives the address to put in GCE_METADATA_HOST, only for a host it listens on', () => {
    assert.equal(server.address('127.0.0.1'), `127.0.0.1:${port}`);
    assert.throws(() => server.address('172.17.0.1'), /does not listen on 172\.17\.0\.1/);
  });

  const other = otherAddresses('IPv4')[0];
  it(
    other
      ? `listens only on 127.0.0.1: a connection to ${other} (another address of this machine) is refused`
      : 'listens only on 127.0.0.1: SKIPPED, this machine has no non-loopback IPv4 address to try',
    { skip: !other },
    async () => {
      assert.equal(await connectRefused(other!, port), 'ECONNREFUSED');
      assert.equal(await connectRefused('127.0.0.1', port), 'connected');
    },
  );
});

describe('metadata server hosts and lifecycle', () => {
  const hasV6Loopback = Object.values(os.networkInterfaces()).flat().some((a) => a?.address === '::1');

  it(hasV6Loopback ? 'listens on every host given, on one port' : 'listens on every host given: SKIPPED, no ::1 on this machine', { skip: !hasV6Loopback }, async () => {
    const s = await startMetadataServer(ID, { hosts: ['127.0.0.1', '::1'] });
    try {
      for (const host of ['127.0.0.1', '::1']) {
        const r = await get(s.port, v1('project/project-id'), FLAVOR, 'GET', host);
        assert.equal(r.body, 'my-project', host);
      }
      assert.equal(s.address('::1'), `[::1]:${s.port}`);
    } finally {
      await s.close();
    }
  });

  it('gives each instance its own id, and stops listening on close (twice is fine)', async () => {
    const a = await startMetadataServer(ID);
    const b = await startMetadataServer({ ...ID, instanceId: 'another' });
    assert.notEqual(a.port, b.port);
    assert.equal((await get(b.port, v1('instance/id'), FLAVOR)).body, 'another');
    await a.close();
    await a.close();
    await b.close();
    assert.equal(await connectRefused('127.0.0.1', a.port), 'ECONNREFUSED');
  });

  it('closes with a wait_for_change request still held', async () => {
    const s = await startMetadataServer(ID);
    const pending = get(s.port, v1('instance/id?wait_for_change=true'), FLAVOR).catch((err: NodeJS.ErrnoException) => err.code);
    await new Promise((r) => setTimeout(r, 50));
    await s.close();
    assert.equal(await pending, 'ECONNRESET');
  });

  it('fails when the port is taken', async () => {
    const a = await startMetadataServer(ID);
    try {
      await assert.rejects(startMetadataServer(ID, { port: a.port }), /EADDRINUSE/);
    } finally {
      await a.close();
    }
  });
});
