// The local ingress's routing rules, pure: which Ingress/HTTPRoute rule a host and path take,
// in the precedence Kubernetes documents (exact host over wildcard, longest path, Exact over
// Prefix at equal length, defaultBackend last), and what a backend Service port leads to.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { describe, it } from 'node:test';
import type { V1Service } from '@kubernetes/client-node';
import { IngressServer, hostMatches, hostOf, matchRoute, pathMatches, routesOf, routeUrl, serviceTarget, type Route } from './ingress.js';
import type { K8sObject } from './manifests.js';

const backend = (name: string, port: number | string = 80) => ({ service: { name, port: typeof port === 'number' ? { number: port } : { name: port } } });

const ingress = (name: string, spec: unknown): K8sObject => ({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name, namespace: 'shop' }, spec });

const shop = ingress('shop', {
  defaultBackend: backend('fallback'),
  rules: [
    { host: 'shop.localhost', http: { paths: [
      { path: '/', pathType: 'Prefix', backend: backend('web') },
      { path: '/api', pathType: 'Prefix', backend: backend('api', 'http') },
      { path: '/api/health', pathType: 'Exact', backend: backend('health') },
      { path: '/static/', pathType: 'ImplementationSpecific', backend: backend('static') },
      { path: '/same', pathType: 'Prefix', backend: backend('same-prefix') },
      { path: '/same', pathType: 'Exact', backend: backend('same-exact') },
    ] } },
    { host: '*.shop.localhost', http: { paths: [{ path: '/', pathType: 'Prefix', backend: backend('preview') }] } },
    { host: 'admin.shop.localhost', http: { paths: [{ path: '/', pathType: 'Prefix', backend: backend('admin') }] } },
    { http: { paths: [{ path: '/any', pathType: 'Prefix', backend: backend('anyhost') }] } },
  ],
});

const routed = (routes: Route[], host: string, path: string) => matchRoute(routes, host, path)?.backend.service;

describe('local ingress routing (Ingress)', () => {
  const { routes, problems } = routesOf([shop]);

  it('reads every path of every rule, the defaultBackend, and the port by number or name', () => {
    assert.deepEqual(problems, []);
    assert.equal(routes.length, 10);
    assert.deepEqual(routes.find((r) => r.backend.service === 'api')!.backend, { namespace: 'shop', service: 'api', port: 'http' });
    assert.deepEqual(routes.find((r) => r.backend.service === 'web')!.backend, { namespace: 'shop', service: 'web', port: 80 });
    assert.equal(routes.find((r) => r.backend.service === 'static')!.pathType, 'Prefix', 'ImplementationSpecific is served as Prefix');
  });

  it('takes the longest matching prefix, by whole path elements', () => {
    assert.equal(routed(routes, 'shop.localhost', '/'), 'web');
    assert.equal(routed(routes, 'shop.localhost', '/api'), 'api');
    assert.equal(routed(routes, 'shop.localhost', '/api/'), 'api');
    assert.equal(routed(routes, 'shop.localhost', '/api/orders/1'), 'api');
    assert.equal(routed(routes, 'shop.localhost', '/apix'), 'web', '/api does not match /apix');
    assert.equal(routed(routes, 'shop.localhost', '/static'), 'static', 'a trailing slash in the prefix is ignored');
  });

  it('prefers Exact at equal length, and an Exact path matches only itself', () => {
    assert.equal(routed(routes, 'shop.localhost', '/same'), 'same-exact');
    assert.equal(routed(routes, 'shop.localhost', '/same/x'), 'same-prefix');
    assert.equal(routed(routes, 'shop.localhost', '/api/health'), 'health');
    assert.equal(routed(routes, 'shop.localhost', '/api/health/'), 'api', 'Exact does not match with a trailing slash');
  });

  it('prefers an exact host over a wildcard, which covers exactly one label', () => {
    assert.equal(routed(routes, 'admin.shop.localhost', '/'), 'admin');
    assert.equal(routed(routes, 'pr-12.shop.localhost', '/'), 'preview');
    assert.equal(routed(routes, 'a.b.shop.localhost', '/'), 'fallback', 'an Ingress wildcard matches one label only');
  });

  it('sends a host no rule names to the host-less rules, then to the defaultBackend', () => {
    assert.equal(routed(routes, 'elsewhere.localhost', '/any/thing'), 'anyhost');
    assert.equal(routed(routes, 'shop.localhost', '/any'), 'web', 'a rule for the host comes before a host-less one');
    assert.equal(routed(routes, 'elsewhere.localhost', '/'), 'fallback');
    assert.equal(matchRoute(routesOf([ingress('x', { rules: shop.spec && (shop.spec as any).rules })]).routes, 'elsewhere.localhost', '/'), undefined, 'no defaultBackend: nothing');
  });

  it('ignores the port and case of the Host header', () => {
    assert.equal(hostOf('Shop.LocalHost:8080'), 'shop.localhost');
    assert.equal(hostOf('shop.localhost.'), 'shop.localhost');
    assert.equal(hostOf('[::1]:8080'), '[::1]');
    assert.equal(hostOf(undefined), '');
    assert.equal(routed(routes, hostOf('SHOP.localhost:9999'), '/api/x'), 'api');
  });

  it('names what it cannot serve instead of guessing', () => {
    const { routes: r, problems: p } = routesOf([ingress('res', { rules: [{ host: 'x.localhost', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { resource: { kind: 'Bucket', name: 'b' } } }] } }] })]);
    assert.equal(r.length, 0);
    assert.match(p[0], /^ingress\/shop\/res spec\.rules\[0\]\.http\.paths\[0\]\.backend: only a service backend .*resource backend is not/);
  });

  it('shows a route as the URL to open', () => {
    assert.equal(routeUrl(routes[1], 8080), 'http://shop.localhost:8080/api');
    assert.equal(routeUrl(routes.find((r) => r.fallback)!, 8081), 'http://127.0.0.1:8081/');
  });
});

