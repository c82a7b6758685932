/**
 * Where `leash demo` keeps everything, and the text of every file it
 * writes: the profile, leash.yaml, the throwaway sshd's configuration and
 * the ssh client's. Pure functions of the demo's names and paths (tested
 * without running anything: test/demo/demo-files.test.ts decides every
 * command the demo runs against this profile).
 *
 * One directory holds it all, root-owned 0755 down from /, as leash and
 * sshd require of configuration and of an AuthorizedKeysCommand (never
 * under /tmp, which anyone can write):
 *
 *   <root>/bin/leash        this executable, when its own path does not qualify
 *   <root>/etc/             the configuration directory (--config-dir)
 *   <root>/ca/              the CA of the CA-mode step (leash ca init)
 *   <root>/sshd/            sshd_config, the host key, the pid file, sshd's log
 *   <root>/log/             the audit log and the recordings (root:<group> 0620)
 *   <root>/cache/           the provider-key cache (the verifier's account)
 *   <root>/run/             runtime_dir (leash runtime init)
 *   <root>/home/            the session user's home
 *   <root>/client/          root 0700: the client's keys, certificates, ssh_config, control sockets
 */
import { join } from 'node:path';
import { LeashError } from '../errors.js';

export interface DemoPaths {
  root: string;
  configDir: string;
  caDir: string;
  sshdDir: string;
  sshdConfig: string;
  hostKey: string;
  sshdLog: string;
  logDir: string;
  auditLog: string;
  recordingsLog: string;
  cacheDir: string;
  runtimeDir: string;
  home: string;
  clientDir: string;
  sshConfig: string;
  knownHosts: string;
  /** The CA's public key where sshd reads it (TrustedUserCAKeys). */
  userCaKey: string;
  /** The KRL sshd reads (RevokedKeys); leash revoke rewrites it. */
  krl: string;
}

export function demoPaths(root: string): DemoPaths {
  const configDir = join(root, 'etc');
  const sshdDir = join(root, 'sshd');
  const logDir = join(root, 'log');
  const clientDir = join(root, 'client');
  return {
    root,
    configDir,
    caDir: join(root, 'ca'),
    sshdDir,
    sshdConfig: join(sshdDir, 'sshd_config'),
    hostKey: join(sshdDir, 'ssh_host_ed25519_key'),
    sshdLog: join(sshdDir, 'sshd.log'),
    logDir,
    auditLog: join(logDir, 'audit.jsonl'),
    recordingsLog: join(logDir, 'recordings.jsonl'),
    cacheDir: join(root, 'cache'),
    runtimeDir: join(root, 'run'),
    home: join(root, 'home'),
    clientDir,
    sshConfig: join(clientDir, 'ssh_config'),
    knownHosts: join(clientDir, 'known_hosts'),
    userCaKey: join(configDir, 'user-ca.pub'),
    krl: join(configDir, 'revoked.krl'),
  };
}

/** The demo's profile: <config-dir>/policies/demo.yaml. */
export const DEMO_PROFILE = 'demo';

/**
 * A small read-only profile: enough for the demo's commands (and for trying
 * a few more by hand with --keep), each pinned to its binary, options and
 * operands typed, paths realpath-checked.
 */
export const DEMO_PROFILE_YAML = `# leash demo: what the demo's agent may run (a small, read-only profile).
description: The leash demo. Read-only; no shells.
timeout: 2m

paths:
  allow:
    - /etc/os-release
    - /usr/lib/os-release
    - /etc/hostname
    - /proc/loadavg
    - /proc/meminfo

commands:
  uptime:
    binary: /usr/bin/uptime
    options:
      -p, --pretty: flag
  id:
    binary: /usr/bin/id
  uname:
    binary: /usr/bin/uname
    options:
      -a, --all: flag
      -r, --kernel-release: flag
  cat:
    binary: /usr/bin/cat
    operands: path 1..8
  ps:
    binary: /usr/bin/ps
    options:
      -e: flag
      -f: flag
      -o, --format: {regex: '^[a-z,]{1,100}$'}
    operands: {enum: [aux, ax], count: 0..1}
  sleep:
    binary: /usr/bin/sleep
    operands: {int: [1, 300]}
  grep:
    binary: /usr/bin/grep
    filter: true
    options:
      -c, --count: flag
      -E, --extended-regexp: flag
      -i, --ignore-case: flag
      -v, --invert-match: flag
    operands:
      - {pattern: 200}
      - path 0..8
  head:
    binary: /usr/bin/head
    filter: true
    options:
      -n, --lines: {int: [1, 10000]}
  wc:
    binary: /usr/bin/wc
    filter: true
    options:
      -l, --lines: flag
`;

/**
 * What the steps run under the demo profile, and what leash must answer
 * (test/demo/demo-files.test.ts decides each one against DEMO_PROFILE_YAML).
 */
