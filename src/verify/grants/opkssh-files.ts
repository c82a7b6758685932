import { join } from 'node:path';
import { EXPIRATION_POLICIES, ISSUER_URL, PRINCIPAL_NAME, type ExpirationPolicy, type GrantConfig, type LeashConfig, type ProviderConfig } from '../../config/types.js';
import { readConfigFile } from '../../trust/config-file.js';
import { asLeashError } from '../../errors.js';
import { parseIdentityPattern } from './identity.js';

/**
 * Migration from opkssh: `<config-dir>/providers` and `<config-dir>/auth_id`
 * (copies of /etc/opk/providers and /etc/opk/auth_id) are read next to
 * leash.yaml. Their rows become providers and grants after leash.yaml's own.
 * A row leash cannot take over exactly is reported (file:line: reason) and
 * skipped; it never affects the other rows.
 *
 * Line syntax, as opkssh reads these files: a UTF-8 BOM at the start is
 * dropped; the file is split on "\n"; everything from the first "#" on a line
 * is a comment (even inside quotes); the rest is trimmed and blank lines are
 * skipped; columns are shell words, split by the rules of the library
 * opkssh uses (github.com/kballard/go-shellquote, Split), which is also what
 * writes them (`opkssh add` quotes each column with its Join, e.g.
 * `oidc:\"https://acme.com/groups\":admins`): see splitOpksshWords. Rows
 * with a control character, or with one of the two characters Go and
 * JavaScript trim differently (U+0085, U+FEFF), are reported rather than
 * guessed at.
 *
 * No normalisation of issuers: opkssh compares them byte for byte everywhere
 * (a trailing "/" or http-vs-https is a different issuer), and so does leash.
 */
export interface OpksshMigration {
  providers: ProviderConfig[];
  grants: GrantConfig[];
  /** One line per skipped row or unreadable file: "file:line: reason". */
  problems: string[];
}

export interface OpksshFileText {
  file: string;
  text: string;
}


/**
 * Splits one comment-free, trimmed line into words as go-shellquote's Split
 * does; a string result is the reason it cannot be (Split's errors, on which
 * opkssh skips the row too). The rules:
 *   - words are separated by runs of space or tab (newline cannot occur);
 *   - outside quotes, a backslash takes the next character literally, and a
 *     backslash at the end of the line is an error;
 *   - '...' is literal up to the next single quote;
 *   - inside "...", a backslash before $ ` " or \ stands for that character;
 *     before anything else it is kept, with the character;
 *   - quoted and unquoted parts next to each other form one word, and '' or
 *     "" alone is an empty word.
 */
export function splitOpksshWords(line: string): string[] | string {
  if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(line)) return 'control character in line';
  if (/[\u0085\ufeff]/.test(line)) return 'U+0085 or U+FEFF in line (opkssh and leash would trim it differently)';
  const words: string[] = [];
  let word: string | null = null; // null: between words
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (c === ' ' || c === '\t') {
      if (word !== null) words.push(word);
      word = null;
    } else if (c === '\\') {
      if (i + 1 >= line.length) return 'unterminated backslash escape at the end of the line';
      word = (word ?? '') + line[++i];
    } else if (c === "'") {
      const close = line.indexOf("'", i + 1);
      if (close < 0) return 'unterminated single quote';
      word = (word ?? '') + line.slice(i + 1, close);
      i = close;
    } else if (c === '"') {
      let text = '';
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        const d = line[j] as string;
        if (d === '\\' && j + 1 < line.length && '$`"\\'.includes(line[j + 1] as string)) text += line[++j];
        else if (d === '\\' && j + 1 < line.length) text += d + line[++j];
        else text += d;
      }
      if (j >= line.length) return 'unterminated double quote';
      word = (word ?? '') + text;
      i = j;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== null) words.push(word);
  return words;
}

/** Problems found while reading one file, reported in line order. */
class Problems {
  private readonly items: Array<[number, string]> = [];
  constructor(private readonly file: string) {}
  add(line: number, reason: string): void {
    this.items.push([line, `${this.file}:${line}: ${reason}`]);
  }
  list(): string[] {
    return this.items.sort((a, b) => a[0] - b[0]).map(([, text]) => text);
  }
}

