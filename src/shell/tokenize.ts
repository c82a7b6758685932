import type { ReasonCode } from '../errors.js';
import { MAX_PIPELINE_STAGES } from '../policy/types.js';

const MAX_COMMAND_BYTES = 4096;
const MAX_TOKENS = 256;

/**
 * Characters a shell gives meaning to. Unquoted, each is refused (except `|`
 * between the commands of a pipeline): no shell ever reads the command line,
 * and refusing them means no parser differential (lshell's 17 years of
 * bypasses) can matter. Inside quotes they are plain characters, which only a
 * regular-expression value may contain (decide.ts checks where each lands).
 */
export const METACHARS = new Set(';&|$`(){}<>\\#~*?[]!');

/** Inside double quotes a shell would still expand or escape these; leash refuses rather than differ. */
const DOUBLE_QUOTE_SPECIAL = new Set('$`\\');

/** What a shell would make of each refused character, for the message. */
const CONSTRUCT: Record<string, string> = {
  ';': 'a command list (;)',
  '&': 'a background job or && list (&)',
  '|': 'a pipe',
  $: 'a variable or command substitution ($)',
  '`': 'a command substitution (`)',
  '(': 'a subshell or substitution (()',
  ')': 'a subshell or substitution ())',
  '{': 'brace expansion or a group ({)',
  '}': 'brace expansion or a group (})',
  '<': 'a redirection (<)',
  '>': 'a redirection (>)',
  '\\': 'an escape (\\)',
  '#': 'a comment (#)',
  '~': 'home-directory expansion (~)',
  '*': 'a glob (*)',
  '?': 'a glob (?)',
  '[': 'a glob ([)',
  ']': 'a glob (])',
  '!': 'history expansion or negation (!)',
};

/** One word of the command line. */
export interface Word {
  text: string;
  /** Index in `text` of the first metacharacter (all of them come from inside quotes), or -1. */
  meta: number;
}

export type TokenizeResult = { ok: true; stages: Word[][] } | { ok: false; code: ReasonCode; detail: string; char?: string };

const deny = (code: ReasonCode, detail: string, char?: string): TokenizeResult => ({ ok: false, code, detail, ...(char === undefined ? {} : { char }) });

/**
 * SSH_ORIGINAL_COMMAND → the words of each pipeline stage, or the reason it
 * is refused. The grammar is a strict subset of the POSIX shell's, so a word
 * here is the word a shell would have passed: blanks separate words; '…'
 * quotes everything; "…" quotes everything but $ ` \ (refused there); an
 * unquoted | separates stages; nothing else is special, and the refused
 * characters say which shell feature they would have needed. Pure.
 */
export function tokenize(command: string): TokenizeResult {
  const bytes = Buffer.byteLength(command, 'utf8');
  if (bytes > MAX_COMMAND_BYTES) return deny('COMMAND_TOO_LONG', `${bytes} bytes (limit ${MAX_COMMAND_BYTES})`);

  const stages: Word[][] = [[]];
  let word: Word | null = null;
  let quote: "'" | '"' | null = null;
  let count = 0;
  const endWord = (): void => {
    if (word !== null) {
      stages[stages.length - 1]!.push(word);
      count++;
    }
    word = null;
  };
  for (let i = 0; i < command.length; i++) {
    const c = command.charCodeAt(i);
    // Printable ASCII and space only, quoted or not: no newline, CR, tab, NUL, other C0, DEL, or anything non-ASCII.
    if (c < 0x20 || c > 0x7e) return deny('BYTE_FORBIDDEN', `byte 0x${c.toString(16).padStart(2, '0')} at offset ${i}`);
    const ch = command[i] as string;
    if (quote !== null) {
      if (ch === quote) {
        quote = null;
        continue;
      }
      if (quote === '"' && DOUBLE_QUOTE_SPECIAL.has(ch)) {
        return deny('METACHAR_FORBIDDEN', `"${ch}" inside double quotes at offset ${i}: a shell would still expand it there; leash runs no shell (use single quotes for a literal ${ch})`, ch);
      }
      word ??= { text: '', meta: -1 };
      if (METACHARS.has(ch) && word.meta < 0) word.meta = word.text.length;
      word.text += ch;
      continue;
    }
    if (ch === ' ') {
      endWord();
      continue;
    }
    if (ch === "'" || ch === '"') {
      quote = ch;
      word ??= { text: '', meta: -1 }; // '' is a word (an empty one), as in a shell
      continue;
    }
    if (ch === '|') {
      const next = command[i + 1];
      if (next === '|') return deny('METACHAR_FORBIDDEN', `"||" at offset ${i}: running a command when another fails needs a shell, and leash runs none`);
      if (next === '&') return deny('METACHAR_FORBIDDEN', `"|&" at offset ${i}: piping standard error needs a shell, and leash runs none`);
      endWord();
      if (stages[stages.length - 1]!.length === 0) return deny('PIPELINE_STAGE_EMPTY', `"|" at offset ${i} has no command before it`);
      if (stages.length === MAX_PIPELINE_STAGES) return deny('PIPELINE_TOO_LONG', `more than ${MAX_PIPELINE_STAGES} commands in one pipeline`);
      stages.push([]);
      continue;
    }
    if (METACHARS.has(ch)) {
      const what = ch === '&' && command[i + 1] === '&' ? 'an && list' : CONSTRUCT[ch];
      return deny('METACHAR_FORBIDDEN', `"${ch}" at offset ${i}: ${what} needs a shell, and leash runs none`, ch);
    }
    word ??= { text: '', meta: -1 };
    word.text += ch;
  }
  // A shell would not run a line with an open quote at all.
  if (quote !== null) return deny('QUOTE_UNBALANCED', `unterminated ${quote}`);
  endWord();
  const last = stages[stages.length - 1]!;
  if (last.length === 0) {
    if (stages.length === 1) return deny('COMMAND_EMPTY', 'no command given');
    return deny('PIPELINE_STAGE_EMPTY', '"|" at the end has no command after it');
  }
  if (count > MAX_TOKENS) return deny('TOO_MANY_ARGUMENTS', `${count} words (limit ${MAX_TOKENS})`);
  return { ok: true, stages };
}
