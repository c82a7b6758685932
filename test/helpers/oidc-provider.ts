/**
 * A REAL OpenID provider (panva's `oidc-provider`, the npm package) on
 * 127.0.0.1, for tests that are about talking to a provider: discovery, JWKS,
 * key rotation, outages, and ID tokens whose `nonce` the test chooses (the PK
 * Token's CIC commitment). The headless login follows
 * /work/shared/design/openssh-node-facts.md §5 request by request.
 *
 *   const op = await startProvider({ keys: [await signingKey('ES256')] });
 *   t.teardown(op.stop);
 *   const { idToken } = await op.login('alice', cicHash);
 *   op.keyRequests()   // discovery + /jwks requests served so far
 *
 * One http.Server stays on the port for the helper's whole life; setKeys()
 * swaps the Provider behind it, which is key rotation as the outside sees it
 * (same issuer, new /jwks).
 */
import { createHash, generateKeyPairSync, randomBytes, type JsonWebKey } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type SigningAlg = 'RS256' | 'ES256' | 'EdDSA';

/** A private signing JWK as oidc-provider wants it (kid, alg and use set). */
export type PrivateJwk = JsonWebKey & { kid: string; alg: SigningAlg; use: 'sig' };

export interface ProviderOptions {
  /** Signing keys; the first one signs ID tokens. Default: one fresh RS256 key. */
  keys?: PrivateJwk[];
  clientId?: string;
  /**
   * Host written into the issuer (and so into discovery). The server always
   * listens on 127.0.0.1; 'localhost' here makes discovery name an issuer
   * other than http://127.0.0.1:PORT, for issuer-mismatch tests.
   */
  issuerHost?: string;
  /**
   * Lifetime of the ID tokens in seconds (oidc-provider's ttl.IdToken; its
   * default is 3600). A function is asked at every issuance, so one provider
   * can hand out a short-lived token for an expiry test and normal ones otherwise.
   */
  idTokenTtl?: number | (() => number);
  /**
   * The claims of the account a login names (default: sub = the login name,
   * email <name>@example.com, email_verified true). For providers whose users
   * influence their own claims: e.g. a login "alice@example.com" with
   * `{ email: 'mallory@example.com', email_verified: false }` gets
   * sub "alice@example.com" and mallory's unverified address.
   */
  accountClaims?: (login: string) => { email?: string; email_verified?: boolean | string };
}

export interface TestProvider {
  /** http://<issuerHost>:<port>, exactly as discovery reports it. */
  issuer: string;
  /** The issuer as reached on 127.0.0.1 (equals `issuer` unless issuerHost was set). */
  url: string;
  port: number;
  clientId: string;
  clientSecret: string;
  /** Paths (no query) of every request served, in order. */
  requests: string[];
  /** How many requests for /.well-known/openid-configuration and /jwks were served. */
  keyRequests: () => number;
  /** Rotates: replaces the signing keys (the first one signs from now on). */
  setKeys: (keys: PrivateJwk[]) => void;
  /** Headless authorization-code + PKCE login as `user`, with the caller's nonce. */
  login: (user: string, nonce: string) => Promise<{ idToken: string }>;
  stop: () => Promise<void>;
}

