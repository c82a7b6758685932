/**
 * The fetch layer's limits (src/verify/http-fetch.ts). These are about HTTP
 * behaviour a real provider will not produce on demand (oversized bodies,
 * redirects), so a small node:http server stands in.
 */
import t, { type Test } from 'tap';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LeashError } from '../../../src/errors.js';
import { MAX_RESPONSE_BYTES, checkFetchUrl, fetchJson } from '../../../src/verify/keys/http-fetch.js';

async function serve(t: Test, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return err instanceof LeashError ? err.code : `not a LeashError: ${String(err)}`;
  }
  return 'no error';
}

const deadline = (): AbortSignal => AbortSignal.timeout(3000);

t.test('checkFetchUrl: https, or http to loopback only', async (t) => {
  for (const ok of ['https://accounts.google.com', 'http://127.0.0.1:8080/x', 'http://127.9.8.7', 'http://[::1]:9/x', 'http://localhost:1']) {
    t.doesNotThrow(() => checkFetchUrl(ok, 'u'), ok);
  }
  for (const bad of ['http://example.com', 'http://10.0.0.1', 'http://[::2]', 'http://127.0.0.1.nip.io', 'http://localhost.example.com', 'ftp://127.0.0.1', 'file:///etc/passwd', 'https://a:b@example.com', 'not a url', '']) {
    t.throws(() => checkFetchUrl(bad, 'u'), { code: 'JWKS_URL_INSECURE' }, JSON.stringify(bad));
  }
});

t.test('size cap, with and without Content-Length', async (t) => {
  const big = JSON.stringify({ pad: 'x'.repeat(MAX_RESPONSE_BYTES) });
  const base = await serve(t, (req, res) => {
    if (req.url === '/declared') {
      res.setHeader('content-length', Buffer.byteLength(big));
      res.end(big);
    } else if (req.url === '/chunked') {
      res.write(big.slice(0, 1000)); // no Content-Length: chunked
      res.end(big.slice(1000));
    } else res.end('{"ok":true}');
  });
  t.equal(await codeOf(fetchJson(`${base}/declared`, deadline(), 'test')), 'JWKS_RESPONSE_TOO_LARGE');
  t.equal(await codeOf(fetchJson(`${base}/chunked`, deadline(), 'test')), 'JWKS_RESPONSE_TOO_LARGE');
  t.same(await fetchJson(`${base}/small`, deadline(), 'test'), { ok: true });
});

t.test('redirects: followed only to allowed URLs, and only a few times', async (t) => {
  const base = await serve(t, (req, res) => {
    const to = (loc: string): void => {
      res.statusCode = 302;
      res.setHeader('location', loc);
      res.end();
    };
    if (req.url === '/to-http') to('http://example.com/jwks');
    else if (req.url === '/to-local') to('/final');
    else if (req.url === '/loop') to('/loop');
    else if (req.url === '/final') res.end('{"final":1}');
    else if (req.url === '/500') {
      res.statusCode = 500;
      res.end('{}');
    } else res.end('not json');
  });
  t.equal(await codeOf(fetchJson(`${base}/to-http`, deadline(), 'test')), 'JWKS_URL_INSECURE');
  t.same(await fetchJson(`${base}/to-local`, deadline(), 'test'), { final: 1 });
  t.equal(await codeOf(fetchJson(`${base}/loop`, deadline(), 'test')), 'JWKS_FETCH_FAILED');
  t.equal(await codeOf(fetchJson(`${base}/500`, deadline(), 'test')), 'JWKS_FETCH_FAILED');
  t.equal(await codeOf(fetchJson(`${base}/text`, deadline(), 'test')), 'JWKS_RESPONSE_INVALID');
});

t.test('a body that stalls after the headers still hits the deadline', async (t) => {
  const base = await serve(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"keys":['); // and nothing more
  });
  const start = Date.now();
  t.equal(await codeOf(fetchJson(`${base}/jwks`, AbortSignal.timeout(500), 'test')), 'JWKS_FETCH_TIMEOUT');
  t.ok(Date.now() - start < 2000);
});
