/**
 * The stage `leash demo` plays on, set up as install.sh sets up a host, but
 * all of it inside one new directory and three new accounts, each
 * registered with the teardown the moment it exists: a configuration
 * directory with the demo profile and a leash.yaml granting alice and bob
 * the session user, the audit log root:<group> 0620, the runtime tree
 * (`leash runtime init`), an empty KRL, the demo's OpenID provider on
 * loopback, the throwaway sshd, and the client's ssh_config.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, constants, copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LeashError } from '../errors.js';
import { assertTrustedParents } from '../trust/ownership.js';
import { accountNames, createGroup, createUser, removeGroup, removeUser, type DemoAccounts } from './accounts.js';
import { DEMO_PROFILE, DEMO_PROFILE_YAML, demoPaths, knownHosts, leashYaml, sshClientConfig, sshdConfig, type DemoPaths } from './demo-files.js';
import { sweep } from './leftovers.js';
import { startDemoProvider, type DemoProvider } from './oidc-provider.js';
import { interrupted, runOk, runProgram, type RunResult } from './processes.js';
import { sshClient, type SshClient } from './ssh-client.js';
import { SSH_KEYGEN, startThrowawaySshd, type ThrowawaySshd } from './throwaway-sshd.js';
import type { Teardown } from './teardown.js';

/** Where the demo's directory is made: root-owned, on disk (not /tmp: anyone may write there). */
const DEMO_BASE = '/var/lib';
/** sshd's privilege-separation directory (normally made by its service). */
const PRIVSEP_DIR = '/run/sshd';

/** The people of the demo: alice and bob are granted the session user, mallory has a login but no grant. */
export const DEMO_USERS = [
  { name: 'alice', email: 'alice@example.com' },
  { name: 'bob', email: 'bob@example.com' },
  { name: 'mallory', email: 'mallory@example.com' },
] as const;
export const GRANTED = ['alice', 'bob'] as const;
/** The client's name for the CA-mode agent's key. */
export const CA_AGENT = 'ca-agent';

export interface DemoHost {
  id: string;
  paths: DemoPaths;
  /** The leash executable sshd runs (this one, or its copy in the demo's directory). */
  leash: string;
  accounts: DemoAccounts;
  provider: DemoProvider;
  sshd: ThrowawaySshd;
  ssh: SshClient;
  /** `leash --config-dir <the demo's> ARGS`, as root: the operator's commands. */
  operator: (args: readonly string[]) => Promise<RunResult>;
  teardown: Teardown;
  signal: AbortSignal;
}

function dir(path: string, mode: number, uid = 0, gid = 0): void {
  mkdirSync(path, { mode });
  chownSync(path, uid, gid);
  chmodSync(path, mode); // mkdir's mode passes through the umask
}

