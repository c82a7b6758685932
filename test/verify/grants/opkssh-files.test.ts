import t from 'tap';
import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseLeashConfig } from '../../../src/config/parse.js';
import { loadOpksshFiles, migrateOpksshFiles, splitOpksshWords } from '../../../src/verify/grants/opkssh-files.js';

const G = 'https://accounts.google.com';
const yaml = (extra: string) =>
  parseLeashConfig('/etc/leash/leash.yaml', `providers:\n  - { issuer: https://idp.example.com, client_id: c, expiration: 12h }\n${extra}`);
const config = yaml('default_profile: readonly\n');

const PROVIDERS = [
  '\uFEFF# opkssh providers',
  `${G} 206584157355-x.apps.googleusercontent.com 24h`,
  '',
  'https://token.actions.githubusercontent.com github oidc   # trailing comment',
  '  https://gitlab.com   8d8b7024 24h  ',
  'https://issuer.hello.coop app_x oidc-refreshed',
  'https://bad.example.com only-two',
  'not-a-url cid 24h',
  'https://idp.example.com c2 24h',
  'https://dup.example.com a 24h',
  'https://dup.example.com b 12h',
  "'https://unterminated cid 24h",
  'https://x.example.com\\ y cid 24h',
].join('\n');

const AUTH_ID = [
  '# principal identity issuer',
  `root alice@example.com ${G}`,
  `deploy "oidc:groups:ssh users" ${G}`,
  `deploy 'oidc:"https://acme.com/groups":admins' https://idp.example.com`,
  `web oidc-match-end:email:@example.com ${G}`,
  `ci oidc:sub:repo:org/x:ref:refs/heads/main https://token.actions.githubusercontent.com`,
  `ci repo:org/*:ref:refs/heads/main https://token.actions.githubusercontent.com`,
  `web oidc-match-end:email:example.com ${G}`,
  `Root bob@example.com ${G}`,
  `root carol@example.com ${G}/`,
  `root dave@example.com https://dup.example.com`,
  `root oidc: ${G}`,
  `root eve@example.com`,
  `root  frank@example.com\t${G}  # the good one`,
  `root 1234567890 ${G}`,
  `root email:x@y.z ${G}`,
  `root sub:x ${G}`,
  `deploy oidc:\\"https://acme.com/groups\\":admins https://idp.example.com`,
  `root REPO: ${G}`,
].join('\n');

t.test('splitOpksshWords', async (t) => {
  t.same(splitOpksshWords('a  b\tc'), ['a', 'b', 'c']);
  t.same(splitOpksshWords(`a 'b c' "d e"f ''`), ['a', 'b c', 'd ef', '']);
  t.same(splitOpksshWords(`x"y z"'w'`), ['xy zw']);
  t.match(splitOpksshWords(`a 'b`), /unterminated single/);
  t.match(splitOpksshWords('a "b'), /unterminated double/);
  t.match(splitOpksshWords('a\u000bb'), /control/);
  t.match(splitOpksshWords('a\u0085b'), /U\+0085/);
});

t.test('splitOpksshWords: backslash escapes exactly as go-shellquote Split reads them', async (t) => {
  // go-shellquote's own test vectors (unquote_test.go), without the ones about newlines (a row has none).
  const vectors: [string, string[] | RegExp][] = [
    ['hello', ['hello']],
    ['hello   goodbye', ['hello', 'goodbye']],
    ['glob* test?', ['glob*', 'test?']],
    ["don\\'t you know the dewey decimal system\\?", ["don't", 'you', 'know', 'the', 'dewey', 'decimal', 'system?']],
    ["'don'\\''t you know the dewey decimal system?'", ["don't you know the dewey decimal system?"]],
    ["one '' two", ['one', '', 'two']],
    ['"quoted\\d\\\\\\" text"', ['quoted\\d\\" text']],
    ['foo"bar"baz', ['foobarbaz']],
    ["don't worry", /unterminated single/],
    ["'test'\\''ing", /unterminated single/],
    ['"foo\'bar', /unterminated double/],
    ['foo\\', /unterminated backslash/],
    ['a "b\\', /unterminated double/],
    // Inside double quotes only $ ` " \ are escapable; a backslash before anything else stays.
    ['"\\$\\`\\"\\\\\\a"', ['$`"\\\\a']],
    ["'\\'", ['\\']],
    ['a\\ b', ['a b']],
  ];
  for (const [input, want] of vectors) {
    const got = splitOpksshWords(input);
    if (want instanceof RegExp) t.match(got, want, JSON.stringify(input));
    else t.same(got, want, JSON.stringify(input));
  }
});

