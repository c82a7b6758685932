import { createHash } from 'node:crypto';
import { LeashError } from '../../errors.js';
import type { JsonObject, JsonValue } from './jws.js';

/**
 * The OpenPubkey nonce commitment ("cicHash"):
 *   b64u( SHA3-256( canonical JSON of the parsed CIC protected header ) )
 * where the JSON is what Go's encoding/json.Marshal writes for a
 * map[string]any: keys sorted by byte order at every level, no whitespace,
 * Go's string escaping and Go's float64 number format. The hash is over this
 * re-serialisation, not over the header bytes as received.
 *
 * Codes: COMMITMENT_INPUT_INVALID (non-finite number, nesting too deep).
 */

/** Far deeper than any CIC header; bounds recursion on hostile input. */
const MAX_DEPTH = 32;

export function cicCommitment(header: JsonObject): string {
  return createHash('sha3-256').update(canonicalJson(header), 'utf8').digest('base64url');
}

export function canonicalJson(value: JsonValue): string {
  return encode(value, 0);
}

function encode(value: JsonValue, depth: number): string {
  if (depth > MAX_DEPTH) throw new LeashError('COMMITMENT_INPUT_INVALID', 'CIC header is nested too deeply');
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return goString(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return goNumber(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => encode(v, depth + 1)).join(',')}]`;
  const keys = Object.keys(value).sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
  return `{${keys.map((k) => `${goString(k)}:${encode(value[k]!, depth + 1)}`).join(',')}}`;
}

/**
 * Go encodes a float64 with the shortest round-trip digits, in exponent form
 * iff |v| < 1e-6 or |v| >= 1e21, exponent without leading zeros. JavaScript's
 * Number-to-string uses exactly the same rule and digits; the one difference
 * is negative zero, which Go writes as "-0".
 */
function goNumber(n: number): string {
  if (!Number.isFinite(n)) throw new LeashError('COMMITMENT_INPUT_INVALID', 'CIC header holds a number out of range');
  if (Object.is(n, -0)) return '-0';
  return String(n);
}

/**
 * Go's encoding/json string escaping with HTML escaping on (the default):
 * `"` and `\` backslash-escaped; \b \f \n \r \t short forms; other control
 * characters as \u00XX (lower-case hex); < > & as \u003c \u003e \u0026;
 * U+2028 / U+2029 escaped; everything else written as UTF-8. A lone
 * surrogate (only reachable via a \uD8xx escape) is what Go's decoder turns
 * into U+FFFD, so it is written as that character.
 */
function goString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26 || c === 0x2028 || c === 0x2029) {
      out += `\\u${c.toString(16).padStart(4, '0')}`;
    } else if (c >= 0xd800 && c <= 0xdfff) out += '\ufffd';
    else out += ch;
  }
  return `${out}"`;
}
