import { createHash } from 'node:crypto';
import t from 'tap';
import { canonicalJson, cicCommitment } from '../../../src/verify/token/commitment.js';
import type { JsonObject } from '../../../src/verify/token/jws.js';

// The four vectors of design/opkssh-format.md §2.5 (inputs from openpubkey docs/pktoken.md).
// Keys are deliberately given out of order: the commitment must sort them.
const cic = (rz: string, x: string, y: string, extra?: string): JsonObject => ({
  upk: { y, x, kty: 'EC', crv: 'P-256', alg: 'ES256' },
  typ: 'CIC',
  rz,
  ...(extra === undefined ? {} : { extra }),
  alg: 'ES256',
});

const google = cic(
  'b9522b5c4cff90687ec6787236184659e077a619b82827227114108440fec26a',
  'cvqyUFNs1OUdRcDSmzJfS7ynuTHAjlDqoeinCZy_r1Q',
  'Whl5jJUIz7ujFvlB5Hzhaz6DIlpyWQmIIA3J7VMj53o',
);

t.test('Google nonce vector', async (t) => {
  const json = canonicalJson(google);
  t.equal(json, '{"alg":"ES256","rz":"b9522b5c4cff90687ec6787236184659e077a619b82827227114108440fec26a","typ":"CIC","upk":{"alg":"ES256","crv":"P-256","kty":"EC","x":"cvqyUFNs1OUdRcDSmzJfS7ynuTHAjlDqoeinCZy_r1Q","y":"Whl5jJUIz7ujFvlB5Hzhaz6DIlpyWQmIIA3J7VMj53o"}}');
  t.equal(Buffer.byteLength(json), 246);
  t.equal(createHash('sha3-256').update(json).digest('hex'), '7ec4cb94e214aad247a26301dade87ca6a00a898bec0e44816d837cbc73ae556');
  t.equal(cicCommitment(google), 'fsTLlOIUqtJHomMB2t6HymoAqJi-wORIFtg3y8c65VY');
});

t.test('Google GQ nonce vector (extra claim sorts between alg and rz)', async (t) => {
  const h = cic(
    '656f65b99da5d649ea315a52343add3642f14c7ff8d4ebce8ee33a2f4a4b41e0',
    'PnzpEjQZ7bsCl2ZExs7dbFQlVzggv-_t50QuzZZWcoc',
    '1Z-xC6JZL2eAO57ovFJCstnBcMsOiqsGF1NJLyqq1F4',
    'yes',
  );
  t.match(canonicalJson(h), /^\{"alg":"ES256","extra":"yes","rz":/);
  t.equal(cicCommitment(h), '8IpXCsOcYBGcCJmXJMFOpBjz4-kPXwDhYi3hm_DFM_U');
});

t.test('GitHub Actions aud vector', async (t) => {
  const h = cic(
    'bca0353ea63adbfce72032ab7d8fb7940def3488ca0765546a89d46760113c70',
    '5BP8B8bXgf0OFxHLJS5LSFlPOsfdIvf2tJU_3mwTGNE',
    '7KzWJi88qdZOI_j-kUG2aPjkzEA7IGMXFp1f-jdt28I',
  );
  t.equal(cicCommitment(h), 'LEQE668yEBBpVxKfi4SvIkl8wFxn55TdzNF79aEomIA');
});

t.test('GitLab-CI GQ header cic vector', async (t) => {
  const h = cic(
    '600e69b29d89651591836d2598f6813a9a74b9e4124ddb81bee1561299c3590e',
    'c63goURlnP5vbJbt4chtOHTHwg6Yvy4h6_aw3Zc2A5o',
    'pfsH8--s5c8u4DxXto0sN4g5n6SjlXn1WjzaKXrr9b4',
  );
  t.equal(cicCommitment(h), 'HVIF0m3zCwEsAZSFjTiyQFU982qF2UZXSpCE__F6IbE');
});

t.test('negative checks from the notes: unsorted order and SHA-256 give other values', async (t) => {
  const unsorted = '{"alg":"ES256","typ":"CIC","rz":"b9522b5c4cff90687ec6787236184659e077a619b82827227114108440fec26a","upk":{"alg":"ES256","crv":"P-256","kty":"EC","x":"cvqyUFNs1OUdRcDSmzJfS7ynuTHAjlDqoeinCZy_r1Q","y":"Whl5jJUIz7ujFvlB5Hzhaz6DIlpyWQmIIA3J7VMj53o"}}';
  t.equal(createHash('sha3-256').update(unsorted).digest('base64url'), 'ngH87Yyb80iRgfiIJbR8CFUzyZq28jRlMlJxvL4RO1g');
  t.equal(createHash('sha256').update(canonicalJson(google)).digest('base64url'), 'Gx3hzBfLk_AOAFN4rHKt88vi0-5tvmifAnoQn6eGHoc');
  t.not(cicCommitment(google), 'ngH87Yyb80iRgfiIJbR8CFUzyZq28jRlMlJxvL4RO1g');
});

t.test('Go encoding/json string escaping', async (t) => {
  t.equal(canonicalJson('a"b\\c'), '"a\\"b\\\\c"');
  t.equal(canonicalJson('\b\f\n\r\t'), '"\\b\\f\\n\\r\\t"');
  t.equal(canonicalJson('\u0000\u0001\u001f\u007f'), '"\\u0000\\u0001\\u001f\u007f"');
  t.equal(canonicalJson('<a href="x">&</a>'), '"\\u003ca href=\\"x\\"\\u003e\\u0026\\u003c/a\\u003e"');
  t.equal(canonicalJson('\u2028\u2029'), '"\\u2028\\u2029"');
  t.equal(canonicalJson('é€😀/'), '"é€😀/"', 'non-ASCII and / are written as is');
  t.equal(canonicalJson(JSON.parse('"\\ud800x"') as string), '"\ufffdx"', 'lone surrogate becomes U+FFFD');
});

t.test('Go float64 number format', async (t) => {
  const cases: Array<[string, string]> = [
    ['0', '0'], ['-0', '-0'], ['1', '1'], ['1.5', '1.5'], ['100', '100'], ['1e20', '100000000000000000000'],
    ['1e21', '1e+21'], ['1.5e300', '1.5e+300'], ['0.000001', '0.000001'], ['0.0000001', '1e-7'], ['1722113589', '1722113589'],
    ['12345678901234567890', '12345678901234567000'],
  ];
  for (const [input, want] of cases) t.equal(canonicalJson(JSON.parse(input) as number), want, input);
  t.throws(() => canonicalJson(JSON.parse('1e400') as number), { code: 'COMMITMENT_INPUT_INVALID' });
});

t.test('keys sort by UTF-8 bytes at every level, arrays keep order', async (t) => {
  // U+FF5E sorts before U+1F600 in UTF-8, after it in UTF-16 code units.
  t.equal(canonicalJson({ '😀': 1, '～': 2, b: [{ z: 1, a: null }, true], A: false }), '{"A":false,"b":[{"a":null,"z":1},true],"～":2,"😀":1}');
});

t.test('a "__proto__" key is an ordinary key, as in Go', async (t) => {
  // JSON.parse makes it an own property; it must be sorted and written like any other.
  t.equal(canonicalJson(JSON.parse('{"b":2,"__proto__":{"z":1,"a":0}}') as JsonObject), '{"__proto__":{"a":0,"z":1},"b":2}');
});

t.test('nesting depth is bounded', async (t) => {
  let deep: JsonObject = {};
  for (let i = 0; i < 40; i++) deep = { a: deep };
  t.throws(() => canonicalJson(deep), { code: 'COMMITMENT_INPUT_INVALID' });
});
