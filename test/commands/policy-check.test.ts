import t from 'tap';
import { runPolicy } from '../../src/commands/policy-check.js';
import { assertTrustedParents } from '../../src/trust/ownership.js';

/** runPolicy with stdout captured. */
async function check(...files: string[]): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((s: string) => (out.push(s), true)) as typeof process.stdout.write;
  try {
    return { code: await runPolicy({ configDirFlag: undefined, values: {}, positionals: ['check', ...files], env: {} }), out: out.join('') };
  } finally {
    process.stdout.write = write;
  }
}

let trustedCheckout = true;
try {
  assertTrustedParents('policies');
} catch {
  trustedCheckout = false; // e.g. a CI clone under /tmp
}

t.test('relative paths, and a profile that extends another, are checked in a checkout', async (t) => {
  const r = await check('policies/diagnostic.yaml', 'policies/remediation.yaml');
  t.notMatch(r.out, /does not load/, 'the parent of remediation is read and validated');
  if (trustedCheckout) {
    t.equal(r.code, 0, r.out);
    t.match(r.out, /policies\/diagnostic\.yaml: OK\n[\s\S]*policies\/remediation\.yaml: OK\n/);
  } else {
    t.equal(r.code, 78, 'unsafe ownership is an error');
    t.match(r.out, /leash shell would refuse this profile/);
  }
});

t.test('a missing file is reported, not crashed on', async (t) => {
  const r = await check('policies/no-such-profile.yaml');
  t.equal(r.code, 78);
  t.match(r.out, /no-such-profile\.yaml: /);
});
