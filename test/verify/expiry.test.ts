import t from 'tap';
import { CLOCK_SKEW_SECONDS, NEVER_SESSION_CAP_SECONDS, effectiveExpiry } from '../../src/verify/expiry.js';

const NOW = 1_760_000_000; // 2025-10-09T08:53:20Z

t.test('effectiveExpiry per policy', async (t) => {
  const iat = NOW - 600;
  t.equal(effectiveExpiry({ policy: '12h', now: NOW, iat }), iat + 43200);
  t.equal(effectiveExpiry({ policy: '24h', now: NOW, iat, exp: NOW - 1 }), iat + 86400, 'max-age policies ignore exp');
  t.equal(effectiveExpiry({ policy: '48h', now: NOW, iat }), iat + 172800);
  t.equal(effectiveExpiry({ policy: '1week', now: NOW, iat }), iat + 604800);
  t.equal(effectiveExpiry({ policy: 'oidc', now: NOW, iat, exp: NOW + 100 }), NOW + 100);
  t.equal(effectiveExpiry({ policy: 'oidc_refreshed', now: NOW, iat, exp: NOW + 100 }), NOW + 100);
  t.equal(effectiveExpiry({ policy: 'oidc_refreshed', now: NOW, iat, exp: NOW - 100, refreshedExp: NOW + 900 }), NOW + 900);
  t.equal(effectiveExpiry({ policy: 'never', now: NOW, iat: 1 }), NOW + NEVER_SESSION_CAP_SECONDS);
  t.equal(effectiveExpiry({ policy: 'never', now: NOW, iat: 1, maxSession: 7200 }), NOW + 7200);
});

t.test('max_session caps from now', async (t) => {
  const iat = NOW - 600;
  t.equal(effectiveExpiry({ policy: '24h', now: NOW, iat, maxSession: 3600 }), NOW + 3600);
  t.equal(effectiveExpiry({ policy: '12h', now: NOW, iat, maxSession: 7 * 86400 }), iat + 43200, 'policy is earlier');
  t.equal(effectiveExpiry({ policy: 'oidc', now: NOW, iat, exp: NOW + 60, maxSession: 3600 }), NOW + 60);
});

t.test('expired, future and malformed times', async (t) => {
  t.throws(() => effectiveExpiry({ policy: '12h', now: NOW, iat: NOW - 43200 }), { code: 'TOKEN_EXPIRED' }, 'boundary second is expired');
  t.equal(effectiveExpiry({ policy: '12h', now: NOW, iat: NOW - 43199 }), NOW + 1);
  t.throws(() => effectiveExpiry({ policy: 'oidc', now: NOW, iat: NOW - 10, exp: NOW }), { code: 'TOKEN_EXPIRED' });
  t.throws(() => effectiveExpiry({ policy: 'oidc_refreshed', now: NOW, iat: NOW - 10, exp: NOW - 5 }), { code: 'TOKEN_EXPIRED' }, 'no refreshed token');
  t.throws(() => effectiveExpiry({ policy: 'oidc_refreshed', now: NOW, iat: NOW - 10, exp: NOW - 5, refreshedExp: NOW - 1 }), { code: 'TOKEN_EXPIRED' });
  t.equal(effectiveExpiry({ policy: '24h', now: NOW, iat: NOW + CLOCK_SKEW_SECONDS }), NOW + CLOCK_SKEW_SECONDS + 86400, 'skew tolerated');
  t.throws(() => effectiveExpiry({ policy: '24h', now: NOW, iat: NOW + CLOCK_SKEW_SECONDS + 1 }), { code: 'TOKEN_ISSUED_IN_FUTURE' });
  t.throws(() => effectiveExpiry({ policy: 'oidc', now: NOW, iat: NOW }), { code: 'TOKEN_TIME_INVALID' }, 'oidc needs exp');
  for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 60]) {
    t.throws(() => effectiveExpiry({ policy: '24h', now: NOW, iat: bad }), { code: 'TOKEN_TIME_INVALID' }, `iat ${bad}`);
    t.throws(() => effectiveExpiry({ policy: '24h', now: NOW, iat: NOW, maxSession: bad }), { code: 'TOKEN_TIME_INVALID' }, `max_session ${bad}`);
  }
  // @ts-expect-error an unknown policy string fails closed
  t.throws(() => effectiveExpiry({ policy: 'forever', now: NOW, iat: NOW }), { code: 'TOKEN_TIME_INVALID' });
});

t.test('nbf: refused while in the future beyond the skew, as iat is (RFC 7519 §4.1.5)', async (t) => {
  const iat = NOW - 600;
  t.equal(effectiveExpiry({ policy: '24h', now: NOW, iat, nbf: NOW - 1 }), iat + 86400, 'nbf passed');
  t.equal(effectiveExpiry({ policy: '24h', now: NOW, iat, nbf: NOW + CLOCK_SKEW_SECONDS }), iat + 86400, 'within the skew');
  t.throws(() => effectiveExpiry({ policy: '24h', now: NOW, iat, nbf: NOW + CLOCK_SKEW_SECONDS + 1 }), { code: 'TOKEN_NOT_YET_VALID' });
  t.throws(() => effectiveExpiry({ policy: 'oidc', now: NOW, iat, exp: NOW + 7200, nbf: NOW + 3600 }), { code: 'TOKEN_NOT_YET_VALID' }, 'whatever the policy');
  t.throws(() => effectiveExpiry({ policy: 'oidc_refreshed', now: NOW, iat, exp: NOW - 5, refreshedExp: NOW + 900, refreshedNbf: NOW + 600 }), { code: 'TOKEN_NOT_YET_VALID' }, 'the refreshed token too');
  for (const bad of [0, -1, 1.5, 2 ** 60]) t.throws(() => effectiveExpiry({ policy: '24h', now: NOW, iat, nbf: bad }), { code: 'TOKEN_TIME_INVALID' }, `nbf ${bad}`);
});
