/**
 * The metadata server a Cloud Run instance sees (`metadata.google.internal`), emulated: one HTTP
 * server per instance, so `instance/id` is that instance's own id. Client libraries find it
 * through `GCE_METADATA_HOST` (the launcher sets it from `address()`).
 *
 * What it serves, under `/computeMetadata/v1/`: `project/{project-id,numeric-project-id}`,
 * `instance/{id,region,zone}` and `instance/service-accounts/{default,EMAIL}/{aliases,email,
 * identity,scopes,token}` (the tree a real Cloud Run instance lists). Access tokens are local
 * opaque strings (`ya29.local-...`) that no Google API accepts; identity tokens are RS256 JWTs
 * signed by a key pair made once per process, verifiable with `TokenSigner.jwks()`.
 *
 * Behaviour copied from the real server: requests need `Metadata-Flavor: Google` (else 403 with
 * Google's error page), requests carrying `X-Forwarded-For` are refused (403), directories end
 * in `/` (without it: 301 to the slashed URL), `?recursive=true` returns a directory as JSON
 * (camelCase keys), `?alt=json|text` picks the encoding, `?wait_for_change=true` holds the
 * request while the value is unchanged (here: always), unknown paths get 404, every response
 * carries `Metadata-Flavor: Google` and Cloud Run's `Server: Metadata Server for Serverless`.
 * Not confirmed against the real server, so chosen to be plausible: the exact 403 text for
 * `X-Forwarded-For`, 405 for methods other than GET, `?alt=json` on a plain listing (a JSON
 * array of names), the content type of `identity`, and what Cloud Run puts in the `full` token.
 *
 * Security: it listens only on the hosts it is given (127.0.0.1 by default) and never logs. On a
 * shared address (the Docker bridge gateway, which every container reaches) it answers only
 * loopback callers (process instances) and the addresses admitted for it with
 * `admitMetadataCaller` (its own instance's container); anyone else gets 403, so a container of
 * another service or project cannot take this instance's tokens.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkLoopbackHost } from '../shared/loopback-host.js';

/** The names clients reach the metadata server by, besides loopback and the addresses it listens on. */
const METADATA_HOST_NAMES = ['metadata.google.internal', 'metadata.google.internal.', 'metadata', '169.254.169.254'];

export interface InstanceIdentity {
  projectId: string;
  numericProjectId: string;
  region: string;
  instanceId: string;
  /** Carried for callers; Cloud Run gives these to the container as K_SERVICE / K_REVISION, not here. */
  service: string;
  revision: string;
  serviceAccountEmail: string;
}

export interface MetadataServer {
  port: number;
  /** host:port to put in GCE_METADATA_HOST for a client at `host` */
  address(host: string): string;
  close(): Promise<void>;
}

export interface MetadataServerOptions {
  /** Addresses to listen on, all on the same port. Default ['127.0.0.1']. */
  hosts?: string[];
  /** 0 (default) picks a free port on the first host. */
  port?: number;
  /** Signs identity tokens; default a new signer on the process-wide key. */
  signer?: TokenSigner;
}

// ------------------------------------------------------------------------------------------
// Constants seen on the real server

/** The `Server` header of Cloud Run's metadata server (GCE VMs say `Metadata Server for VM`). */
export const METADATA_SERVER_HEADER = 'Metadata Server for Serverless';
/** Cloud Run's runtime service account scope. */
const DEFAULT_SCOPES = ['https://www.googleapis.com/auth/cloud-platform'];
const TEXT = 'application/text';
const JSON_TYPE = 'application/json';
const HTML = 'text/html; charset=UTF-8';
/** Access and identity tokens live an hour; an access token is re-minted when 5 min are left. */
const TOKEN_LIFETIME_S = 3600;
const TOKEN_REFRESH_S = 300;
const ISSUER = 'https://accounts.google.com';

// ------------------------------------------------------------------------------------------
// Token signing

interface ProcessKey {
  privateKey: KeyObject;
  jwk: Record<string, unknown>;
  kid: string;
}
let processKey: ProcessKey | undefined;

/** The RSA key pair, made on first use and kept for the life of the process. */
function getProcessKey(): ProcessKey {
  if (!processKey) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pub = publicKey.export({ format: 'jwk' }) as { kty: string; n: string; e: string };
    // Key id: the RFC 7638 thumbprint of the public key.
    const kid = createHash('sha256').update(JSON.stringify({ e: pub.e, kty: pub.kty, n: pub.n })).digest('hex').slice(0, 40);
    processKey = { privateKey, jwk: { kty: pub.kty, n: pub.n, e: pub.e }, kid };
  }
  return processKey;
}

