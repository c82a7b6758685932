// Help texts, one per command of the dispatch table (cli.ts). Kept as plain
// strings: `leash help` must work on a host with nothing but the binary.
// Each command's `usage:` lines are also its synopsis in leash(1)
// (docs/leash.1.md); test/commands/help.test.ts keeps the two equal, and
// checks that every option the dispatch table accepts is named here.

export const HELP = `leash - short-lived, command-restricted SSH access

usage: leash [--config-dir DIR] COMMAND [ARGS]

commands:
  verify USER KEY TYPE     sshd AuthorizedKeysCommand: check an OPKSSH certificate
  verify --explain --user USER --cert FILE
                           show every verification check for a certificate
  shell [--profile NAME]   sshd forced command: run SSH_ORIGINAL_COMMAND if the
                           profile allows it
  explain [--profile NAME] [--json] -- 'COMMAND LINE'
                           show the decision for a command without running it
  describe [--profile NAME] [--json | --mcp]
                           what a profile allows, for people, as JSON, or as
                           Model Context Protocol tool definitions
  policy check [FILE...]   validate profiles (default: the whole config
                           directory, and refresh its compiled cache)
  jwks refresh             refresh every provider's cached JWKS
  doctor                   check this host's installation (sshd, files,
                           keys, audit log, clock); a fix for each failure
  sessions [--json] [--all] [--reap]
                           live sessions: who, what runs, since when
  revoke (--session ID | --identity ID | --user USER | --serial N | --key FILE)
         [--reason TEXT] [--for DURATION]   (or: revoke --list)
                           refuse it from now on and end its sessions
  unrevoke (--session ID | --identity ID | ...)
  watch [--session ID] [--identity ID] [--user USER] [--json] [--output]
                           follow the audit log (and recorded output) live
  runtime init [--verify-user USER] [--group GROUP]
                           create the runtime directories (boot, cron)
  ca init [--ca-dir DIR] | ca show [--ca-dir DIR]
                           make or show the SSH CA key for grants
  grant --pubkey FILE --user USER --profile NAME --ttl DURATION [...]
                           sign a short-lived, command-pinned certificate
  demo [--keep]            the whole product on loopback, in under a minute
                           (root; a throwaway sshd, removed afterwards)
  help [COMMAND]           this text, or one command's (also: COMMAND --help)
  --version                print the version

global flags:
  --config-dir DIR         configuration directory (default /etc/leash, or
                           LEASH_CONFIG_DIR outside an SSH session); may stand
                           before or after the command

exit status:
  0    success (verify: key accepted; shell: the command exited 0)
  1    verify: key refused (nothing was printed); operator commands: refused
  64   usage error
  70   internal error (nothing was run or accepted)
  78   configuration error (missing, unsafe or invalid file)
  124  shell: the command timed out and its process group was killed
  125  shell: the command wrote more than max_output and was killed
  126  shell / explain: denied by policy
  other  shell: the command's (a pipeline's: first failing stage's) exit status,
         128+N if it died of signal N; 128+N also if leash was stopped by signal N

The manual: man leash (commands), man leash.yaml, man leash-profile.
`;

/** What every command accepts; appended to each command's text. */
const COMMON = `
common options:
  --config-dir DIR   the configuration directory (default /etc/leash)
  -h, --help         this text

See leash(1) for the details.
`;