/** A new root-owned 0755 directory /var/lib/leash-demo-<id>, whose parents leash and sshd trust. */
function makeDemoDir(teardown: Teardown): Promise<{ id: string; root: string }> {
  assertTrustedParents(DEMO_BASE);
  for (let attempt = 0; attempt < 8; attempt++) {
    const id = randomBytes(3).toString('hex');
    const root = join(DEMO_BASE, `leash-demo-${id}`);
    try {
      mkdirSync(root, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw err;
    }
    return teardown.add(`remove ${root}`, () => rmSync(root, { recursive: true, force: true })).then(() => {
      chownSync(root, 0, 0);
      chmodSync(root, 0o755);
      return { id, root };
    });
  }
  throw new LeashError('DEMO_FAILED', `no free name for the demo's directory in ${DEMO_BASE}`);
}

/**
 * Whether sshd can run `path` as the AuthorizedKeysCommand and the session
 * user as the forced command: every directory from it up to / root-owned,
 * not group- or world-writable, and searchable by anyone; the file too, and
 * executable by anyone; no blank in the path (sshd splits the line on blanks).
 */
function qualifies(path: string): boolean {
  if (/\s/.test(path)) return false;
  try {
    assertTrustedParents(dirname(path));
    for (let d = dirname(path); ; d = dirname(d)) {
      if ((lstatSync(d).mode & 0o001) === 0) return false;
      if (d === '/') break;
    }
    const st = lstatSync(path);
    return st.isFile() && st.uid === 0 && (st.mode & 0o022) === 0 && (st.mode & 0o005) === 0o005;
  } catch {
    return false;
  }
}

/** This executable where sshd accepts it: in place (an installed package), or copied into the demo's directory. */
function placeExecutable(self: string, paths: DemoPaths): string {
  const real = realpathSync(self);
  if (qualifies(real)) return real;
  const bin = join(paths.root, 'bin');
  dir(bin, 0o755);
  const copy = join(bin, 'leash');
  copyFileSync(real, copy, constants.COPYFILE_FICLONE);
  chownSync(copy, 0, 0);
  chmodSync(copy, 0o755);
  return copy;
}

/** An empty file root:<gid> 0620: the audit log's and the recordings' permission model (docs/audit-log.md). */
function appendOnlyLog(path: string, gid: number): void {
  writeFileSync(path, '', { mode: 0o620 });
  chownSync(path, 0, gid);
  chmodSync(path, 0o620);
}

export async function setUpHost(self: string, selfPid: number, teardown: Teardown, signal: AbortSignal): Promise<DemoHost> {
  const { id, root } = await makeDemoDir(teardown);
  const paths = demoPaths(root);
  const names = accountNames(id);

  // The accounts: removed after every process that runs as them (sweep), before the directory.
  const gid = await createGroup(names.group);
  await teardown.add(`remove group ${names.group}`, () => removeGroup(names.group));
  const verifier = await createUser(names.verifier, { gid, home: '/nonexistent', login: false });
  await teardown.add(`remove user ${names.verifier}`, () => removeUser(names.verifier));
  const agent = await createUser(names.agent, { gid, home: paths.home, login: true });
  await teardown.add(`remove user ${names.agent}`, () => removeUser(names.agent));
  const accounts: DemoAccounts = { agent, verifier, group: { name: names.group, gid } };
  await teardown.add('stop what runs as the demo accounts', async () => {
    const left = await sweep({ uids: [agent.uid, verifier.uid], dir: root, roots: [], self: selfPid });
    if (left.length > 0) throw new LeashError('DEMO_FAILED', `still running: ${left.join(', ')}`);
  });
  if (signal.aborted) throw interrupted(signal);

  for (const d of [paths.configDir, join(paths.configDir, 'policies'), paths.sshdDir, paths.logDir, paths.runtimeDir, paths.home]) dir(d, 0o755);
  dir(paths.clientDir, 0o700);
  dir(paths.cacheDir, 0o755, verifier.uid, verifier.gid);
  const leash = placeExecutable(self, paths);
  appendOnlyLog(paths.auditLog, gid);
  appendOnlyLog(paths.recordingsLog, gid);
  writeFileSync(join(paths.configDir, 'policies', `${DEMO_PROFILE}.yaml`), DEMO_PROFILE_YAML, { mode: 0o644 });
  // sshd refuses every key while RevokedKeys names a missing file: the KRL exists first (as install.sh does it).
  await runOk(SSH_KEYGEN, ['-q', '-k', '-f', paths.krl], { signal });
  chmodSync(paths.krl, 0o644);

  const provider = await startDemoProvider(DEMO_USERS);
  await teardown.add('stop the OpenID provider', provider.stop);
  writeFileSync(join(paths.configDir, 'leash.yaml'), leashYaml({ issuer: provider.issuer, clientId: provider.clientId, grants: GRANTED.map((g) => ({ identity: `${g}@example.com`, user: agent.name })), paths }), { mode: 0o644 });

  const operator = (args: readonly string[]): Promise<RunResult> => runProgram(leash, ['--config-dir', paths.configDir, ...args], { signal });
  const init = await operator(['runtime', 'init', '--verify-user', verifier.name, '--group', names.group]);
  if (init.code !== 0) throw new LeashError('DEMO_FAILED', `leash runtime init: ${init.stderr.trim()}`);
  const check = await operator(['policy', 'check']);
  if (check.code !== 0) throw new LeashError('DEMO_FAILED', `leash policy check: ${check.stdout.trim()} ${check.stderr.trim()}`);

  // Made when missing and then left in place: any sshd started meanwhile (the host's own, another
  // demo's) needs it for every new connection, and openssh-server's own tmpfiles rule makes it at boot.
  if (!existsSync(PRIVSEP_DIR)) dir(PRIVSEP_DIR, 0o755);
  const sshd = await startThrowawaySshd({ config: paths.sshdConfig, hostKey: paths.hostKey, log: paths.sshdLog }, (port) => sshdConfig({ port, paths, leash, verifier: verifier.name, agent: agent.name }), signal);
  await teardown.add('stop sshd and its connections', sshd.stop);

  writeFileSync(paths.knownHosts, knownHosts(readFileSync(`${paths.hostKey}.pub`, 'utf8')), { mode: 0o600 });
  const identities = [...DEMO_USERS.map((u) => u.name), CA_AGENT].map((alias) => ({ alias, key: join(paths.clientDir, alias), cert: join(paths.clientDir, `${alias}-cert.pub`) }));
  writeFileSync(paths.sshConfig, sshClientConfig({ port: sshd.port, user: agent.name, knownHosts: paths.knownHosts, identities }), { mode: 0o600 });

  return { id, paths, leash, accounts, provider, sshd, ssh: sshClient(paths.sshConfig, paths.clientDir, signal), operator, teardown, signal };
}
