import { createHash, randomBytes } from 'node:crypto';

/** The parts of an OpenID provider a headless login needs. */
export interface LoginTarget {
  issuer: string;
  clientId: string;
  redirectUri: string;
}

/**
 * The client's half of an authorization-code login with PKCE, as `opkssh
 * login` does it but without a browser: discovery, the authorization request
 * (the caller's `nonce` — the CIC commitment — and a PKCE challenge), the
 * redirect carrying the code, and the token request. Returns the ID token.
 */
export async function providerLogin(target: LoginTarget, user: string, nonce: string): Promise<{ idToken: string }> {
  const discovery = (await (await fetch(`${target.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  const authorizeUrl = discovery['authorization_endpoint'];
  const tokenUrl = discovery['token_endpoint'];
  if (discovery['issuer'] !== target.issuer || typeof authorizeUrl !== 'string' || typeof tokenUrl !== 'string') throw new Error(`${target.issuer}: not an OpenID provider`);

  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('hex');
  const request = new URL(authorizeUrl);
  for (const [k, v] of Object.entries({
    client_id: target.clientId,
    redirect_uri: target.redirectUri,
    response_type: 'code',
    scope: 'openid email',
    nonce,
    state,
    login_hint: user,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  })) {
    request.searchParams.set(k, v);
  }
  const redirect = await fetch(request, { redirect: 'manual' });
  const location = redirect.headers.get('location');
  if (redirect.status !== 303 || location === null) throw new Error(`authorization request refused (HTTP ${redirect.status})`);
  const back = new URL(location);
  const code = back.searchParams.get('code');
  if (back.origin + back.pathname !== target.redirectUri || back.searchParams.get('state') !== state || code === null) throw new Error('the provider redirected to an unexpected place');

  const res = await fetch(tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: target.redirectUri, client_id: target.clientId, code_verifier: verifier }),
  });
  const body = (await res.json()) as Record<string, unknown>;
  if (!res.ok || typeof body['id_token'] !== 'string') throw new Error(`token request refused (HTTP ${res.status})`);
  return { idToken: body['id_token'] };
}
