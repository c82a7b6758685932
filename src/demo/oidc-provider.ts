import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small OpenID provider for `leash demo`, on 127.0.0.1 only: discovery, a
 * JWK Set, and the authorization-code flow with PKCE (S256), signing RS256
 * ID tokens with a key made at start. It logs in only the demo users it was
 * given, without a password (there is nobody to ask on loopback), and copies
 * the client's `nonce` into the ID token — which is what opkssh relies on.
 * It exists so that the demo's certificate comes from a real login over
 * HTTP, exactly as the tests' provider (panva's oidc-provider) gives one.
 */
export interface DemoProvider {
  /** http://127.0.0.1:PORT */
  issuer: string;
  clientId: string;
  /** The redirect URI the client must use (nothing listens there: the code is read from the Location header). */
  redirectUri: string;
  /** How many discovery and JWK Set requests were served (a warm key cache makes none at login). */
  keyRequests: () => number;
  stop: () => Promise<void>;
}

export interface DemoUser {
  /** The login name, also the `sub`. */
  name: string;
  email: string;
}

interface PendingCode {
  user: DemoUser;
  nonce: string;
  challenge: string;
  redirectUri: string;
  expires: number;
}

const CODE_TTL_MS = 60_000;
const ID_TOKEN_TTL_S = 3600;

const b64u = (data: string | Buffer): string => Buffer.from(data).toString('base64url');

export async function startDemoProvider(users: readonly DemoUser[], clientId = 'leash-demo'): Promise<DemoProvider> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = `demo-${randomBytes(6).toString('hex')}`;
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
  const codes = new Map<string, PendingCode>();
  let keyRequests = 0;
  let issuer = '';
  let redirectUri = '';

  const server: Server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch {
      reply(res, 500, { error: 'server_error' });
    }
  });
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', issuer);
    if (req.method === 'GET' && url.pathname === '/.well-known/openid-configuration') {
      keyRequests++;
      return reply(res, 200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        code_challenge_methods_supported: ['S256'],
      });
    }
    if (req.method === 'GET' && url.pathname === '/jwks') {
      keyRequests++;
      return reply(res, 200, { keys: [jwk] });
    }
    if (req.method === 'GET' && url.pathname === '/authorize') return authorize(url, res);
    if (req.method === 'POST' && url.pathname === '/token') return void readForm(req).then((form) => token(form, res), () => reply(res, 400, { error: 'invalid_request' }));
    reply(res, 404, { error: 'not_found' });
  };

  /** Logs in `login_hint` (a demo user) at once and redirects back with a one-time code. */
  const authorize = (url: URL, res: ServerResponse): void => {
    const q = url.searchParams;
    const user = users.find((u) => u.name === q.get('login_hint'));
    const nonce = q.get('nonce') ?? '';
    const challenge = q.get('code_challenge') ?? '';
    if (q.get('client_id') !== clientId || q.get('redirect_uri') !== redirectUri || q.get('response_type') !== 'code') return reply(res, 400, { error: 'invalid_request' });
    if (!user || nonce === '' || q.get('code_challenge_method') !== 'S256' || !/^[A-Za-z0-9_-]{43}$/.test(challenge)) return reply(res, 400, { error: 'access_denied' });
    const code = randomBytes(24).toString('base64url');
    codes.set(code, { user, nonce, challenge, redirectUri, expires: Date.now() + CODE_TTL_MS });
    const back = new URL(redirectUri);
    back.searchParams.set('code', code);
    back.searchParams.set('state', q.get('state') ?? '');
    res.writeHead(303, { location: back.href, 'cache-control': 'no-store' }).end();
  };

  /** Exchanges a code (once, with the PKCE verifier) for an ID token. */
  const token = (form: URLSearchParams, res: ServerResponse): void => {
    const code = form.get('code') ?? '';
    const pending = codes.get(code);
    codes.delete(code);
    const verifier = form.get('code_verifier') ?? '';
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    if (!pending || pending.expires < Date.now() || form.get('grant_type') !== 'authorization_code' || form.get('client_id') !== clientId || form.get('redirect_uri') !== pending.redirectUri || challenge !== pending.challenge) {
      return reply(res, 400, { error: 'invalid_grant' });
    }
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: issuer, sub: pending.user.name, aud: clientId, iat: now, exp: now + ID_TOKEN_TTL_S, nonce: pending.nonce, email: pending.user.email, email_verified: true };
    reply(res, 200, { token_type: 'Bearer', access_token: randomBytes(24).toString('base64url'), expires_in: ID_TOKEN_TTL_S, id_token: signJwt(claims, privateKey, kid) });
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  redirectUri = `${issuer}/callback`;
  return {
    issuer,
    clientId,
    redirectUri,
    keyRequests: () => keyRequests,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function signJwt(claims: Record<string, unknown>, key: KeyObject, kid: string): string {
  const input = `${b64u(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid }))}.${b64u(JSON.stringify(claims))}`;
  return `${input}.${b64u(sign('sha256', Buffer.from(input), key))}`;
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let body = '';
  for await (const chunk of req) {
    body += String(chunk);
    if (body.length > 16 * 1024) throw new Error('request too large');
  }
  return new URLSearchParams(body);
}