/** A fresh private signing key with a random kid. */
export function signingKey(alg: SigningAlg = 'RS256', kid = `${alg.toLowerCase()}-${randomBytes(6).toString('hex')}`): PrivateJwk {
  const pair =
    alg === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : alg === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('ed25519');
  return { ...pair.privateKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
}

/** The public half of a PrivateJwk, as a JWKS would publish it. */
export function publicJwk(key: PrivateJwk): JsonWebKey {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = key;
  return pub;
}

// oidc-provider ships no type declarations. Loading it through a non-literal
// specifier keeps TypeScript from looking for them, and this local interface
// types the little we use without declaring a global module.
interface OidcProvider {
  callback: () => (req: IncomingMessage, res: ServerResponse) => void;
}
type OidcProviderClass = new (issuer: string, config: Record<string, unknown>) => OidcProvider;
const OIDC_PROVIDER: string = 'oidc-provider';

export async function startProvider(opts: ProviderOptions = {}): Promise<TestProvider> {
  const { default: Provider } = (await import(OIDC_PROVIDER)) as { default: OidcProviderClass };
  const clientId = opts.clientId ?? 'leash-test-client';
  const clientSecret = randomBytes(16).toString('hex');
  const requests: string[] = [];
  let current: ((req: IncomingMessage, res: ServerResponse) => void) | null = null;

  const server: Server = createServer((req, res) => {
    requests.push(new URL(req.url ?? '/', 'http://x').pathname);
    if (current === null) {
      res.statusCode = 503;
      res.end();
      return;
    }
    current(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const issuer = `http://${opts.issuerHost ?? '127.0.0.1'}:${port}`;
  const redirectUri = `${url}/callback`;

  const build = (keys: PrivateJwk[]): void => {
    const first = keys[0];
    if (!first) throw new Error('startProvider: at least one signing key is needed');
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: clientId,
          client_secret: clientSecret,
          redirect_uris: [redirectUri],
          grant_types: ['authorization_code'],
          response_types: ['code'],
          id_token_signed_response_alg: first.alg,
        },
      ],
      jwks: { keys },
      claims: { openid: ['sub'], email: ['email', 'email_verified'] },
      // Puts email into the ID token itself (by default it would only be in userinfo).
      conformIdTokenClaims: false,
      findAccount: async (_ctx: unknown, id: string) => ({
        accountId: id,
        claims: async () => ({ sub: id, email: `${id}@example.com`, email_verified: true, ...opts.accountClaims?.(id) }),
      }),
      features: { devInteractions: { enabled: true } },
      pkce: { required: () => true },
      cookies: { keys: [randomBytes(16).toString('hex')] },
      ...(opts.idTokenTtl === undefined ? {} : { ttl: { IdToken: typeof opts.idTokenTtl === 'number' ? opts.idTokenTtl : () => (opts.idTokenTtl as () => number)() } }),
    });
    current = provider.callback();
  };
  build(opts.keys ?? [signingKey('RS256')]);

  const login = async (user: string, nonce: string): Promise<{ idToken: string }> => {
    const jar = new Map<string, string>();
    const send = async (path: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<Response> => {
      const headers: Record<string, string> = { ...init.headers };
      if (jar.size > 0) headers['cookie'] = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
      const res = await fetch(new URL(path, url), { method: init.method ?? 'GET', body: init.body ?? null, headers, redirect: 'manual' });
      for (const c of res.headers.getSetCookie()) {
        const pair = c.split(';')[0] ?? '';
        const eq = pair.indexOf('=');
        const name = pair.slice(0, eq).trim();
        const value = pair.slice(eq + 1);
        if (value === '' || /expires=Thu, 01 Jan 1970/i.test(c)) jar.delete(name);
        else jar.set(name, value);
      }
      return res;
    };
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const verifier = randomBytes(32).toString('base64url');
    const state = randomBytes(8).toString('hex');
    const query = new URLSearchParams({
      client_id: clientId,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: 'openid email',
      nonce,
      state,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    });

    // §5 steps 1–3: /auth → /interaction (login form) → /auth → /interaction (consent) → /auth → redirect_uri?code
    let res = await send(`/auth?${query}`);
    let code: string | null = null;
    for (let step = 0; step < 12 && code === null; step++) {
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location !== null) {
        const next = new URL(location, url);
        if (`${next.origin}${next.pathname}` === redirectUri) {
          if (next.searchParams.get('state') !== state) throw new Error('login: state mismatch');
          code = next.searchParams.get('code');
          if (code === null) throw new Error(`login: provider answered ${next.search}`);
          break;
        }
        res = await send(`${next.pathname}${next.search}`);
        continue;
      }
      const path = new URL(res.url).pathname;
      const html = await res.text();
      if (res.status !== 200 || !path.startsWith('/interaction/')) throw new Error(`login: unexpected ${res.status} at ${path}`);
      const body = html.includes('name="login"')
        ? new URLSearchParams({ prompt: 'login', login: user, password: 'anything' })
        : new URLSearchParams({ prompt: 'consent' });
      res = await send(path, { method: 'POST', body: body.toString(), headers: form });
    }
    if (code === null) throw new Error('login: no authorization code after 12 steps');

    // §5 step 4: code → tokens, client authenticated with HTTP Basic.
    const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64');
    const tokenRes = await send('/token', {
      method: 'POST',
      headers: { ...form, authorization: `Basic ${basic}` },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier }).toString(),
    });
    const tokens = (await tokenRes.json()) as { id_token?: unknown; error?: unknown };
    if (tokenRes.status !== 200 || typeof tokens.id_token !== 'string') throw new Error(`login: token endpoint answered ${tokenRes.status} ${String(tokens.error)}`);
    return { idToken: tokens.id_token };
  };

  let stopped: Promise<void> | undefined;
  return {
    issuer,
    url,
    port,
    clientId,
    clientSecret,
    requests,
    keyRequests: () => requests.filter((p) => p === '/.well-known/openid-configuration' || p === '/jwks').length,
    setKeys: build,
    login,
    stop: () =>
      (stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}
