import { parse } from 'shell-quote';
import type { ReasonCode } from '../errors.js';

const MAX_COMMAND_BYTES = 4096;
const MAX_TOKENS = 256;

/**
 * Characters a shell gives meaning to. None of them is needed to name a
 * diagnostic command, and refusing them before parsing means no parser
 * differential (lshell's 17 years of bypasses) can matter: the text that is
 * checked has no syntax left but words and quotes.
 */
const METACHARS = new Set(';&|$`(){}<>\\#~*?[]!');

export type TokenizeResult = { ok: true; argv: string[] } | { ok: false; code: ReasonCode; detail: string };

/** SSH_ORIGINAL_COMMAND → argv, or the reason it is refused. Pure. */
export function tokenize(command: string): TokenizeResult {
  const bytes = Buffer.byteLength(command, 'utf8');
  if (bytes > MAX_COMMAND_BYTES) return { ok: false, code: 'COMMAND_TOO_LONG', detail: `${bytes} bytes (limit ${MAX_COMMAND_BYTES})` };
  let quote: string | null = null;
  for (let i = 0; i < command.length; i++) {
    const c = command.charCodeAt(i);
    // Printable ASCII and space only: no newline, CR, tab, NUL, other C0, DEL, or anything non-ASCII.
    if (c < 0x20 || c > 0x7e) return { ok: false, code: 'BYTE_FORBIDDEN', detail: `byte 0x${c.toString(16).padStart(2, '0')} at offset ${i}` };
    const ch = command[i] as string;
    if (METACHARS.has(ch)) return { ok: false, code: 'METACHAR_FORBIDDEN', detail: `"${ch}" at offset ${i}` };
    if (quote === null && (ch === "'" || ch === '"')) quote = ch;
    else if (quote === ch) quote = null;
  }
  // shell-quote silently closes an unterminated quote; a shell would not run it at all.
  if (quote !== null) return { ok: false, code: 'QUOTE_UNBALANCED', detail: `unterminated ${quote}` };

  // The env callback makes any variable surface as an object (and so be refused)
  // instead of being expanded to ""; `$` is already refused above, this is the second lock.
  const tokens = parse(command, (name) => ({ var: name }) as unknown as string);
  const argv: string[] = [];
  for (const t of tokens) {
    if (typeof t !== 'string') return { ok: false, code: 'TOKEN_NOT_STRING', detail: `shell syntax ${JSON.stringify(t)}` };
    argv.push(t);
  }
  if (argv.length === 0) return { ok: false, code: 'COMMAND_EMPTY', detail: 'no command given' };
  if (argv.length > MAX_TOKENS) return { ok: false, code: 'TOO_MANY_ARGUMENTS', detail: `${argv.length} words (limit ${MAX_TOKENS})` };
  return { ok: true, argv };
}
