/** Why `leash demo` cannot run on a host: said before anything is made. */
import t from 'tap';
import { whyUnavailable } from '../../src/demo/run-demo.js';

const all = (): boolean => true;

t.test('root, the built executable and the programs it runs', async (t) => {
  t.equal(whyUnavailable({ root: true, builtExecutable: true, exists: all }), null);
  t.match(whyUnavailable({ root: false, builtExecutable: true, exists: all }), { code: 'DEMO_UNAVAILABLE', message: /must run as root/ });
  t.match(whyUnavailable({ root: true, builtExecutable: false, exists: all }), { code: 'DEMO_UNAVAILABLE', message: /built executable/ });
  const noServer = whyUnavailable({ root: true, builtExecutable: true, exists: (p) => p !== '/usr/sbin/sshd' });
  t.match(noServer, { code: 'DEMO_UNAVAILABLE', message: '/usr/sbin/sshd (Debian: apt-get install openssh-server)' });
  const nothing = whyUnavailable({ root: true, builtExecutable: true, exists: () => false });
  t.match(nothing?.message, /apt-get install openssh-server openssh-client passwd\)$/, 'each package named once');
});
