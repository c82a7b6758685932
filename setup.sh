#!/usr/bin/env bash
# setup.sh: from a fresh Debian 12 machine to a finished `leash demo`, as root.
#
#   ./setup.sh             the Debian packages, a suitable Node, npm ci, npm run build,
#                          then dist/leash demo
#   ./setup.sh --no-demo   all of it but the demo (what CI runs before npm test)
#   ./setup.sh --dry-run   say what it would do, and change nothing
#
# It installs only what is missing and says what it does at each step, so it
# can be run again at any time. Reachable are only the Debian archive and the
# npm registry: Node comes from npm's `node` package at the version that
# package.json's devDependencies pin (the same runtime the build puts into
# dist/leash), installed under /usr/local, which comes first in root's PATH.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

# What leash demo needs (sshd, ssh and ssh-keygen; useradd) and what `npm test`
# and .ci/run use besides (ps, ss, script, unshare, chattr, file, shellcheck,
# logrotate, groff and man-db for the manual pages, dpkg-dev and lintian for
# the package tests, bash-completion for its loader, hyperfine for npm run bench).
# ca-certificates: npm's TLS. The one list: .ci/run installs through here.
PACKAGES=(openssh-server openssh-client passwd ca-certificates procps iproute2 util-linux bsdutils file shellcheck e2fsprogs logrotate groff-base man-db dpkg-dev lintian bash-completion hyperfine)
PREFIX=/usr/local

DEMO=1 DRY=0
for arg in "$@"; do
  case $arg in
    --no-demo) DEMO=0 ;;
    --dry-run) DRY=1 ;;
    -h | --help) sed -n '2,13s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option $arg (try --help)" >&2; exit 64 ;;
  esac
done

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }
# do_ CMD...: runs it, or under --dry-run only shows it.
do_() {
  if [[ $DRY == 1 ]]; then printf 'setup:   would run: %s\n' "$*"; else "$@"; fi
}

[[ -f package.json && -f package-lock.json ]] || die "run me from a leash checkout (no package.json here)"
if [[ $DRY == 0 && $(id -u) != 0 ]]; then die "run me as root (sudo ./setup.sh): I install Debian packages and leash demo makes local accounts and starts sshd"; fi
if ! grep -qs '^ID=debian' /etc/os-release || ! grep -qs '^VERSION_ID="12"' /etc/os-release; then
  say "warning: this is not Debian 12 (what I am written and tested for); carrying on"
fi

# Some tests run dist/leash as other accounts (the AuthorizedKeysCommandUser, a
# session user): they need to reach it, which a checkout under /root (0700) forbids.
d=$(pwd -P)
while :; do
  if (( (0$(stat -c %a "$d") & 01) == 0 )); then
    say "warning: $d is not searchable by other accounts: leash demo copes (it copies dist/leash), but tests that run dist/leash as another user will fail; clone into a directory they can reach (e.g. /opt/leash)"
    break
  fi
  [[ $d == / ]] && break
  d=$(dirname "$d")
done

# ---------------------------------------------------------------- versions from package.json
# engines.node as ">=X.Y.Z", and the runtime devDependencies pins ("node": "X.Y.Z").
json_block() { sed -n "/\"$1\": *{/,/}/p" package.json; }
NODE_MIN=$(json_block engines | sed -n 's/.*"node": *">= *\([0-9][0-9.]*\)".*/\1/p')
NODE_PIN=$(json_block devDependencies | sed -n 's/.*"node": *"\([0-9][0-9.]*\)".*/\1/p')
[[ -n $NODE_MIN ]] || die "package.json: engines.node is not of the form \">=X.Y.Z\""
[[ -n $NODE_PIN ]] || die "package.json: devDependencies has no exact \"node\" version"
# version_ge A B: A >= B (dotted numbers).
version_ge() { [[ $(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1) == "$2" ]]; }

