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
  explain --profile NAME [--json] -- 'COMMAND LINE'
                           show the decision for a command without running it
  policy check [FILE...]   validate profiles (default: the whole config
                           directory, and refresh its compiled cache)
  jwks refresh             refresh every provider's cached JWKS
  doctor                   check this host's installation (sshd, files,
                           keys, audit log, clock); a fix for each failure
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
and exits 126. If --expires is in the past nothing runs.

Exit: the command's status; 126 denied; 124 timed out; 125 output limit;
128+N stopped by signal N; 78 configuration error.
`,
  explain: `usage: leash explain --profile NAME [--json] -- 'COMMAND LINE'

Decides COMMAND LINE exactly as 'leash shell' would, without running it, and
prints allow/deny, the reason code, the binary and the argv that would run.
Exit: 0 if it would run, 126 if denied, 78 if the profile does not load.
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

export function helpFor(command: string | undefined): string | undefined {
  if (command === undefined) return HELP;
  return COMMANDS[command];
}
