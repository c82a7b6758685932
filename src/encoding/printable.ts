/** What marks text that was cut short, wherever leash cuts attacker text (here and in the audit writer). */
export const TRUNCATED = '…[truncated]';

/**
 * Attacker-controlled text (certificate fields, token claims, commands) as it
 * may appear in anything a person reads — a terminal, an audit line, `leash
 * watch`: every byte outside printable ASCII is written as \xNN, so escape
 * sequences, bidi controls and newlines cannot spoof a reader's terminal or
 * split a line, and `\` as `\\`, so the escaping is unambiguous. The result
 * is cut at `maxChars` and marked.
 */
export function printable(raw: string, maxChars = 4096): string {
  let out = '';
  for (const byte of Buffer.from(raw, 'utf8')) {
    if (byte === 0x5c) out += '\\\\';
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += `\\x${byte.toString(16).padStart(2, '0')}`;
    if (out.length >= maxChars) return out.slice(0, maxChars) + TRUNCATED;
  }
  return out;
}