const b64url = (data: string | Buffer) => Buffer.from(data).toString('base64url');

/** A service account's numeric unique id (the `sub`/`azp` of its tokens): 21 digits, stable per email. */
export function serviceAccountUniqueId(email: string): string {
  const n = BigInt('0x' + createHash('sha256').update(email).digest('hex').slice(0, 24)) % 10n ** 20n;
  return '1' + n.toString().padStart(20, '0');
}

export class TokenSigner {
  /** Made when the first token is signed: RSA key generation takes tens of milliseconds, and most sessions never need one. */
  private get key(): ProcessKey {
    return getProcessKey();
  }

  /**
   * RS256 JWT as the metadata server's `identity` endpoint returns it: iss https://accounts.google.com,
   * aud, azp, sub (the account's numeric id), email, email_verified, iat, exp (+1 h). `extra` claims
   * (the `google` claim of the full format) are added only when `format` is 'full'.
   */
  identityToken(audience: string, email: string, format: 'standard' | 'full' = 'standard', extra?: Record<string, unknown>): string {
    const now = Math.floor(Date.now() / 1000);
    const sub = serviceAccountUniqueId(email);
    const header = { alg: 'RS256', kid: this.key.kid, typ: 'JWT' };
    const payload: Record<string, unknown> = {
      aud: audience,
      azp: sub,
      email,
      email_verified: true,
      exp: now + TOKEN_LIFETIME_S,
      ...(format === 'full' && extra ? extra : {}),
      iat: now,
      iss: ISSUER,
      sub,
    };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
    const signature = sign('sha256', Buffer.from(input), this.key.privateKey);
    return `${input}.${b64url(signature)}`;
  }

  /** JWKS of the public key, so a test or a local service can verify tokens. */
  jwks(): { keys: object[] } {
    return { keys: [{ ...this.key.jwk, kid: this.key.kid, alg: 'RS256', use: 'sig' }] };
  }
}

// ------------------------------------------------------------------------------------------
// The metadata tree

/** What a value may depend on: the query string (`audience`, `format`, `alt`). */
interface Lookup {
  query: URLSearchParams;
}

/** A value: its text form, its JSON form, and whether `?recursive=true` leaves it out (tokens). */
interface Leaf {
  kind: 'leaf';
  text(req: Lookup): string | Reply;
  json(req: Lookup): unknown;
  contentType?: string;
  hidden?: boolean;
}
interface Dir {
  kind: 'dir';
  /** Children by path name; `jsonKey` overrides the camelCase key used in recursive JSON. */
  children: Map<string, { node: Node; jsonKey?: string }>;
}
type Node = Leaf | Dir;

/** An answer other than a plain value (errors, tokens with their own content type). */
interface Reply {
  status: number;
  body: string;
  contentType: string;
  headers?: Record<string, string>;
}

const isReply = (v: unknown): v is Reply => typeof v === 'object' && v !== null && 'status' in v && 'body' in v;

const dir = (entries: Array<[string, Node, string?]>): Dir => ({
  kind: 'dir',
  children: new Map(entries.map(([name, node, jsonKey]) => [name, { node, jsonKey }])),
});
/** A fixed string; JSON as a number when it is one (project numbers), else a string. */
const value = (v: string): Leaf => ({
  kind: 'leaf',
  text: () => v,
  json: () => (/^\d+$/.test(v) && Number.isSafeInteger(Number(v)) ? Number(v) : v),
});
/** A list: one item per line as text, an array as JSON. */
const list = (items: string[], trailingNewline = true): Leaf => ({
  kind: 'leaf',
  text: () => items.join('\n') + (trailingNewline && items.length ? '\n' : ''),
  json: () => items,
});
const camel = (name: string) => name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** The recursive JSON form of a node: camelCase keys, hidden leaves left out. */
function toJson(node: Node, req: Lookup): unknown {
  if (node.kind === 'leaf') return node.json(req);
  const out: Record<string, unknown> = {};
  for (const [name, { node: child, jsonKey }] of sorted(node)) {
    if (child.kind === 'leaf' && child.hidden) continue;
    out[jsonKey ?? camel(name)] = toJson(child, req);
  }
  return out;
}