/** Rows of a table file with exactly three columns, as [line number, columns]; others go to problems. */
function rows(input: OpksshFileText, problems: Problems): Array<[number, [string, string, string]]> {
  const text = input.text.startsWith('\uFEFF') ? input.text.slice(1) : input.text;
  const out: Array<[number, [string, string, string]]> = [];
  text.split('\n').forEach((raw, i) => {
    const hash = raw.indexOf('#');
    const line = (hash < 0 ? raw : raw.slice(0, hash)).trim();
    if (line === '') return;
    const words = splitOpksshWords(line);
    if (typeof words === 'string') problems.add(i + 1, words);
    else if (words.length !== 3) problems.add(i + 1, `expected 3 columns, found ${words.length}`);
    else out.push([i + 1, words as [string, string, string]]);
  });
  return out;
}

/**
 * `providers`: `<issuer> <client_id> <expiration>`. Unlike opkssh, a bad row
 * does not stop every login: it is skipped. An issuer on more than one row is
 * ambiguous (which client_id, which expiry?), so all its rows are skipped; an
 * issuer leash.yaml already defines keeps leash.yaml's definition.
 */
function parseOpksshProviders(input: OpksshFileText, existing: readonly ProviderConfig[]): { providers: ProviderConfig[]; problems: string[] } {
  const problems = new Problems(input.file);
  const candidates: Array<[number, ProviderConfig]> = [];
  for (const [line, [issuer, clientId, expiration]] of rows(input, problems)) {
    if (!ISSUER_URL.test(issuer)) problems.add(line, `issuer ${JSON.stringify(issuer)} is not an http(s) URL`);
    else if (clientId === '') problems.add(line, 'empty client_id');
    else if (!(EXPIRATION_POLICIES as readonly string[]).includes(expiration)) {
      const hint = expiration === 'oidc-refreshed' ? ' (opkssh also only accepts oidc_refreshed)' : '';
      problems.add(line, `expiration ${JSON.stringify(expiration)} is not one of ${EXPIRATION_POLICIES.join(', ')}${hint}`);
    } else {
      const prior = existing.find((p) => p.issuer === issuer);
      if (prior) problems.add(line, `issuer ${issuer} is already defined at ${prior.source}; this row is ignored`);
      else candidates.push([line, { issuer, clientId, expiration: expiration as ExpirationPolicy, source: `${input.file}:${line}` }]);
    }
  }
  const providers: ProviderConfig[] = [];
  for (const [line, p] of candidates) {
    const same = candidates.filter(([, q]) => q.issuer === p.issuer);
    if (same.length === 1) providers.push(p);
    else problems.add(line, `issuer ${p.issuer} is on ${same.length} rows (${same.map(([l]) => l).join(', ')}); none of them is used`);
  }
  return { providers, problems: problems.list() };
}

/**
 * `auth_id`: `<principal> <identity> <issuer>`. Each row becomes a grant of
 * leash.yaml's default_profile to that one local user; without a
 * default_profile no row is taken over. Skipped besides: principals that are
 * not plain lowercase user names, identities leash refuses (repo: globs,
 * match-anything forms, oidc-match-end suffixes not starting with "@" or "."),
 * `oidc:` values containing ":" or '"' (opkssh uses the last ":" part as the
 * value, leash the whole rest: the row would change meaning), and issuers no
 * provider defines (such a row can never match; usually a trailing-"/" typo).
 * Plain identities become explicit (explicitIdentity): an address matches
 * only a verified email, anything else only the sub.
 */
function parseOpksshAuthId(
  input: OpksshFileText,
  defaultProfile: string | undefined,
  issuers: ReadonlySet<string>,
): { grants: GrantConfig[]; problems: string[] } {
  const problems = new Problems(input.file);
  const grants: GrantConfig[] = [];
  for (const [line, [principal, identity, issuer]] of rows(input, problems)) {
    const why = authIdProblem(principal, identity, issuer, issuers);
    if (why !== null) problems.add(line, why);
    else if (defaultProfile === undefined) problems.add(line, 'not migrated: leash.yaml has no default_profile to grant');
    else grants.push({ identity: explicitIdentity(identity), issuer, principals: [principal], profile: defaultProfile, source: `${input.file}:${line}` });
  }
  return { grants, problems: problems.list() };
}