export const DEMO_COMMANDS = {
  allowed: ['uptime', 'id', 'cat /etc/os-release'],
  denied: [
    ['cat /etc/shadow', 'PATH_NOT_ALLOWED'],
    ['rm -rf /', 'COMMAND_NOT_ALLOWED'],
    ['uptime; id', 'METACHAR_FORBIDDEN'],
    ['cat /etc/os-release > /tmp/copy', 'METACHAR_FORBIDDEN'],
  ],
  pipelines: ["cat /etc/os-release | grep -E '^(NAME|VERSION)=' | head -n 2", 'ps aux | grep -c sshd'],
  /** A shell as a later stage: refused by name. */
  deniedPipeline: ['cat /etc/os-release | sh', 'COMMAND_NOT_ALLOWED'],
  /** What alice runs over her ControlMaster connection while she is revoked. */
  running: 'sleep 120',
  /** The lines --keep suggests trying by hand (allowed, unless listed in `denied`). */
  byHand: ['uptime', "cat /etc/os-release | grep -c ID", 'uname -a', 'ps aux | grep -c ssh'],
} as const satisfies {
  allowed: readonly string[];
  denied: readonly (readonly [string, string])[];
  pipelines: readonly string[];
  deniedPipeline: readonly [string, string];
  running: string;
  byHand: readonly string[];
};

export interface DemoGrant {
  identity: string;
  user: string;
}

/** YAML and sshd_config values the demo writes: its own paths and names, refused if they could break a line. */
function plain(value: string): string {
  if (!/^[A-Za-z0-9@%._:/+=-]+$/.test(value)) throw new LeashError('DEMO_FAILED', `unsafe value for a configuration file: ${JSON.stringify(value)}`);
  return value;
}

/** <config-dir>/leash.yaml: the demo's provider, its grants, and every path inside the demo's directory. */
export function leashYaml(o: { issuer: string; clientId: string; grants: readonly DemoGrant[]; paths: DemoPaths }): string {
  const lines = [
    '# leash demo: a throwaway configuration, removed when the demo ends.',
    'providers:',
    `  - issuer: ${plain(o.issuer)}`,
    `    client_id: ${plain(o.clientId)}`,
    '    expiration: 24h',
    'grants:',
  ];
  for (const g of o.grants) lines.push(`  - identity: ${plain(g.identity)}`, `    issuer: ${plain(o.issuer)}`, `    principals: [${plain(g.user)}]`, `    profile: ${DEMO_PROFILE}`);
  lines.push(
    `audit_log: ${plain(o.paths.auditLog)}`,
    `recordings_log: ${plain(o.paths.recordingsLog)}`,
    `jwks_cache_dir: ${plain(o.paths.cacheDir)}`,
    `runtime_dir: ${plain(o.paths.runtimeDir)}`,
    'max_grant_ttl: 1h',
  );
  return `${lines.join('\n')}\n`;
}

/**
 * The throwaway sshd: loopback only, its own host key, keys only (no
 * passwords, no PAM: PAM would bring the host's account and session stack
 * in), only the demo's account may log in, and leash in both modes —
 * `leash verify` as the AuthorizedKeysCommand, and the demo CA's
 * certificates through TrustedUserCAKeys with leash's KRL.
 */
export function sshdConfig(o: { port: number; paths: DemoPaths; leash: string; verifier: string; agent: string }): string {
  const p = o.paths;
  return [
    '# leash demo: a throwaway sshd on loopback, removed when the demo ends.',
    `Port ${o.port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${plain(p.hostKey)}`,
    `PidFile ${plain(join(p.sshdDir, 'sshd.pid'))}`,
    'UsePAM no',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes',
    'AuthorizedKeysFile none',
    `AuthorizedKeysCommand ${plain(o.leash)} --config-dir ${plain(p.configDir)} verify %u %k %t`,
    `AuthorizedKeysCommandUser ${plain(o.verifier)}`,
    `TrustedUserCAKeys ${plain(p.userCaKey)}`,
    `RevokedKeys ${plain(p.krl)}`,
    'ExposeAuthInfo yes',
    `AllowUsers ${plain(o.agent)}`,
    'DisableForwarding yes',
    'PrintMotd no',
    'PrintLastLog no',
    'StrictModes yes',
    'LogLevel VERBOSE',
    '',
  ].join('\n');
}

/** One identity's key on the client: `ssh -F <ssh_config> <alias>` logs in with it. */
export interface ClientIdentity {
  alias: string;
  key: string;
  /** The certificate; ssh would also find KEY-cert.pub by itself, naming it keeps the file readable. */
  cert: string;
}

/** The client's ssh_config: one Host per identity, the demo's host key pinned, nothing of ~/.ssh or an agent. */
export function sshClientConfig(o: { port: number; user: string; knownHosts: string; identities: readonly ClientIdentity[] }): string {
  const lines = ['# leash demo: the client side. Try: ssh -F THIS_FILE alice uptime', ''];
  for (const id of o.identities) {
    lines.push(
      `Host ${plain(id.alias)}`,
      '    HostName 127.0.0.1',
      `    Port ${o.port}`,
      `    User ${plain(o.user)}`,
      `    IdentityFile ${plain(id.key)}`,
      `    CertificateFile ${plain(id.cert)}`,
      '    IdentitiesOnly yes',
      '    IdentityAgent none',
      `    UserKnownHostsFile ${plain(o.knownHosts)}`,
      `    HostKeyAlias leash-demo`,
      '    StrictHostKeyChecking yes',
      '    BatchMode yes',
      '    LogLevel ERROR',
      '    ConnectTimeout 10',
      '',
    );
  }
  return lines.join('\n');
}

/** known_hosts: the throwaway sshd's host key under the alias every Host uses. */
export function knownHosts(hostKeyPub: string): string {
  const [type, key] = hostKeyPub.trim().split(/\s+/);
  if (type === undefined || key === undefined) throw new LeashError('DEMO_FAILED', 'the host key is not an OpenSSH public key line');
  return `leash-demo ${plain(type)} ${plain(key)}\n`;
}
