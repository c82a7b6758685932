/** The demo's OpenID provider and headless login: a real authorization-code + PKCE flow over HTTP on 127.0.0.1. */
import t from 'tap';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { startDemoProvider } from '../../src/demo/oidc-provider.js';
import { providerLogin } from '../../src/demo/provider-login.js';

const op = await startDemoProvider([{ name: 'alice', email: 'alice@example.com' }]);
t.teardown(op.stop);

t.test('a login yields an ID token signed by the provider, carrying the caller nonce', async (t) => {
  const { idToken } = await providerLogin(op, 'alice', 'nonce-123');
  const { payload } = await jwtVerify(idToken, createRemoteJWKSet(new URL(`${op.issuer}/jwks`)), { issuer: op.issuer, audience: op.clientId });
  t.match(payload, { sub: 'alice', email: 'alice@example.com', email_verified: true, nonce: 'nonce-123' });
  t.ok(op.keyRequests() >= 2, 'discovery and the key set were served');
});

t.test('it refuses what a provider must refuse', async (t) => {
  await t.rejects(providerLogin(op, 'mallory', 'n'), /refused/, 'not a demo user');
  await t.rejects(providerLogin({ ...op, clientId: 'other' }, 'alice', 'n'), /refused/, 'another client');
  await t.rejects(providerLogin({ ...op, redirectUri: `${op.issuer}/elsewhere` }, 'alice', 'n'), /refused/, 'another redirect URI');
  // The code is single-use and bound to the PKCE verifier.
  const auth = new URL(`${op.issuer}/authorize`);
  const challenge = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
  for (const [k, v] of Object.entries({ client_id: op.clientId, redirect_uri: op.redirectUri, response_type: 'code', nonce: 'n', login_hint: 'alice', code_challenge: challenge, code_challenge_method: 'S256' })) auth.searchParams.set(k, v);
  const code = new URL((await fetch(auth, { redirect: 'manual' })).headers.get('location')!).searchParams.get('code')!;
  const exchange = (verifier: string) =>
    fetch(`${op.issuer}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: op.redirectUri, client_id: op.clientId, code_verifier: verifier }) });
  t.equal((await exchange('wrong-verifier')).status, 400, 'a wrong PKCE verifier');
  t.equal((await exchange('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).status, 400, 'the code was consumed by the failed attempt');
});
