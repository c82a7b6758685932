import { LeashError } from '../../errors.js';

/**
 * Discovery documents and key sets are a few KiB (Azure's JWKS with x5c
 * chains is ~15 KiB). Anything much larger is refused before it is parsed.
 */
export const MAX_RESPONSE_BYTES = 256 * 1024;
/** https→https redirects are followed this many times, then refused. */
const MAX_REDIRECTS = 3;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * Plain http is only for a provider on this machine (tests, a local IdP):
 * nothing on the network path can tamper with loopback traffic.
 */
function isLoopbackHost(hostname: string): boolean {
  // WHATWG URL has already normalised IPv4 forms (127.1 → 127.0.0.1) and brackets IPv6.
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/**
 * Parses and checks a URL that leash is about to fetch (or an issuer it will
 * build one from): https, or http to loopback; no credentials. A URL reached
 * from an https one (`from`: a redirect's source, the issuer of a jwks_uri)
 * must be https itself: a provider leash talks to over TLS never hands the
 * rest of the exchange to plain http, loopback or not. Throws
 * JWKS_URL_INSECURE.
 */
export function checkFetchUrl(text: string, what: string, from?: URL): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new LeashError('JWKS_URL_INSECURE', `${what} is not a valid URL: ${JSON.stringify(text)}`);
  }
  if (url.username !== '' || url.password !== '') throw new LeashError('JWKS_URL_INSECURE', `${what} must not carry credentials`);
  if (url.protocol === 'https:') return url;
  if (from?.protocol === 'https:') throw new LeashError('JWKS_URL_INSECURE', `${what} ${url.origin} is not https, though it was reached from ${from.origin}`);
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return url;
  throw new LeashError('JWKS_URL_INSECURE', `${what} must be https (http only for 127.0.0.0/8, ::1, localhost): ${url.origin}`);
}

/**
 * GETs a JSON document. `signal` carries the caller's overall deadline so a
 * provider that accepts the connection and then stalls cannot hold up a
 * login. Redirects are followed by hand so every hop passes checkFetchUrl.
 * Throws JWKS_URL_INSECURE, JWKS_FETCH_TIMEOUT, JWKS_FETCH_FAILED,
 * JWKS_RESPONSE_TOO_LARGE or JWKS_RESPONSE_INVALID.
 */
export async function fetchJson(urlText: string, signal: AbortSignal, what: string): Promise<unknown> {
  let url = checkFetchUrl(urlText, what);
  for (let hop = 0; ; hop++) {
    let res: Response;
    try {
      res = await fetch(url, { method: 'GET', redirect: 'manual', signal, headers: { accept: 'application/json' } });
    } catch (err) {
      throw fetchError(err, what, url);
    }
    if (REDIRECT_STATUSES.has(res.status)) {
      await discard(res);
      const location = res.headers.get('location');
      if (location === null) throw new LeashError('JWKS_FETCH_FAILED', `${what} ${url.href}: redirect without Location`);
      if (hop >= MAX_REDIRECTS) throw new LeashError('JWKS_FETCH_FAILED', `${what} ${url.href}: more than ${MAX_REDIRECTS} redirects`);
      url = checkFetchUrl(new URL(location, url).href, `${what} redirect target`, url);
      continue;
    }
    if (res.status !== 200) {
      await discard(res);
      throw new LeashError('JWKS_FETCH_FAILED', `${what} ${url.href}: HTTP ${res.status}`);
    }
    const body = await readCapped(res, what, url);
    try {
      return JSON.parse(body.toString('utf8')) as unknown;
    } catch {
      throw new LeashError('JWKS_RESPONSE_INVALID', `${what} ${url.href}: response is not JSON`);
    }
  }
}

/** Reads the body, refusing as soon as it passes MAX_RESPONSE_BYTES (Content-Length can lie or be absent). */
async function readCapped(res: Response, what: string, url: URL): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > MAX_RESPONSE_BYTES) {
    await discard(res);
    throw new LeashError('JWKS_RESPONSE_TOO_LARGE', `${what} ${url.href}: larger than ${MAX_RESPONSE_BYTES} bytes`);
  }
  if (res.body === null) return Buffer.alloc(0);
  const reader = res.body.getReader();
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > MAX_RESPONSE_BYTES) {
        await reader.cancel().catch(() => undefined);
        throw new LeashError('JWKS_RESPONSE_TOO_LARGE', `${what} ${url.href}: larger than ${MAX_RESPONSE_BYTES} bytes`);
      }
      chunks.push(Buffer.from(value));
    }
  } catch (err) {
    throw fetchError(err, what, url);
  }
  return Buffer.concat(chunks, total);
}

async function discard(res: Response): Promise<void> {
  await res.body?.cancel().catch(() => undefined);
}

function fetchError(err: unknown, what: string, url: URL): LeashError {
  if (err instanceof LeashError) return err;
  const name = err instanceof Error ? err.name : '';
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new LeashError('JWKS_FETCH_TIMEOUT', `${what} ${url.href}: no answer within the deadline`);
  }
  // undici hides the socket error in `cause` (ECONNREFUSED, ENOTFOUND, certificate errors).
  const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined;
  const detail = typeof cause?.code === 'string' ? cause.code : err instanceof Error ? err.message : 'request failed';
  return new LeashError('JWKS_FETCH_FAILED', `${what} ${url.href}: ${detail}`);
}