/**
 * go-shellquote's Join (quote.go), written from its rules: what `opkssh add`
 * writes for each column. Special characters are backslash-escaped; a word
 * with a space, tab or newline is single-quoted instead ('\'' for a quote).
 */
function goJoin(words: string[]): string {
  const special = `\\'"\`\${[|&;<>()*?!`;
  return words
    .map((w) => {
      if (w === '') return "''";
      if (/[ \t\n]/.test(w)) return `'${w.replace(/'/g, `'\\''`)}'`;
      return [...w].map((c, i) => (special.includes(c) || (i === 0 && c === '~') ? `\\${c}` : c)).join('');
    })
    .join(' ');
}

t.test('rows as `opkssh add` writes them round-trip', async (t) => {
  const columns = [
    ['root', 'oidc:"https://acme.com/groups":admins', 'https://idp.example.com'],
    ['deploy', 'oidc:groups:ssh users', 'https://idp.example.com'],
    ['ci', "it's", 'https://idp.example.com?x=1&y=2'],
    ['web', '~alice', 'https://idp.example.com'],
    ['web', 'a$b`c\\d(e)', 'https://idp.example.com'],
    ['web', '', 'https://idp.example.com'],
  ];
  for (const row of columns) {
    const line = goJoin(row);
    t.same(splitOpksshWords(line), row, line);
  }
  t.equal(goJoin(columns[0]!), 'root oidc:\\"https://acme.com/groups\\":admins https://idp.example.com', 'the reported form');
});

t.test('providers rows', async (t) => {
  const m = migrateOpksshFiles(config, { providers: { file: '/etc/leash/providers', text: PROVIDERS } });
  t.same(
    m.providers.map((p) => [p.issuer, p.clientId, p.expiration, p.source]),
    [
      [G, '206584157355-x.apps.googleusercontent.com', '24h', '/etc/leash/providers:2'],
      ['https://token.actions.githubusercontent.com', 'github', 'oidc', '/etc/leash/providers:4'],
      ['https://gitlab.com', '8d8b7024', '24h', '/etc/leash/providers:5'],
    ],
  );
  const problems = m.problems.join('\n');
  t.match(problems, /providers:6: expiration "oidc-refreshed" .*only accepts oidc_refreshed/);
  t.match(problems, /providers:7: expected 3 columns, found 2/);
  t.match(problems, /providers:8: issuer "not-a-url" is not an http\(s\) URL/);
  t.match(problems, /providers:9: issuer https:\/\/idp.example.com is already defined at \/etc\/leash\/leash.yaml:2/);
  t.match(problems, /providers:10: issuer https:\/\/dup.example.com is on 2 rows/);
  t.match(problems, /providers:11: issuer https:\/\/dup.example.com is on 2 rows/);
  t.match(problems, /providers:12: unterminated single quote/);
  t.match(problems, /providers:13: issuer "https:\/\/x.example.com y" is not an http\(s\) URL/, 'an escaped space joins the words, as in opkssh');
  t.equal(m.problems.length, 8);
});

