/**
 * The demo's local accounts, made with the system's own tools (groupadd,
 * useradd, userdel, groupdel) and removed again by the demo's teardown:
 *
 *   <name>        the session user: a system account (no home of its own,
 *                 no subordinate ids) whose password is '*', not '!' — with
 *                 UsePAM no, sshd takes '!' for a locked account and refuses
 *                 even a key — and whose shell is /bin/sh, since sshd runs
 *                 the forced command through the user's shell;
 *   <name>-v      the AuthorizedKeysCommandUser: no shell, no home;
 *   <name>-audit  the group both are in, as install.sh's leash-audit: the
 *                 audit log is root:<group> 0620.
 *
 * Each account's primary group is that group (-N -g), so no implicit
 * per-user group is made that removing the user might leave behind. The
 * tools take a lock on /etc/passwd and /etc/group: another tool holding it
 * makes them fail at once, so each is retried a few times.
 */
import { LeashError } from '../errors.js';
import { groupId, readPasswd } from '../session/passwd.js';
import { processTable } from '../session/proc.js';
import { runProgram, sleep } from './processes.js';

const USERADD = '/usr/sbin/useradd';
const USERDEL = '/usr/sbin/userdel';
const GROUPADD = '/usr/sbin/groupadd';
const GROUPDEL = '/usr/sbin/groupdel';
export const ACCOUNT_TOOLS: readonly string[] = [USERADD, USERDEL, GROUPADD, GROUPDEL];

export interface Account {
  name: string;
  uid: number;
  gid: number;
}

export interface DemoAccounts {
  agent: Account;
  verifier: Account;
  group: { name: string; gid: number };
}

/** The demo's account names for a run id (lower-case hex): all start with `leash-demo-`. */
export function accountNames(id: string): { agent: string; verifier: string; group: string } {
  if (!/^[0-9a-f]{6}$/.test(id)) throw new LeashError('DEMO_FAILED', `not a demo id: ${id}`);
  const agent = `leash-demo-${id}`;
  return { agent, verifier: `${agent}-v`, group: `${agent}-audit` };
}

/** Runs an account tool until `done()` holds (another tool may hold the lock for a moment). */
async function retrying(file: string, args: readonly string[], done: () => boolean): Promise<void> {
  let last = '';
  for (let attempt = 0; attempt < 8; attempt++) {
    const r = await runProgram(file, args, { finish: true });
    if (done()) return;
    last = `exit ${r.code ?? r.signal}: ${r.stderr.trim()}`;
    await sleep(150 * (attempt + 1));
  }
  throw new LeashError('DEMO_FAILED', `${file} ${args.join(' ')}: ${last}`);
}

const userExists = (name: string): boolean => readPasswd().uidOf(name) !== null;
const groupExists = (name: string): boolean => groupId(name) !== null;

/** The uid must be new to this host's processes: everything that later runs as it is the demo's. */
function assertUnused(uid: number, name: string): void {
  const users = [...processTable().values()].filter((p) => p.uid === uid || p.euid === uid);
  if (users.length > 0) throw new LeashError('DEMO_FAILED', `uid ${uid}, given to ${name}, is still used by running processes (${users.map((p) => p.pid).join(' ')}) of an account removed earlier`);
}

export async function createGroup(name: string): Promise<number> {
  if (groupExists(name)) throw new LeashError('DEMO_FAILED', `group ${name} exists already`);
  await retrying(GROUPADD, ['--system', name], () => groupExists(name));
  return groupId(name)!;
}

/** A system account in `gid`: `login` gets /bin/sh and password '*', otherwise nologin. */
export async function createUser(name: string, o: { gid: number; home: string; login: boolean }): Promise<Account> {
  if (userExists(name)) throw new LeashError('DEMO_FAILED', `user ${name} exists already`);
  const args = ['--system', '--no-create-home', '--no-user-group', '--gid', String(o.gid), '--home-dir', o.home];
  args.push(...(o.login ? ['--shell', '/bin/sh', '--password', '*'] : ['--shell', '/usr/sbin/nologin']), name);
  await retrying(USERADD, args, () => userExists(name));
  const uid = readPasswd().uidOf(name)!;
  try {
    assertUnused(uid, name);
  } catch (err) {
    await removeUser(name);
    throw err;
  }
  return { name, uid, gid: o.gid };
}

export async function removeUser(name: string): Promise<void> {
  if (userExists(name)) await retrying(USERDEL, [name], () => !userExists(name));
}

export async function removeGroup(name: string): Promise<void> {
  if (groupExists(name)) await retrying(GROUPDEL, [name], () => !groupExists(name));
}
