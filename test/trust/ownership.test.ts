import t from 'tap';
import { assertTrustedParents } from '../../src/trust/ownership.js';
import { LeashError } from '../../src/errors.js';

t.test('a relative directory is checked up to / and not looped on', async (t) => {
  // The repository may sit under a world-writable directory (a CI clone in /tmp):
  // either answer is fine, as long as it comes, and names absolute paths.
  try {
    assertTrustedParents('.');
    t.pass('the working directory chain is trusted');
  } catch (err) {
    t.ok(err instanceof LeashError && err.code === 'CONFIG_UNSAFE', String(err));
    t.match((err as Error).message, /^\//, 'the message names an absolute path');
  }
  t.throws(() => assertTrustedParents('/tmp'), { code: 'CONFIG_UNSAFE' }, '/tmp is world-writable');
});