t.test('auth_id rows', async (t) => {
  const m = migrateOpksshFiles(config, {
    providers: { file: '/etc/leash/providers', text: PROVIDERS },
    authId: { file: '/etc/leash/auth_id', text: AUTH_ID },
  });
  t.same(
    m.grants.map((g) => [g.principals, g.identity, g.issuer, g.profile, g.source]),
    [
      [['root'], 'email:alice@example.com', G, 'readonly', '/etc/leash/auth_id:2'],
      [['deploy'], 'oidc:groups:ssh users', G, 'readonly', '/etc/leash/auth_id:3'],
      [['deploy'], 'oidc:"https://acme.com/groups":admins', 'https://idp.example.com', 'readonly', '/etc/leash/auth_id:4'],
      [['web'], 'oidc-match-end:email:@example.com', G, 'readonly', '/etc/leash/auth_id:5'],
      [['root'], 'email:frank@example.com', G, 'readonly', '/etc/leash/auth_id:14'],
      [['root'], 'sub:1234567890', G, 'readonly', '/etc/leash/auth_id:15'],
      [['root'], 'email:email:x@y.z', G, 'readonly', '/etc/leash/auth_id:16'],
      [['root'], 'sub:sub:x', G, 'readonly', '/etc/leash/auth_id:17'],
      [['deploy'], 'oidc:"https://acme.com/groups":admins', 'https://idp.example.com', 'readonly', '/etc/leash/auth_id:18'],
    ],
  );
  const problems = m.problems.filter((p) => p.startsWith('/etc/leash/auth_id'));
  t.match(problems.join('\n'), /auth_id:6: .*read a value containing ":"/);
  t.match(problems.join('\n'), /auth_id:7: .*repo: glob patterns are not supported/);
  t.match(problems.join('\n'), /auth_id:8: .*must start with "@" or "."/);
  t.match(problems.join('\n'), /auth_id:9: principal "Root" is not a valid local user name/);
  t.match(problems.join('\n'), /auth_id:10: issuer "https:\/\/accounts.google.com\/" is not a configured provider/);
  t.match(problems.join('\n'), /auth_id:11: issuer "https:\/\/dup.example.com" is not a configured provider/, 'conflicting provider rows are not providers');
  t.match(problems.join('\n'), /auth_id:12: .*"oidc:"/);
  t.match(problems.join('\n'), /auth_id:13: expected 3 columns, found 2/);
  t.match(problems.join('\n'), /auth_id:19: .*would match any value/);
  t.equal(problems.length, 9);
});

t.test('without default_profile no auth_id row is taken over', async (t) => {
  const m = migrateOpksshFiles(yaml(''), { authId: { file: '/etc/leash/auth_id', text: `root alice@example.com https://idp.example.com\nroot x y z` } });
  t.same(m.grants, []);
  t.same(m.problems, [
    '/etc/leash/auth_id:1: not migrated: leash.yaml has no default_profile to grant',
    '/etc/leash/auth_id:2: expected 3 columns, found 4',
  ]);
});

const etcTrusted = ['/', '/etc'].every((d) => statSync(d).uid === 0 && (statSync(d).mode & 0o022) === 0);
t.test('loadOpksshFiles: missing files in a trusted directory are not problems', { skip: !etcTrusted || existsSync('/etc/providers') || existsSync('/etc/auth_id') }, async (t) => {
  t.same(loadOpksshFiles('/etc', config), { providers: [], grants: [], problems: [] });
});

t.test('loadOpksshFiles: untrusted files are reported and not used', async (t) => {
  // Under a world-writable /tmp (or a non-root owner) readConfigFile refuses; nothing from it is used.
  const dir = mkdtempSync(join(tmpdir(), 'leash-opk-'));
  writeFileSync(join(dir, 'auth_id'), `root alice@example.com https://idp.example.com\n`, { mode: 0o666 });
  const m = loadOpksshFiles(dir, config);
  t.same(m.grants, [], 'a world-writable auth_id is not used');
  t.match(m.problems.join('\n'), /CONFIG_UNSAFE|CONFIG_MISSING/);
});
