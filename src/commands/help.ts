// Help texts, one per command. Kept as plain strings: `leash help` must work
// on a host with nothing but the binary.

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
  help [COMMAND]           this text, or one command's
  --version                print the version

global flags:
  --config-dir DIR         configuration directory (default /etc/leash, or
                           LEASH_CONFIG_DIR outside an SSH session); may stand
                           before or after the command

exit status:
  0    success (verify: key accepted; shell: the command exited 0)
  1    verify: key refused (nothing was printed)
  64   usage error
  70   internal error (nothing was run or accepted)
  78   configuration error (missing, unsafe or invalid file)
  124  shell: the command timed out and its process group was killed
  125  shell: the command wrote more than max_output and was killed
  126  shell / explain: denied by policy
  other  shell: the command's (a pipeline's: first failing stage's) exit status,
         128+N if it died of signal N; 128+N also if leash was stopped by signal N
`;

const COMMANDS: Record<string, string> = {
  shell: `usage: leash shell [--profile NAME] [--identity ID] [--session ID] [--expires UNIX_SECONDS]

The forced command sshd runs for a leash session. Reads the client's command
from SSH_ORIGINAL_COMMAND, decides it against <config-dir>/policies/NAME.yaml
(default profile: diagnostic), and runs the pinned binary directly (no shell)
under a guard in a process group of its own, with a fixed environment, a
timeout and an output limit; leash relays its output. Every decision is
appended to the audit log.

An empty SSH_ORIGINAL_COMMAND (interactive login) lists the allowed commands
and exits 126. If --expires is in the past nothing runs. The built-in command
'leash-describe' (or 'leash-describe --mcp') prints what the profile allows,
as 'leash describe --json' (--mcp) does.

Exit: the command's status; 126 denied; 124 timed out; 125 output limit;
128+N stopped by signal N; 78 configuration error.
`,
  explain: `usage: leash explain [--profile NAME] [--json] -- 'COMMAND LINE'

Decides COMMAND LINE exactly as 'leash shell' would, without running it, and
prints allow/deny, the reason code, every stage's binary and the argv that
would run (a pipeline has one stage per | part), or the denial and a hint.
Without --profile: leash.yaml's default_profile, else diagnostic, as for
'leash shell'. --json prints one object (timeout_ms, as in the audit log).
Exit: 0 if it would run, 126 if denied, 78 if the profile does not load.
`,
  describe: `usage: leash describe [--profile NAME] [--json | --mcp]

What a profile allows: its commands, subcommands, options with their value
types, operand slots, the path rules in force, the timeout and output caps.
--json prints it as data for programs (inside a session the built-in command
'leash-describe' prints the same); --mcp prints Model Context Protocol tool
definitions, one tool per command available on this host. Without either, a
short listing. Without --profile: the default profile, as for 'leash shell'.
Exit: 0, or 78 if the profile does not load.
`,
  policy: `usage: leash policy check [FILE...]

