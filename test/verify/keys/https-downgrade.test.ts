/**
 * An https provider must never hand discovery or its key set to plain http,
 * even on loopback (where plain http is otherwise allowed, for tests). A real
 * TLS server on 127.0.0.1 with a certificate made by the openssl command,
 * trusted by this test process only (tls.setDefaultCACertificates), answers
 * with real redirects and a jwks_uri pointing at a plain http server that
 * would serve a perfectly good discovery document and key set.
 */
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LeashError } from '../../../src/errors.js';
import { discoverJwks } from '../../../src/verify/keys/discovery.js';
import { refreshProvider } from '../../../src/verify/keys/provider-keys.js';
import { publicJwk, signingKey } from '../../helpers/oidc-provider.js';

const dir = mkdtempSync(join(tmpdir(), 'leash-https-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
setDefaultCACertificates([...getCACertificates('default'), cert]);

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const json = (res: ServerResponse, v: unknown): void => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(v));
};
const redirect = (res: ServerResponse, to: string): void => {
  res.statusCode = 302;
  res.setHeader('location', to);
  res.end();
};

async function listen(t: Test, server: ReturnType<typeof createHttpServer>): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return (server.address() as AddressInfo).port;
}

/** An https "provider" and a plain http server beside it; both log the paths they served. */
async function servers(t: Test, https: (base: { https: string; http: string }) => Handler, http: (base: { https: string; http: string }) => Handler) {
  const seen = { https: [] as string[], http: [] as string[] };
  const base = { https: '', http: '' };
  const tlsServer = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert }, (req, res) => {
    seen.https.push(req.url ?? '');
    https(base)(req, res);
  });
  const plain = createHttpServer((req, res) => {
    seen.http.push(req.url ?? '');
    http(base)(req, res);
  });
  base.https = `https://127.0.0.1:${await listen(t, tlsServer as unknown as ReturnType<typeof createHttpServer>)}`;
  base.http = `http://127.0.0.1:${await listen(t, plain)}`;
  return { base, seen };
}

const key = signingKey('ES256');
const DISCOVERY = '/.well-known/openid-configuration';

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return err instanceof LeashError ? `${err.code}: ${err.message}` : `not a LeashError: ${String(err)}`;
  }
  return 'no error';
}

t.test('the TLS set-up works: https discovery and key set are fetched', async (t) => {
  const { base } = await servers(
    t,
    (b) => (req, res) => (req.url === DISCOVERY ? json(res, { issuer: b.https, jwks_uri: `${b.https}/jwks` }) : json(res, { keys: [publicJwk(key)] })),
    () => (_req, res) => json(res, {}),
  );
  const r = await discoverJwks(base.https);
  t.same(r.keys.map((k) => k.kid), [key.kid]);
});

t.test('https discovery redirected to plain http (loopback) is refused, and the http server is never asked', async (t) => {
  const { base, seen } = await servers(
    t,
    (b) => (req, res) => redirect(res, `${b.http}${req.url}`),
    (b) => (req, res) => (req.url === DISCOVERY ? json(res, { issuer: b.https, jwks_uri: `${b.http}/jwks` }) : json(res, { keys: [publicJwk(key)] })),
  );
  t.match(await code(discoverJwks(base.https)), /^JWKS_URL_INSECURE: discovery redirect target http:\/\/127\.0\.0\.1:\d+ is not https, though it was reached from https:/);
  t.same(seen.http, [], 'no request over plain http');
  t.same(seen.https, [DISCOVERY], 'the redirect itself was a real response');
  // What a login's fetch and the refresh timer run:
  t.match(await code(refreshProvider({ issuer: base.https }, { cacheDir: join(dir, 'none'), now: Math.floor(Date.now() / 1000) })), /^JWKS_URL_INSECURE/);
});

t.test('an https discovery document naming an http jwks_uri is refused', async (t) => {
  const { base, seen } = await servers(t, (b) => (_req, res) => json(res, { issuer: b.https, jwks_uri: `${b.http}/jwks` }), () => (_req, res) => json(res, { keys: [publicJwk(key)] }));
  t.match(await code(discoverJwks(base.https)), /^JWKS_URL_INSECURE: jwks_uri http:\/\/127\.0\.0\.1:\d+ is not https/);
  t.same(seen.http, []);
});

t.test('an https key set redirected to http is refused; https to https is followed', async (t) => {
  const { base, seen } = await servers(
    t,
    (b) => (req, res) => {
      if (req.url === DISCOVERY) json(res, { issuer: b.https, jwks_uri: `${b.https}/jwks-moved` });
      else if (req.url === '/jwks-moved') redirect(res, '/jwks-here'); // same origin, https
      else if (req.url === '/jwks-here') redirect(res, `${b.http}/jwks`);
      else json(res, {});
    },
    () => (_req, res) => json(res, { keys: [publicJwk(key)] }),
  );
  t.match(await code(discoverJwks(base.https)), /^JWKS_URL_INSECURE: jwks redirect target http:/);
  t.same(seen.https, [DISCOVERY, '/jwks-moved', '/jwks-here'], 'the https→https hop was followed');
  t.same(seen.http, []);
});
