import t from 'tap';
import { SshReader, sshString } from '../../../src/verify/cert/ssh-wire.js';

const r = (hex: string) => new SshReader(Buffer.from(hex.replace(/ /g, ''), 'hex'), 'test');

t.test('integers and strings', async (t) => {
  const x = r('00000001 0000000000000102 00000003 616263');
  t.equal(x.uint32('a'), 1);
  t.equal(x.uint64('b'), 0x102n);
  t.equal(x.string('c').toString(), 'abc');
  t.equal(x.remaining, 0);
  t.doesNotThrow(() => x.end());
  t.same(sshString('abc'), Buffer.from('00000003616263', 'hex'));
});

t.test('truncation and trailing bytes', async (t) => {
  t.throws(() => r('000000').uint32('a'), { code: 'SSH_WIRE_TRUNCATED' });
  t.throws(() => r('00000000000000').uint64('a'), { code: 'SSH_WIRE_TRUNCATED' });
  t.throws(() => r('00000004 616263').string('a'), { code: 'SSH_WIRE_TRUNCATED' });
  t.throws(() => r('ffffffff 00').string('a'), { code: 'SSH_WIRE_TRUNCATED' }, 'huge length');
  const x = r('00000000 00');
  x.string('a');
  t.throws(() => x.end(), { code: 'SSH_WIRE_TRAILING' });
});

t.test('text: no NUL, valid UTF-8', async (t) => {
  t.equal(r('00000002 c3a9').text('a'), 'é');
  t.throws(() => r('00000003 610062').text('a'), { code: 'SSH_WIRE_BAD_STRING' });
  t.throws(() => r('00000001 ff').text('a'), { code: 'SSH_WIRE_BAD_STRING' });
});

t.test('mpint: non-negative, minimal', async (t) => {
  t.equal(r('00000000').mpint('a').length, 0, 'zero');
  t.same(r('00000001 7f').mpint('a'), Buffer.from([0x7f]));
  t.same(r('00000002 0080').mpint('a'), Buffer.from([0x80]), 'sign byte stripped');
  t.throws(() => r('00000001 80').mpint('a'), { code: 'SSH_WIRE_BAD_MPINT' }, 'negative');
  t.throws(() => r('00000001 00').mpint('a'), { code: 'SSH_WIRE_BAD_MPINT' }, 'zero with a byte');
  t.throws(() => r('00000002 007f').mpint('a'), { code: 'SSH_WIRE_BAD_MPINT' }, 'needless leading zero');
});
