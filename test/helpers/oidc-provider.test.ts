import t from 'tap';
import { createPublicKey, verify, type JsonWebKey } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProvider, signingKey, type SigningAlg } from './oidc-provider.js';
import { getSigningKey } from '../../src/verify/keys/provider-keys.js';

/** Verifies a compact JWS with node:crypto only, the way src/ will. */
function verifyJws(token: string, jwk: JsonWebKey): boolean {
  const [h, p, s] = token.split('.') as [string, string, string];
  const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg: string };
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  const data = Buffer.from(`${h}.${p}`);
  const sig = Buffer.from(s, 'base64url');
  if (header.alg === 'RS256') return verify('sha256', data, key, sig);
  if (header.alg === 'ES256') return verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig);
  if (header.alg === 'EdDSA' || header.alg === 'Ed25519') return verify(null, data, key, sig);
  throw new Error(`alg ${header.alg}`);
}

for (const alg of ['RS256', 'ES256', 'EdDSA'] as SigningAlg[]) {
  t.test(`real provider issues ${alg} ID tokens with the caller's nonce, verifiable with the cached key`, async (t) => {
    const op = await startProvider({ keys: [signingKey(alg)] });
    t.teardown(op.stop);
    const cacheDir = mkdtempSync(join(tmpdir(), 'leash-jwks-'));
    t.teardown(() => rmSync(cacheDir, { recursive: true, force: true }));
    const nonce = 'cic-commitment-' + alg;
    const { idToken } = await op.login('alice', nonce);
    const [h, p] = idToken.split('.') as [string, string];
    const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as { kid: string; alg: string };
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    t.equal(payload['nonce'], nonce);
    t.equal(payload['email'], 'alice@example.com');
    t.equal(payload['iss'], op.issuer);
    t.equal(payload['aud'], op.clientId);
    // The cache dir doubles as the verifier state directory (the fetch throttle's records) here.
    const got = await getSigningKey({ issuer: op.issuer }, header.kid, { cacheDir, maxStale: 7 * 86400, now: Math.floor(Date.now() / 1000), stateDir: cacheDir });
    t.equal(got.source, 'fetched');
    t.ok(verifyJws(idToken, got.jwk), 'signature verifies with the key leash returned');
  });
}