Validates profile files (default: <config-dir>/policies/*.yaml). Errors name
file:line:column and what is wrong; unsafe binaries and unsafe file ownership
are reported. Exit 0 when every file is valid, 78 otherwise.

Without FILE it also validates leash.yaml and, run as root with everything
valid, refreshes the compiled cache (<config-dir>/.compiled) that lets logins
skip YAML parsing. Run it after every change to the configuration.
`,
  verify: `usage: leash verify USER KEY_BASE64 KEY_TYPE
       leash verify --explain --user USER --cert FILE

sshd's AuthorizedKeysCommand (pass %u %k %t). Accepts an OPKSSH certificate
whose PK Token verifies against a configured provider and whose identity is
granted USER in <config-dir>/leash.yaml; prints one authorized_keys line
that pins the session (cert-authority, restrict, expiry-time, command=leash
shell ...). On any failure prints nothing and exits 1.

--explain prints every check with pass/fail for a -cert.pub file.
`,
  jwks: `usage: leash jwks refresh

Fetches every configured provider's JWKS (discovery, then jwks_uri) into the
on-disk cache. Meant for a systemd timer or cron; logins never wait on it.
`,
  doctor: `usage: leash doctor [--config-dir DIR]

Checks a live host, as root: leash's binary and every directory above it are
safe for sshd; sshd -T shows leash's AuthorizedKeysCommand, its user and
ExposeAuthInfo; leash.yaml and every profile load and are safely owned; each
profile's pinned binaries exist and are safe; each provider's cached keys are
fresh or the provider is reachable; the audit log is append-only and every
writer (the AuthorizedKeysCommandUser, each granted local user) can append;
the clock is plausible. Prints [ok]/[warn]/[FAIL] per check, with a fix.
Exit 0 if nothing failed (warnings allowed), 1 otherwise.
`,
};

Object.assign(COMMANDS, {
  sessions: `usage: leash sessions [--json] [--all]
       leash sessions --reap [--json]

As root: the sessions on this host from the session registry, each checked
against /proc: session id, identity, local user, profile, client address,
started, expires, state (active: a command runs; idle: the connection is
open), commands run and denied, and the running commands with their pids.
--all also lists ended, expired and revoked sessions (kept 24 h).
--reap: one reaper round (cron or a systemd timer runs it every minute):
ends expired sessions, sessions of revoked identities, and audits commands
whose leash was killed.
`,
  revoke: `usage: leash revoke (--session ID | --identity ID | --user USER | --serial N | --key FILE)
                    [--reason TEXT] [--for DURATION]
       leash revoke --list [--json]

As root: adds the entry to <config-dir>/revoked.json (leash verify refuses
its logins, leash shell its commands), rewrites <config-dir>/revoked.krl
when CA mode is installed (sshd refuses the certificate or key), then ends
every matching live session: its commands killed and its connection
closed, within a second. --for ends the revocation by itself.
Exit 0 when every matching session is gone, 1 if a process survived.
`,
  unrevoke: `usage: leash unrevoke (--session ID | --identity ID | --user USER | --serial N | --key FILE)

As root: removes the entry from the revocation list (and the KRL).
`,
  watch: `usage: leash watch [--session ID] [--identity ID] [--user USER] [--json] [--output] [--replay]

As root: follows the audit log as it grows (and across rotation), one line
per event, colour on a terminal, every byte of session text escaped.
--json prints the matching events unchanged; --output also shows the
recorded output of commands (record_output) under them; --replay starts
from the beginning of the current log instead of its end.
`,
  runtime: `usage: leash runtime init [--verify-user USER] [--group GROUP]

As root: creates or repairs <runtime_dir> (default /run/leash): verify/ and
logins/ for the AuthorizedKeysCommandUser, sessions/ and sessions/running/
writable by GROUP (default: the audit log's group) with the sticky bit.
`,
  ca: `usage: leash ca init [--ca-dir DIR]
       leash ca show [--ca-dir DIR]

init: a new Ed25519 CA key in DIR (default /etc/leash/ca): DIR/ca (private,
owner-only, never printed) and DIR/ca.pub, which it prints: install it on a
host with install.sh --ca-key FILE. Refuses to overwrite. show: the public
key and its fingerprint.
`,
  grant: `usage: leash grant --pubkey FILE|- --user LOCALUSER --profile NAME --ttl DURATION
                   [--identity LABEL] [--source-address CIDR[,...]] [--ca-dir DIR]
                   [--leash-path PATH] [--target-config-dir DIR] [--out FILE] [--json]
       leash grant --authorized-keys --pubkey FILE|- --user LOCALUSER --profile NAME --ttl DURATION [...]

Signs an OpenSSH user certificate for the key: principal LOCALUSER only,
valid from a minute ago for TTL (at most max_grant_ttl, default 24h),
force-command "leash shell --profile NAME --session SID --identity LABEL
--expires T", permit-pty only. Writes FILE-cert.pub (or --out) and appends
the grant to DIR/ledger.jsonl. --authorized-keys prints an authorized_keys
line (expiry-time, restrict, command=) instead, for hosts without the CA.
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

--keep leaves it all running after the last step and prints ssh command
lines to try by hand; ^C (or SIGTERM) then stops and removes it.

Needs root and openssh-server, openssh-client. Exit 0 when every step
showed what it says, 1 otherwise, 128+N when stopped by signal N.
`,
});

export function helpFor(command: string | undefined): string | undefined {
  if (command === undefined) return HELP;
  return COMMANDS[command];
}