/** The recursive text form: one `path value` line per value, array items as `path/INDEX`. */
function toText(node: Node, req: Lookup, prefix = ''): string[] {
  if (node.kind === 'dir') {
    return sorted(node).flatMap(([name, { node: child }]) =>
      child.kind === 'leaf' && child.hidden ? [] : toText(child, req, prefix ? `${prefix}/${name}` : name));
  }
  const flat = (v: unknown, p: string): string[] =>
    Array.isArray(v) ? v.flatMap((x, i) => flat(x, `${p}/${i}`)) : [`${p} ${String(v)}`];
  return flat(node.json(req), prefix);
}

const sorted = (d: Dir) => [...d.children.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
const listing = (d: Dir) => sorted(d).map(([name, { node }]) => (node.kind === 'dir' ? `${name}/` : name));

// ------------------------------------------------------------------------------------------
// Error pages (Google's front-end error page, without its inline style and logo)

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function errorPage(status: number, title: string, message: string): Reply {
  const body = [
    '<!DOCTYPE html>',
    '<html lang=en>',
    '  <meta charset=utf-8>',
    '  <meta name=viewport content="initial-scale=1, minimum-scale=1, width=device-width">',
    `  <title>Error ${status} (${title})!!1</title>`,
    `  <p><b>${status}.</b> <ins>That\u2019s an error.</ins>`,
    `  <p>${message}  <ins>That\u2019s all we know.</ins>`,
    '',
  ].join('\n');
  return { status, body, contentType: HTML };
}

const forbidden = (url: string, why: string) =>
  errorPage(403, 'Forbidden', `Your client does not have permission to get URL <code>${escapeHtml(url)}</code> from this server.${why ? ' ' + why : ''}`);
const notFound = (path: string) =>
  errorPage(404, 'Not Found', `The requested URL <code>${escapeHtml(path)}</code> was not found on this server.`);
const badMethod = (method: string, path: string) =>
  errorPage(405, 'Method Not Allowed', `The request method <code>${escapeHtml(method)}</code> is inappropriate for the URL <code>${escapeHtml(path)}</code>.`);

// ------------------------------------------------------------------------------------------
// Who may ask

/** Non-loopback callers each server answers, by the server's port (unique among live servers). */
const admitted = new Map<number, Set<string>>();
/** A container may ask before its launcher learnt its address: it is held this long for admission. */
const ADMISSION_WAIT_MS = 2_000;

/**
 * Lets `ip` (an instance's container address) use the metadata server at `address` (host:port,
 * as `MetadataServer.address()` returned it). Called by the launcher once the container has an
 * address; the admission ends when the server closes.
 */
export function admitMetadataCaller(address: string, ip: string): void {
  const port = Number(/:(\d+)$/.exec(address)?.[1]);
  if (!Number.isInteger(port)) throw new Error(`admitMetadataCaller: no port in "${address}"`);
  let set = admitted.get(port);
  if (!set) admitted.set(port, (set = new Set()));
  set.add(plainAddress(ip));
}

function plainAddress(ip: string | undefined): string {
  return (ip ?? '').replace(/^::ffff:/, '');
}

function isLoopback(ip: string): boolean {
  return ip === '::1' || ip.startsWith('127.');
}

/** Whether the caller is loopback or admitted, waiting up to ADMISSION_WAIT_MS for an admission. */
async function callerAllowed(port: number, remote: string | undefined, closed: () => boolean): Promise<boolean> {
  const ip = plainAddress(remote);
  if (isLoopback(ip)) return true;
  const deadline = Date.now() + ADMISSION_WAIT_MS;
  while (!admitted.get(port)?.has(ip)) {
    if (Date.now() >= deadline || closed()) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

// ------------------------------------------------------------------------------------------
// The server

/** One server per instance, listening on each of `hosts` on one port. */
export async function startMetadataServer(identity: InstanceIdentity, options: MetadataServerOptions = {}): Promise<MetadataServer> {
  const hosts = [...new Set(options.hosts ?? ['127.0.0.1'])];
  if (hosts.length === 0) throw new Error('startMetadataServer: hosts must not be empty');
  const signer = options.signer ?? new TokenSigner();
  const createdAt = Math.floor(Date.now() / 1000);
  const email = identity.serviceAccountEmail;

  // Access tokens: one per account, served until 5 minutes before it expires, as the real
  // server caches them. `expires_in` counts down.
  const tokens = new Map<string, { token: string; expiresAt: number }>();
  const accessToken = () => {
    const now = Date.now();
    let t = tokens.get(email);
    if (!t || t.expiresAt - now < TOKEN_REFRESH_S * 1000) {
      t = { token: `ya29.local-${randomBytes(48).toString('base64url')}`, expiresAt: now + TOKEN_LIFETIME_S * 1000 };
      tokens.set(email, t);
    }
    return { access_token: t.token, expires_in: Math.max(0, Math.floor((t.expiresAt - now) / 1000) - 1), token_type: 'Bearer' };
  };

  const token: Leaf = {
    kind: 'leaf',
    hidden: true,
    contentType: JSON_TYPE,
    text: (req) => {
      const tok = accessToken();
      // ?alt=text: `key value` lines; otherwise the JSON object.
      if (req.query.get('alt') === 'text') return Object.entries(tok).map(([k, v]) => `${k} ${v}`).join('\n') + '\n';
      return { status: 200, body: JSON.stringify(tok), contentType: JSON_TYPE };
    },
    json: () => accessToken(),
  };

  const identityLeaf: Leaf = {
    kind: 'leaf',
    hidden: true,
    contentType: 'text/html',
    text: (req) => {
      const audience = req.query.get('audience');
      if (!audience) return { status: 400, body: 'non-empty audience parameter required\n', contentType: 'text/plain; charset=utf-8' };
      const format = req.query.get('format') === 'full' ? 'full' : 'standard';
      const extra = {
        google: {
          compute_engine: {
            instance_creation_timestamp: createdAt,
            instance_id: identity.instanceId,
            project_id: identity.projectId,
            project_number: Number(identity.numericProjectId),
            zone: `${identity.region}-1`,
          },
        },
      };
      return signer.identityToken(audience, email, format, extra);
    },
    json: (req) => identityLeaf.text(req),
  };

  const account = (): Dir => dir([
    ['aliases', list(['default'], false)],
    ['email', value(email)],
    ['identity', identityLeaf],
    ['scopes', list(DEFAULT_SCOPES)],
    ['token', token],
  ]);

  const tree = dir([
    ['computeMetadata', dir([
      ['v1', dir([
        ['instance', dir([
          ['id', value(identity.instanceId)],
          ['region', value(`projects/${identity.numericProjectId}/regions/${identity.region}`)],
          ['service-accounts', dir([
            ['default', account(), 'default'],
            [email, account(), email],
          ])],
          ['zone', value(`projects/${identity.numericProjectId}/zones/${identity.region}-1`)],
        ])],
        ['project', dir([
          ['numeric-project-id', value(identity.numericProjectId)],
          ['project-id', value(identity.projectId)],
        ])],
      ])],
    ])],
  ]);

  // Requests held by ?wait_for_change=true, answered on timeout or when the server closes.
  const waiting = new Set<{ timer?: NodeJS.Timeout; finish(): void }>();

  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    // Any other Host is a web page reaching it through DNS rebinding: refused.
    if (!checkLoopbackHost(req, res, 'The metadata server', [...METADATA_HOST_NAMES, ...hosts])) return;
    void callerAllowed(port, req.socket.remoteAddress, () => closing !== undefined).then((ok) => {
      if (res.destroyed) return;
      if (ok) return answer(req, res);
      const text = `${forbidden(req.url ?? '/', '').body.replace('</code> from this server.', '</code> from this server. Only this instance may use its metadata server.')}`;
      res.writeHead(403, { 'Metadata-Flavor': 'Google', Server: METADATA_SERVER_HEADER, 'Content-Type': HTML, 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    });
  };

  const answer = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const send = (reply: Reply) => {
      const headers: Record<string, string | number> = {
        'Metadata-Flavor': 'Google',
        Server: METADATA_SERVER_HEADER,
        'Content-Type': reply.contentType,
        'X-XSS-Protection': '0',
        'X-Frame-Options': 'SAMEORIGIN',
        'Content-Length': Buffer.byteLength(reply.body),
        ...reply.headers,
      };
      res.writeHead(reply.status, headers);
      res.end(reply.body);
    };

    const rawUrl = req.url ?? '/';
    let url: URL;
    try {
      url = new URL(rawUrl, 'http://metadata.google.internal');
    } catch {
      return send(errorPage(400, 'Bad Request', 'Your client has issued a malformed or illegal request.'));
    }
    const path = url.pathname;

    // The real server refuses anything that came through a proxy.
    if (req.headers['x-forwarded-for'] !== undefined) return send(forbidden(rawUrl, ''));
    // `/` answers without the header (libraries probe it to detect the platform); the rest needs it.
    if (path !== '/' && req.headers['metadata-flavor'] !== 'Google') {
      return send(forbidden(rawUrl, 'Missing Metadata-Flavor:Google header.'));
    }
    if (req.method !== 'GET') return send(badMethod(req.method ?? '', path));

    // Walk the tree.
    const segments = path.split('/').slice(1);
    const trailingSlash = path.endsWith('/');
    if (trailingSlash) segments.pop();
    let node: Node = tree;
    for (const seg of segments) {
      const next: { node: Node } | undefined = node.kind === 'dir' ? node.children.get(seg) : undefined;
      if (!next) return send(notFound(path));
      node = next.node;
    }
    if (node.kind === 'leaf' && trailingSlash) return send(notFound(path));
    if (node.kind === 'dir' && !trailingSlash) {
      // Directories live at their slashed URL.
      const host = req.headers.host;
      const location = `${host ? `http://${host}` : ''}${path}/${url.search}`;
      return send({ status: 301, body: `${path}/\n`, contentType: 'text/html', headers: { Location: location } });
    }

    const request: Lookup = { query: url.searchParams };
    const alt = url.searchParams.get('alt');
    const recursive = url.searchParams.get('recursive')?.toLowerCase() === 'true';
    let reply: Reply;
    if (node.kind === 'dir') {
      if (recursive && alt === 'text') reply = { status: 200, body: toText(node, request).join('\n') + '\n', contentType: TEXT };
      else if (recursive) reply = { status: 200, body: JSON.stringify(toJson(node, request)), contentType: JSON_TYPE };
      else if (alt === 'json') reply = { status: 200, body: JSON.stringify(listing(node)), contentType: JSON_TYPE };
      else reply = { status: 200, body: listing(node).map((l) => l + '\n').join(''), contentType: TEXT };
    } else if (alt === 'json' && !node.hidden) {
      reply = { status: 200, body: JSON.stringify(node.json(request)), contentType: JSON_TYPE };
    } else {
      const out = node.text(request);
      reply = isReply(out) ? out : { status: 200, body: out, contentType: node.contentType ?? TEXT };
    }
    if (reply.status !== 200) return send(reply);

    const etag = createHash('md5').update(reply.body).digest('hex').slice(16);
    reply.headers = { ...reply.headers, ETag: etag };
    // ?wait_for_change=true: values here never change, so the request is held until its
    // timeout_sec (or forever without one), unless the caller's last_etag is already stale.
    if (url.searchParams.get('wait_for_change')?.toLowerCase() === 'true') {
      const last = url.searchParams.get('last_etag');
      if (last === null || last === etag) {
        const timeoutSec = Number(url.searchParams.get('timeout_sec'));
        const entry: { timer?: NodeJS.Timeout; finish(): void } = {
          finish: () => {
            if (!waiting.delete(entry)) return;
            clearTimeout(entry.timer);
            if (!res.destroyed) send(reply);
          },
        };
        waiting.add(entry);
        if (Number.isFinite(timeoutSec) && timeoutSec > 0) entry.timer = setTimeout(entry.finish, timeoutSec * 1000);
        res.on('close', () => {
          clearTimeout(entry.timer);
          waiting.delete(entry);
        });
        return;
      }
    }
    send(reply);
  };

  let closing: Promise<void> | undefined;
  let port = 0;
  const servers = await listenAll(handler, hosts, options.port ?? 0);
  port = (servers[0].address() as AddressInfo).port;

  return {
    port,
    address(host: string): string {
      const bound = hosts.includes(host) || (host === 'localhost' && (hosts.includes('127.0.0.1') || hosts.includes('::1')));
      if (!bound) throw new Error(`the metadata server of instance ${identity.instanceId} does not listen on ${host} (it listens on ${hosts.join(', ')})`);
      return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    },
    close(): Promise<void> {
      closing ??= (async () => {
        for (const w of [...waiting]) {
          clearTimeout(w.timer);
          waiting.delete(w);
        }
        await Promise.all(servers.map((s) => closeServer(s)));
        admitted.delete(port);
      })();
      return closing;
    },
  };
}

/** Listens on every host with one port: the first host picks it (0 = free), the rest reuse it. */
async function listenAll(handler: http.RequestListener, hosts: string[], port: number): Promise<http.Server[]> {
  // With a free port, the one picked on the first host can be taken on another: try again.
  const attempts = port === 0 ? 5 : 1;
  for (let attempt = 1; ; attempt++) {
    const servers: http.Server[] = [];
    try {
      let chosen = port;
      for (const host of hosts) {
        const server = http.createServer(handler);
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(chosen, host, () => {
            server.off('error', reject);
            resolve();
          });
        });
        servers.push(server);
        chosen = (server.address() as AddressInfo).port;
      }
      return servers;
    } catch (err) {
      await Promise.all(servers.map((s) => closeServer(s)));
      if (attempt >= attempts || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