describe('local ingress routing (HTTPRoute)', () => {
  const route: K8sObject = {
    apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'store', namespace: 'shop' },
    spec: {
      parentRefs: [{ name: 'gw' }],
      hostnames: ['store.localhost', '*.store.localhost'],
      rules: [
        { matches: [{ path: { type: 'PathPrefix', value: '/cart' } }], backendRefs: [{ name: 'cart', port: 8080 }, { name: 'cart-canary', port: 8080 }] },
        { matches: [{ path: { type: 'Exact', value: '/' } }], backendRefs: [{ name: 'home', port: 80, namespace: 'other' }] },
        { backendRefs: [{ name: 'web', port: 80 }] },
        { matches: [{ path: { type: 'RegularExpression', value: '/x.*' } }], backendRefs: [{ name: 'rx', port: 80 }] },
      ],
    },
  };
  const { routes, problems } = routesOf([route]);

  it('routes by hostnames and path matches to the first backendRef, in its namespace if given', () => {
    assert.equal(routed(routes, 'store.localhost', '/cart/items'), 'cart');
    assert.equal(routed(routes, 'store.localhost', '/'), 'home');
    assert.equal(matchRoute(routes, 'store.localhost', '/')!.backend.namespace, 'other');
    assert.equal(routed(routes, 'store.localhost', '/about'), 'web', 'a rule without matches is PathPrefix /');
    assert.equal(routed(routes, 'other.localhost', '/'), undefined);
  });

  it('lets a Gateway API wildcard cover several labels, and never the bare domain', () => {
    assert.equal(routed(routes, 'a.b.store.localhost', '/cart'), 'cart');
    assert.ok(!hostMatches({ host: '*.store.localhost', deepWildcard: true }, 'store.localhost'));
    assert.ok(!hostMatches({ host: '*.store.localhost', deepWildcard: false }, 'a.b.store.localhost'));
  });

  it('says what is not served: extra backendRefs and regular expressions', () => {
    assert.ok(problems.some((p) => /spec\.rules\[0\]: 2 backendRefs; only the first \(cart\)/.test(p)), problems.join('\n'));
    assert.ok(problems.some((p) => /spec\.rules\[3\]\.matches\[0\]\.path\.type RegularExpression: not served locally/.test(p)), problems.join('\n'));
    assert.equal(routes.some((r) => r.backend.service === 'rx'), false);
  });

  it('objects of other kinds give no route', () => {
    assert.deepEqual(routesOf([{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' } }]).routes, []);
  });
});

describe('pathMatches', () => {
  it('a Prefix of / matches everything', () => {
    assert.ok(pathMatches({ path: '/', pathType: 'Prefix' }, '/anything/at/all'));
    assert.ok(!pathMatches({ path: '/a/b', pathType: 'Prefix' }, '/a/bc'));
  });
});

describe('serviceTarget', () => {
  const svc = { spec: { selector: { app: 'api' }, ports: [{ port: 80, name: 'http', targetPort: 'web' }, { port: 9090 }] } } as unknown as V1Service;

  it('leads a Service port, by number or name, to its target port on the selected pods', () => {
    assert.deepEqual(serviceTarget(svc, { namespace: 'shop', service: 'api', port: 'http' }), { namespace: 'shop', selector: { app: 'api' }, port: 'web', from: 'service/api:80' });
    assert.deepEqual(serviceTarget(svc, { namespace: 'shop', service: 'api', port: 9090 }), { namespace: 'shop', selector: { app: 'api' }, port: 9090, from: 'service/api:9090' });
  });

  it('says which ports the Service has when the one asked for is not one of them', () => {
    assert.equal(serviceTarget(svc, { namespace: 'shop', service: 'api', port: 81 }), 'service api (namespace shop) has no port 81 (its ports: 80/http, 9090)');
    assert.match(serviceTarget({ spec: { ports: [{ port: 80 }] } } as V1Service, { namespace: 's', service: 'ext', port: 80 }) as string, /has no selector/);
  });
});

describe('IngressServer (no cluster needed for what is asked here)', () => {
  const lines: string[] = [];
  const logger = { info: (m: string) => lines.push(`info ${m}`), warn: (m: string) => lines.push(`warn ${m}`), error: (m: string) => lines.push(`error ${m}`), output: () => {} };
  const get = (port: number, host: string, path: string) => new Promise<{ status: number; body: string }>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, headers: { host }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c) => { body += c; }).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).once('error', reject);
  });

  it('starts with the first route, moves off a taken port with a warning, lists the routes on a 404, logs each route once, closes', async () => {
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    const takenPort = (taken.address() as net.AddressInfo).port;
    // The API clients are never reached: no request here matches a route.
    const server = new IngressServer(undefined as never, undefined as never, logger, takenPort);
    try {
      assert.deepEqual(await server.update('other', [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }], logger), []);
      assert.equal(server.port, 0, 'no route, no server');
      await server.update('web', [shop], logger);
      await server.update('web', [shop], logger);
      assert.ok(server.port > 0 && server.port !== takenPort);
      assert.ok(lines.includes(`warn ingress: 127.0.0.1:${takenPort} is in use, serving on 127.0.0.1:${server.port} instead; set kubernetes.ingress.port in Devfile.ts to pick a free one`), lines.join('\n'));
      assert.equal(lines.filter((l) => l === `info ingress: http://shop.localhost:${server.port}/api -> api:http`).length, 1, lines.join('\n'));
      assert.deepEqual(server.endpointsFor(new Set(['shop/api'])), [{ name: 'ingress', url: `http://shop.localhost:${server.port}/api` }]);

      server.remove('web');
      await server.update('web', [ingress('only', { rules: [{ host: 'shop.localhost', http: { paths: [{ path: '/cart', pathType: 'Exact', backend: backend('cart') }] } }] })], logger);
      const r = await get(server.port, 'shop.localhost:1234', '/nope?x=1');
      assert.equal(r.status, 404);
      assert.equal(r.body, `devloop local ingress: no Ingress or HTTPRoute rule matches host "shop.localhost" and path "/nope".\n\nKnown routes:\n  http://shop.localhost:${server.port}/cart (exact) -> cart:80  (ingress/shop/only)\n`);
    } finally {
      await server.close();
      taken.close();
    }
    const port = server.port;
    await assert.rejects(get(port, 'shop.localhost', '/'), /ECONNREFUSED/, 'closed');
  });
});
