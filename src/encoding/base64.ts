/**
 * Strict decoders. Node's own decoder silently skips characters outside the
 * alphabet and ignores non-zero trailing bits, so one value would have many
 * spellings; these accept exactly one spelling (re-encoding gives back the
 * same text) and return null for anything else. Callers cap the length first
 * and throw their own reason code.
 */

/** Standard alphabet, padded to a multiple of 4 (what sshd and ssh-keygen write). */
export function strictBase64(text: string): Buffer | null {
  if (text.length === 0 || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return null;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : null;
}

/** URL-safe alphabet, no padding (JWS segments, JWK members). */
export function strictBase64url(text: string): Buffer | null {
  if (text.length === 0 || text.length % 4 === 1 || !/^[A-Za-z0-9_-]+$/.test(text)) return null;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : null;
}
