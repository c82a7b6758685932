/**
 * An ID-token signer inside the test process, for tests about what a token
 * SAYS rather than about talking to a provider: claims no real provider
 * issues on demand (an nbf in the future, escape sequences in sub or email,
 * a sub that looks like someone else's email). Tokens are RS256-signed with
 * a fresh key whose public half leash reads from a pinned `jwks_file`
 * (`jwksFileText`), so leash verifies a real signature; `forgeSignature`
 * makes one that does not verify, as an attacker without the key would.
 * Pass it to mintLogin() (test/helpers/pktoken.ts) in place of a provider.
 * Where discovery, JWKS fetches or rotation matter, use oidc-provider.ts.
 */
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';

export interface LocalIssuerOptions {
  issuer?: string;
  clientId?: string;
  /** Claims merged over the defaults (sub = login name, email <name>@example.com, verified). */
  claims?: (login: string) => Record<string, unknown>;
  /** Members merged over the protected header {alg: RS256, kid, typ: JWT}. */
  header?: Record<string, unknown>;
  /** A signature that does not verify (random bytes of the right length). */
  forgeSignature?: boolean;
}

export interface LocalIssuer {
  issuer: string;
  clientId: string;
  kid: string;
  /** The JWK Set to pin (JSON text of {keys: [public key]}). */
  jwksFileText: string;
  login: (login: string, nonce: string) => Promise<{ idToken: string }>;
}

const b64u = (x: string | Buffer): string => Buffer.from(x).toString('base64url');

export function localIssuer(o: LocalIssuerOptions = {}): LocalIssuer {
  const issuer = o.issuer ?? 'https://issuer.test.invalid';
  const clientId = o.clientId ?? 'leash-local-client';
  const kid = `local-${randomBytes(4).toString('hex')}`;
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
  return {
    issuer,
    clientId,
    kid,
    jwksFileText: JSON.stringify({ keys: [jwk] }),
    login: async (login, nonce) => {
      const now = Math.floor(Date.now() / 1000);
      const header = b64u(JSON.stringify({ alg: 'RS256', kid, typ: 'JWT', ...o.header }));
      const claims = { iss: issuer, sub: login, aud: clientId, iat: now, exp: now + 3600, nonce, email: `${login}@example.com`, email_verified: true, ...o.claims?.(login) };
      const payload = b64u(JSON.stringify(claims));
      const signature = o.forgeSignature ? randomBytes(256) : sign('sha256', Buffer.from(`${header}.${payload}`), privateKey);
      return { idToken: `${header}.${payload}.${b64u(signature)}` };
    },
  };
}