/**
 * An opkssh identity column in leash's explicit form. opkssh reads a plain
 * column X (not oidc:, oidc-match-end: or repo:) as "email equals X, ignoring
 * case, OR sub equals X" (policy/enforcer.go, validateClaim). leash never
 * lets one grant read both: a column with "@" becomes `email:X` (a verified
 * email; the "sub equals X" half is the impersonation leash closes), any
 * other becomes `sub:X` (no email equals a text without "@"). A column
 * that looks like one of leash's prefixes (`email:…`, `sub:…`), which
 * opkssh reads as plain text, so keeps opkssh's meaning (`sub:sub:x`).
 */
export function explicitIdentity(column: string): string {
  if (column.startsWith('oidc:') || column.startsWith('oidc-match-end:')) return column;
  return column.includes('@') ? `email:${column}` : `sub:${column}`;
}

function authIdProblem(principal: string, identity: string, issuer: string, issuers: ReadonlySet<string>): string | null {
  if (!PRINCIPAL_NAME.test(principal)) return `principal ${JSON.stringify(principal)} is not a valid local user name (${PRINCIPAL_NAME.source})`;
  let pattern;
  try {
    // opkssh refuses the match-anything forms (any case) and reads repo: (exactly) as a glob, which leash does not support.
    if (/^(oidc:|oidc-match-end:email:|repo:)$/i.test(identity)) return `identity ${JSON.stringify(identity)} would match any value (opkssh refuses it too)`;
    if (identity.startsWith('repo:')) return `identity ${JSON.stringify(identity)}: repo: glob patterns are not supported; write a sub:<exact sub> grant in leash.yaml`;
    pattern = parseIdentityPattern(explicitIdentity(identity));
  } catch (err) {
    return asLeashError(err).message;
  }
  if (pattern.kind === 'claim' && /[:"]/.test(pattern.value)) {
    return `identity ${JSON.stringify(identity)}: opkssh and leash read a value containing ":" or '"' differently; write this grant in leash.yaml`;
  }
  if (!issuers.has(issuer)) return `issuer ${JSON.stringify(issuer)} is not a configured provider (issuers must match byte for byte)`;
  return null;
}

/** Pure: both files' texts (either may be absent) against the loaded leash.yaml. */
export function migrateOpksshFiles(config: LeashConfig, files: { providers?: OpksshFileText | undefined; authId?: OpksshFileText | undefined }): OpksshMigration {
  const p = files.providers ? parseOpksshProviders(files.providers, config.providers) : { providers: [], problems: [] };
  const issuers = new Set([...config.providers, ...p.providers].map((x) => x.issuer));
  const a = files.authId ? parseOpksshAuthId(files.authId, config.defaultProfile, issuers) : { grants: [], problems: [] };
  return { providers: p.providers, grants: a.grants, problems: [...p.problems, ...a.problems] };
}

/**
 * Reads `<configDir>/providers` and `<configDir>/auth_id` through
 * readConfigFile: root-owned, not group/world-writable, no symlinks, the same
 * up every parent directory. (opkssh instead demands mode exactly 0640 and
 * does not check the owner; its 0640 root:opksshuser files pass here.) A
 * missing file is not a problem; an untrusted or unreadable one is reported
 * and none of its rows is used.
 */
export function loadOpksshFiles(configDir: string, config: LeashConfig): OpksshMigration {
  const problems: string[] = [];
  const read = (name: string): OpksshFileText | undefined => {
    const file = join(configDir, name);
    try {
      return { file, text: readConfigFile(file) };
    } catch (err) {
      const e = asLeashError(err, 'CONFIG_UNREADABLE');
      if (e.code === 'CONFIG_MISSING' && e.message.startsWith(`${file}:`)) return undefined;
      problems.push(`${file}: ${e.code}: ${e.message}; not used`);
      return undefined;
    }
  };
  const result = migrateOpksshFiles(config, { providers: read('providers'), authId: read('auth_id') });
  return { ...result, problems: [...problems, ...result.problems] };
}
