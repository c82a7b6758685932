/**
 * The minter the demo and the tests share stays independent of what it is
 * used to test: it imports node's own modules and the error registry, and
 * nothing else of leash (above all nothing of the verifier), so a test that
 * feeds its certificates to leash verify never checks leash against itself.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const source = readFileSync(fileURLToPath(new URL('../../src/demo/opkssh-login.ts', import.meta.url)), 'utf8');

t.test('src/demo/opkssh-login.ts imports only node: modules and ../errors.js', async (t) => {
  const specifiers = [...source.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'/gm), ...source.matchAll(/import\(\s*'([^']+)'/g)].map((m) => m[1]!);
  t.ok(specifiers.length > 0, 'it has imports to check');
  t.same(specifiers.filter((s) => !s.startsWith('node:') && s !== '../errors.js'), []);
});

t.test('the tests get it unchanged through test/helpers/pktoken.ts', async (t) => {
  const helper = await import('../helpers/pktoken.js');
  const demo = await import('../../src/demo/opkssh-login.js');
  t.equal(helper.mintLogin, demo.mintLogin);
  t.equal(helper.canonicalJson, demo.canonicalJson);
});