const COMMANDS: Record<string, string> = {
  verify: `usage: leash verify USER KEY TYPE
       leash verify --explain --user USER --cert FILE

sshd's AuthorizedKeysCommand (AuthorizedKeysCommand /usr/bin/leash verify
%u %k %t). Accepts an OPKSSH certificate whose PK Token verifies against a
provider of leash.yaml and whose identity is granted USER; prints one
authorized_keys line that pins the session (cert-authority, restrict,
expiry-time, command="leash shell --profile ..."). On any failure it prints
nothing, says why on stderr (sshd's log) and in the audit log, and exits 1.

options:
  --explain          every check, with pass or fail, for a -cert.pub file,
                     judged as the AuthorizedKeysCommandUser would judge it
  --user USER        the local user to log in as (with --explain)
  --cert FILE        the certificate file (with --explain)

exit: 0 accepted, 1 refused (a configuration error too: sshd reads any
failure as "no key"); --explain: 0 it would be accepted, 1 refused, 78 the
configuration does not load.
`,
  shell: `usage: leash shell [--profile NAME] [--identity ID] [--session ID] [--expires UNIX_SECONDS]

The forced command sshd runs for a leash session. Reads the client's command
from SSH_ORIGINAL_COMMAND, decides it against <config-dir>/policies/NAME.yaml
and runs the pinned binary directly (no shell) under a guard in a process
group of its own, with a fixed environment, a timeout and an output limit;
leash relays its output. Every decision is appended to the audit log.

An empty command (interactive login) lists the allowed commands and exits
126. The built-in command 'leash-describe' (or 'leash-describe --mcp')
prints what the profile allows, as 'leash describe --json' (--mcp) does.

options:
  --profile NAME     the profile (default: leash.yaml's default_profile,
                     else diagnostic)
  --identity ID      who logged in, for the audit log and the registry
  --session ID       the session id, for the audit log and the registry
  --expires UNIX_SECONDS
                     the session's end: nothing runs after it, nothing
                     runs past it

exit: the command's status; 126 denied; 124 timed out; 125 output limit;
128+N stopped by signal N; 78 configuration error.
`,
  explain: `usage: leash explain [--profile NAME] [--json] -- 'COMMAND LINE'

Decides COMMAND LINE exactly as 'leash shell' would, without running it, and
prints allow/deny, the reason code, every stage's binary and the argv that
would run (a pipeline has one stage per | part), or the denial and a hint.

options:
  --profile NAME     the profile (default: as for leash shell)
  --json             one JSON object, with the audit log's names (timeout_ms)

exit: 0 it would run, 126 denied, 78 the profile does not load.
`,
  describe: `usage: leash describe [--profile NAME] [--json | --mcp]

What a profile allows: its commands, subcommands, options with their value
types, operand slots, the path rules in force, the timeout and output caps.
Without --json or --mcp, a short listing for people.

options:
  --profile NAME     the profile (default: as for leash shell)
  --json             the description as data (inside a session the built-in
                     command 'leash-describe' prints the same)
  --mcp              Model Context Protocol tool definitions, one tool per
                     command available on this host

exit: 0, or 78 if the profile does not load.
`,
  policy: `usage: leash policy check [FILE...]

Validates profile files (default: <config-dir>/policies/*.yaml) and every
pinned binary on this host. Each problem is printed as file:line:column:
reason. Without FILE it also validates leash.yaml (and that every profile it
names exists) and, run as root with everything valid, refreshes the compiled
cache (<config-dir>/.compiled) that lets logins skip YAML parsing. Run it
after every change to the configuration.

exit: 0 every file is valid, 78 otherwise.
`,
  jwks: `usage: leash jwks refresh

Fetches every configured provider's JWKS (discovery, then jwks_uri) into the
on-disk cache, one line per provider. The systemd timer (or the cron line)
runs it every 15 minutes as the AuthorizedKeysCommandUser; logins never wait
on it.

exit: 0 every provider is ok, 1 one failed, 78 leash.yaml does not load.
`,
  doctor: `usage: leash doctor

Checks a live host, as root: leash's binary and every directory above it are
safe for sshd; sshd -T shows leash's AuthorizedKeysCommand, its user and
ExposeAuthInfo; leash.yaml and every profile load and are safely owned; each
profile's pinned binaries; each provider's cached keys; the audit log is
append-only and every writer can append; the runtime directory; the
revocation list; CA mode's KRL and key; the clock. Prints [ok]/[warn]/[FAIL]
per check, with a fix.

exit: 0 nothing failed (warnings allowed), 1 otherwise.
`,
  sessions: `usage: leash sessions [--json] [--all]
       leash sessions --reap [--json]

As root: the sessions on this host from the session registry, each checked
against /proc: session id, identity, local user, profile, client address,
started, expires, state (active: a command runs; idle: the connection is
open), commands run and denied, and the running commands with their pids.

options:
  --json             as JSON
  --all              also ended, expired and revoked sessions (kept 24 h)
  --reap             one reaper round (a timer or cron runs it): ends expired
                     sessions and those of revoked identities, audits
                     commands whose leash was killed

exit: 0; with --reap, 1 when a process survived a kill.
`,
  revoke: `usage: leash revoke (--session ID | --identity ID | --user USER | --serial N | --key FILE)
                    [--reason TEXT] [--for DURATION]
       leash revoke --list [--json]

As root: adds the entry to <config-dir>/revoked.json (leash verify refuses
its logins, leash shell its commands), rewrites <config-dir>/revoked.krl
when CA mode is installed (sshd refuses the certificate or key), then ends
every matching live session: its commands killed and its connection
closed, within a second.

options:
  --session ID       one session
  --identity ID      an identity (as the audit log names it)
  --user USER        a local user
  --serial N         a certificate serial (CA mode)
  --key FILE         a public key (its fingerprint)
  --reason TEXT      why, for the audit log and leash sessions
  --for DURATION     the revocation ends by itself after DURATION (30m, 2h, 7d)
  --list             the entries in force
  --json             with --list: as JSON

exit: 0 every matching session is gone, 1 a process survived or refused.
`,
  unrevoke: `usage: leash unrevoke (--session ID | --identity ID | --user USER | --serial N | --key FILE)

As root: removes the entry from the revocation list (and the KRL).

exit: 0 removed, 1 it was not there.
`,
  watch: `usage: leash watch [--session ID] [--identity ID] [--user USER] [--json] [--output] [--replay]

As root: follows the audit log as it grows (and across rotation), one line
per event, colour on a terminal, every byte of session text escaped, until
interrupted.

options:
  --session ID, --identity ID, --user USER
                     only the events of that session, identity or user
  --json             the matching events unchanged, one JSON line each
  --output           also the recorded output of commands (record_output)
  --replay           start at the beginning of the current log, not its end
`,
  runtime: `usage: leash runtime init [--verify-user USER] [--group GROUP]

As root: creates or repairs <runtime_dir> (default /run/leash): verify/ and
logins/ for the AuthorizedKeysCommandUser, sessions/ and sessions/running/
writable by GROUP with the sticky bit. At boot and before each reaper round.

options:
  --verify-user USER the AuthorizedKeysCommandUser (default: the owner of
                     verify/ already, else leash)
  --group GROUP      the session users' group (default: the audit log's)
`,
  ca: `usage: leash ca init [--ca-dir DIR]
       leash ca show [--ca-dir DIR]

init: a new Ed25519 CA key in DIR: DIR/ca (private, owner-only, never
printed) and DIR/ca.pub, which it prints: install it on a host with
install.sh --ca-key FILE. Refuses to overwrite. show: the public key and its
fingerprint.

options:
  --ca-dir DIR       where the CA key is (default /etc/leash/ca)
`,
  grant: `usage: leash grant --pubkey FILE|- --user LOCALUSER --profile NAME --ttl DURATION
                   [--identity LABEL] [--source-address CIDR[,...]] [--ca-dir DIR]
                   [--leash-path PATH] [--target-config-dir DIR] [--out FILE] [--json]
       leash grant --authorized-keys --pubkey FILE|- --user LOCALUSER --profile NAME --ttl DURATION [...]

Signs an OpenSSH user certificate for the key: principal LOCALUSER only,
valid from a minute ago for DURATION (at most max_grant_ttl, default 24h),
force-command "leash shell --profile NAME --session SID --identity LABEL
--expires T", permit-pty only. Writes FILE-cert.pub (or --out) and appends
the grant to DIR/ledger.jsonl.

options:
  --pubkey FILE|-    the agent's public key (- reads it from stdin)
  --user LOCALUSER   the one local user the certificate is for
  --profile NAME     the profile it is pinned to (must exist in the config dir)
  --ttl DURATION     how long it is valid (30m, 2h, 1d)
  --identity LABEL   who it is for, in the audit log (default: the key's
                     SHA256 fingerprint)
  --source-address CIDR[,...]
                     sshd accepts it only from these addresses
  --ca-dir DIR       the CA key (default /etc/leash/ca)
  --leash-path PATH  the target hosts' leash (default /usr/local/bin/leash;
                     /usr/bin/leash where the Debian package installed it)
  --target-config-dir DIR
                     the target hosts' configuration directory
  --out FILE         where to write the certificate
  --json             print certificate, session, serial, key_id and expires
  --authorized-keys  print an authorized_keys line (expiry-time, restrict,
                     command=) instead, for hosts without the CA

exit: 0 signed, 1 refused (the reason code says why).
`,
  demo: `usage: leash demo [--keep]

Shows leash doing its job on this machine, on 127.0.0.1 only: a throwaway
sshd with its own host key and configuration, a local OpenID provider, a
real login to it, then through the real ssh client: allowed and denied
commands, a pipeline, a login without a grant, the audit log, leash
sessions, a revocation cutting a live ControlMaster connection, and a
CA-mode grant. Touches nothing of the host's sshd, /etc/ssh or /etc/leash:
everything is in a new /var/lib/leash-demo-ID, with three new accounts
leash-demo-ID*, all removed at the end, on failure and on ^C.

Needs root and openssh-server, openssh-client.

options:
  --keep             leave it all running after the last step and print ssh
                     command lines to try by hand; ^C (or SIGTERM) then stops
                     and removes it

exit: 0 every step showed what it says, 1 otherwise, 128+N stopped by signal N.
`,
};

/** The text `leash help COMMAND` and `leash COMMAND --help` print; undefined for an unknown command. */
export function helpFor(command: string | undefined): string | undefined {
  if (command === undefined) return HELP;
  const text = COMMANDS[command];
  return text === undefined ? undefined : text + COMMON;
}