# ---------------------------------------------------------------- 1. Debian packages
installed() { [[ $(dpkg-query -W -f '${db:Status-Status}' "$1" 2>/dev/null) == installed ]]; }
missing=()
for p in "${PACKAGES[@]}"; do installed "$p" || missing+=("$p"); done
# Node and npm: none at all means Debian's (Node 18, npm 9), only to fetch the pinned Node below.
if ! command -v npm >/dev/null 2>&1; then
  installed nodejs || missing+=(nodejs)
  missing+=(npm)
fi
if ((${#missing[@]} == 0)); then
  say "Debian packages: all there (${PACKAGES[*]})"
else
  say "Debian packages: installing ${missing[*]}"
  sshd_was_installed=0
  installed openssh-server && sshd_was_installed=1
  # The host's sshd stays as it was: a package script must not start one (policy-rc.d
  # exit 101 forbids it; ours is removed again afterwards), and where systemd runs, a
  # newly installed ssh service is not left enabled either. leash demo runs its own.
  made_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    if [[ $DRY == 1 ]]; then say "  would write /usr/sbin/policy-rc.d (exit 101: no service starts) for the install"
    else printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d && made_policy=1; fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  status=0
  { do_ apt-get update && do_ apt-get install -y --no-install-recommends "${missing[@]}"; } </dev/null || status=$?
  if [[ $made_policy == 1 ]]; then rm -f /usr/sbin/policy-rc.d; fi
  ((status == 0)) || die "apt-get failed (exit $status)"
  if [[ $sshd_was_installed == 0 && $DRY == 0 && $(cat /proc/1/comm 2>/dev/null) == systemd ]]; then
    systemctl disable --quiet ssh.service ssh.socket 2>/dev/null || true
    say "  openssh-server is installed for its sshd program only: its service is not running and not enabled (systemctl enable --now ssh to use it)"
  fi
fi

# ---------------------------------------------------------------- 2. Node
node_version() { node --version 2>/dev/null | sed 's/^v//'; }
current=$(node_version || true)
if [[ -n $current ]] && version_ge "$current" "$NODE_MIN"; then
  say "Node: v$current ($(command -v node)) satisfies engines.node >=$NODE_MIN"
else
  if [[ -n $current ]]; then found="v$current ($(command -v node)) is older than engines.node >=$NODE_MIN"; else found="none on PATH"; fi
  say "Node: $found: installing node@$NODE_PIN (package.json's devDependencies) from the npm registry into $PREFIX"
  do_ npm install --global --prefix "$PREFIX" --no-audit --no-fund --loglevel=error "node@$NODE_PIN"
  hash -r
  if [[ $DRY == 0 ]]; then
    current=$(node_version || true)
    version_ge "${current:-0}" "$NODE_MIN" || die "node is still v${current:-none} on PATH ($PATH): put $PREFIX/bin first"
    say "  node is now v$current ($(command -v node))"
  fi
fi
say "npm: $(npm --version 2>/dev/null || echo none) ($(command -v npm || echo 'not on PATH'))"

# ---------------------------------------------------------------- 3. npm ci
if [[ -L node_modules ]]; then
  say "npm ci: skipped, node_modules is a symbolic link (shared with another checkout: not replacing it)"
elif [[ -f node_modules/.package-lock.json && node_modules/.package-lock.json -nt package-lock.json && node_modules/.package-lock.json -nt package.json ]]; then
  say "npm ci: skipped, node_modules was installed after package.json and package-lock.json last changed"
else
  say "npm ci: installing the locked dependencies"
  do_ npm ci --no-audit --no-fund </dev/null
fi

# ---------------------------------------------------------------- 4. build
say "npm run build: dist/leash"
do_ npm run build </dev/null

# ---------------------------------------------------------------- 5. the demo
if [[ $DEMO == 1 ]]; then
  say "dist/leash demo"
  do_ dist/leash demo </dev/null
  say "done: the tests are \`npm test\`"
else
  say "done (--no-demo)"
fi
