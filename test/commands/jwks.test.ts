/** `leash jwks refresh` (runJwks) with a real config dir and real oidc-providers on 127.0.0.1. */
import t, { type Test } from 'tap';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandContext } from '../../src/commands/context.js';
import { cacheFileStem } from '../../src/verify/keys/provider-keys.js';
import { runJwks } from '../../src/commands/jwks.js';
import { publicJwk, signingKey, startProvider } from '../helpers/oidc-provider.js';
import { trustedTempDir } from '../helpers/tmp.js';

interface Run {
  code: number;
  out: string;
  err: string;
}

async function run(configDir: string, positionals = ['refresh']): Promise<Run> {
  let out = '';
  let err = '';
  const ctx: CommandContext = { configDirFlag: configDir, values: {}, positionals, env: {} };
  const code = await runJwks(ctx, { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

async function setup(t: Test, yaml: (cacheDir: string, confDir: string) => string): Promise<{ confDir: string; cacheDir: string }> {
  const conf = await trustedTempDir('jwks-cmd-');
  t.teardown(conf.cleanup);
  const cacheDir = mkdtempSync(join(tmpdir(), 'leash-jwks-cmd-'));
  t.teardown(() => rmSync(cacheDir, { recursive: true, force: true }));
  writeFileSync(join(conf.path, 'leash.yaml'), yaml(cacheDir, conf.path), { mode: 0o644 });
  return { confDir: conf.path, cacheDir };
}

t.test('refreshes every provider: one line each, exit 0 when all are ok', async (t) => {
  const a = signingKey('RS256');
  const b = signingKey('ES256');
  const op1 = await startProvider({ keys: [a, b] });
  t.teardown(op1.stop);
  const c = signingKey('EdDSA');
  const op2 = await startProvider({ keys: [c] });
  t.teardown(op2.stop);
  const pinnedKey = signingKey('ES256');
  const { confDir, cacheDir } = await setup(t, (cache, conf) => {
    writeFileSync(join(conf, 'pinned.json'), JSON.stringify({ keys: [publicJwk(pinnedKey)] }), { mode: 0o644 });
    return [
      'providers:',
      `  - { issuer: "${op1.issuer}", client_id: c1, expiration: 24h }`,
      `  - { issuer: "${op2.issuer}", client_id: c2, expiration: 12h }`,
      `  - { issuer: "https://airgapped.example", client_id: c3, expiration: oidc, jwks_file: "${conf}/pinned.json" }`,
      `jwks_cache_dir: ${cache}`,
      '',
    ].join('\n');
  });
  const r = await run(confDir);
  t.equal(r.code, 0, r.out + r.err);
  t.equal(r.err, '');
  const lines = r.out.trimEnd().split('\n');
  t.same(lines, [
    `${op1.issuer} ok keys=2 kids=${a.kid},${b.kid}`,
    `${op2.issuer} ok keys=1 kids=${c.kid}`,
    `https://airgapped.example ok keys=1 kids=${pinnedKey.kid} pinned`,
  ]);
  t.ok(existsSync(join(cacheDir, `${cacheFileStem(op1.issuer)}.json`)));
  t.ok(existsSync(join(cacheDir, `${cacheFileStem(op2.issuer)}.json`)));
  t.notOk(existsSync(join(cacheDir, `${cacheFileStem('https://airgapped.example')}.json`)), 'pinned: nothing fetched or cached');
});

t.test('any failing provider makes exit 1, the others are still refreshed', async (t) => {
  const op = await startProvider();
  t.teardown(op.stop);
  const dead = await startProvider();
  await dead.stop(); // its port now refuses connections
  const { confDir, cacheDir } = await setup(t, (cache) =>
    [
      'providers:',
      `  - { issuer: "${dead.issuer}", client_id: c, expiration: 24h }`,
      `  - { issuer: "${op.issuer}", client_id: c, expiration: 24h }`,
      `jwks_cache_dir: ${cache}`,
      '',
    ].join('\n'),
  );
  const r = await run(confDir);
  t.equal(r.code, 1);
  const [first, second] = r.out.trimEnd().split('\n');
  t.match(first, new RegExp(`^${escape(dead.issuer)} error JWKS_FETCH_FAILED `));
  t.match(second, new RegExp(`^${escape(op.issuer)} ok keys=1 `));
  t.ok(existsSync(join(cacheDir, `${cacheFileStem(op.issuer)}.json`)));
});

t.test('a cache dir that cannot be written is a failure for the timer', async (t) => {
  const op = await startProvider();
  t.teardown(op.stop);
  const { confDir } = await setup(t, (cache) =>
    ['providers:', `  - { issuer: "${op.issuer}", client_id: c, expiration: 24h }`, `jwks_cache_dir: ${cache}/missing`, ''].join('\n'),
  );
  const r = await run(confDir);
  t.equal(r.code, 1);
  t.match(r.out, new RegExp(`^${escape(op.issuer)} error JWKS_CACHE_UNWRITABLE `));
});

t.test('configuration errors exit 78; wrong arguments are usage errors', async (t) => {
  const { confDir } = await setup(t, () => 'providers: [ { issuer: "https://x", client_id: c, expiration: forever } ]\n');
  const r = await run(confDir);
  t.equal(r.code, 78);
  t.match(r.err, /^leash: CONFIG_/);
  t.equal((await run('/nonexistent-leash-config')).code, 78);
  t.equal((await run('relative/dir')).code, 78);
  await t.rejects(run(confDir, []), { code: 'USAGE' });
  await t.rejects(run(confDir, ['refresh', 'extra']), { code: 'USAGE' });
  await t.rejects(run(confDir, ['fetch']), { code: 'USAGE' });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

t.test('what a provider sends is escaped in the output: one line per provider, no escape sequence', async (t) => {
  const { createServer } = await import('node:http');
  const evil = '\u001b[2J\u001b]0;owned\u0007\nhttps://x ok keys=1 kids=fake\u202e';
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ issuer: evil, jwks_uri: 'http://127.0.0.1:1/jwks' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const issuer = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const { confDir } = await setup(t, (cache) => [`providers:`, `  - { issuer: "${issuer}", client_id: c, expiration: 24h }`, `jwks_cache_dir: ${cache}`, ''].join('\n'));
  const r = await run(confDir);
  t.equal(r.code, 1);
  t.equal(r.out.split('\n').length, 2, 'exactly one line');
  t.match(r.out, new RegExp(`^${issuer.replace(/[.]/g, '\\.')} error DISCOVERY_ISSUER_MISMATCH `));
  t.notMatch(r.out, /[\u0000-\u0009\u000b-\u001f\u007f\u202e]/, 'no control or bidi character');
  t.match(r.out, /\\\\u001b\[2J/, 'the escape sequence is shown, escaped');
});
