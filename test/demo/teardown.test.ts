/** The demo's teardown: newest first, every action tried, late arrivals removed at once. */
import t from 'tap';
import { Teardown } from '../../src/demo/teardown.js';

t.test('close() undoes newest first, and a failure does not stop the rest', async (t) => {
  const done: string[] = [];
  const td = new Teardown();
  await td.add('directory', () => void done.push('directory'));
  await td.add('account', () => {
    throw new Error('userdel: locked');
  });
  await td.add('sshd', async () => void done.push('sshd'));
  const failed = await td.close();
  t.same(done, ['sshd', 'directory']);
  t.same(failed, ['account: userdel: locked']);
  t.same(await td.close(), failed, 'a second close undoes nothing again');
  t.same(done, ['sshd', 'directory']);
});

t.test('something registered while closing (a program that was starting at ^C) is removed at once', async (t) => {
  const done: string[] = [];
  const td = new Teardown();
  let release!: () => void;
  await td.add('slow', () => new Promise<void>((r) => (release = () => (done.push('slow'), r()))));
  const closing = td.close();
  t.ok(td.closed);
  await td.add('late', () => void done.push('late'));
  t.same(done, ['late'], 'the late one is undone before add() returns');
  release();
  await closing;
  t.same(done, ['late', 'slow']);
});
