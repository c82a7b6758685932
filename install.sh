#!/bin/sh
# install.sh — puts leash on this host, or takes it off again (docs/install.md).
#
#   sudo ./install.sh [--binary PATH] [--prefix /usr/local] [--config-dir /etc/leash]
#                     [--user leash] [--audit-group leash-audit] [--sshd PATH] [--ca-key FILE]
#                     [--root DIR] [--no-reload] [--no-sshd] [--take-over] [--dry-run]
#   sudo ./install.sh --uninstall [--purge] [--root DIR] [--no-reload] [--dry-run]
#
# Never touches AuthorizedKeysFile, passwords or keys: whoever could log in
# before can log in after. sshd's configuration is changed only after
# `sshd -t` accepts it and `sshd -T` shows leash's settings in effect;
# otherwise every file is put back byte for byte and the script exits 1.
# sshd is reloaded (never restarted), and only when its configuration changed.
#
# The Debian package ships this same script as /usr/sbin/leash-setup (leash-setup(8)),
# where PACKAGED=1: the package's files (binary, configuration defaults, units,
# cron, logrotate, manual pages) are dpkg's, and the script does the rest —
# accounts, cache, logs, runtime directory, and sshd, which it enables
# (leash-setup) and disables (leash-setup --uninstall).
set -eu
umask 022
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
# packaging/build.mjs sets 1 in the copy it ships as /usr/sbin/leash-setup; nothing else differs.
PACKAGED=0
BINARY=$here/dist/leash
PREFIX=/usr/local
[ "$PACKAGED" = 0 ] || PREFIX=/usr
SELF=install.sh
[ "$PACKAGED" = 0 ] || SELF=leash-setup
CONFIG_DIR=/etc/leash
LEASH_USER=leash
AUDIT_GROUP=leash-audit
SSHD=
ROOT=
RELOAD=1
DRY=0
MODE=install
PURGE=0
TAKEOVER=0
CA_KEY=
SSHD_PART=1

CACHE_DIR=/var/cache/leash
LOG_DIR=/var/log/leash
AUDIT_LOG=$LOG_DIR/audit.jsonl
RECORDINGS_LOG=$LOG_DIR/recordings.jsonl
CRON_FILE=/etc/cron.d/leash
STATE_DIR=/var/lib/leash
STATE=$STATE_DIR/install.state
SSH_DIR=/etc/ssh
SSHD_CONFIG=$SSH_DIR/sshd_config
DROPIN=$SSH_DIR/sshd_config.d/10-leash.conf
LOGROTATE=/etc/logrotate.d/leash
UNIT_DIR=/etc/systemd/system
BEGIN_MARK='# BEGIN leash (managed by leash install.sh; remove with: install.sh --uninstall)'
END_MARK='# END leash'
# Deletes the marked block; sed keeps every other byte (even a missing final newline).
without_block() { sed '/^# BEGIN leash (managed by leash install\.sh/,/^# END leash$/d' "$1"; }
DISABLED='#leash-disabled# '

usage() {
  if [ "$PACKAGED" = 1 ]; then
    printf 'usage: leash-setup [--user leash] [--audit-group leash-audit] [--sshd PATH]\n'
    printf '                   [--ca-key FILE] [--no-reload] [--no-sshd] [--take-over] [--dry-run]\n'
    printf '       leash-setup --uninstall [--no-reload] [--dry-run]\n(see leash-setup(8))\n'
  else
    sed -n '4,7s/^# \{0,1\}//p' "$0"
  fi
  exit "${1:-64}"
}
die() { printf '%s: %s\n' "$SELF" "$*" >&2; exit 1; }
say() { printf '%s\n' "$*"; }

need_arg() { [ $# -ge 2 ] || die "$1 needs a value"; }
while [ $# -gt 0 ]; do
  case $1 in
    --binary) need_arg "$@"; BINARY=$2; shift 2 ;;
    --prefix) need_arg "$@"; PREFIX=$2; shift 2 ;;
    --config-dir) need_arg "$@"; CONFIG_DIR=$2; shift 2 ;;
    --user) need_arg "$@"; LEASH_USER=$2; shift 2 ;;
    --audit-group) need_arg "$@"; AUDIT_GROUP=$2; shift 2 ;;
    --sshd) need_arg "$@"; SSHD=$2; shift 2 ;;
    --root) need_arg "$@"; ROOT=$2; shift 2 ;;
    --no-reload) RELOAD=0; shift ;;
    --no-sshd) SSHD_PART=0; shift ;;
    --take-over) TAKEOVER=1; shift ;;
    --ca-key) need_arg "$@"; CA_KEY=$2; shift 2 ;;
    --dry-run) DRY=1; shift ;;
    --uninstall) MODE=uninstall; shift ;;
    --purge) PURGE=1; shift ;;
    -h|--help) usage 0 ;;
    *) printf '%s: unknown argument: %s\n' "$SELF" "$1" >&2; usage 64 ;;
  esac
done
[ "$PURGE" = 0 ] || [ "$MODE" = uninstall ] || die "--purge only goes with --uninstall"
if [ "$PACKAGED" = 1 ]; then
  if [ "$PREFIX" != /usr ] || [ "$BINARY" != "$here/dist/leash" ] || [ "$CONFIG_DIR" != /etc/leash ]; then
    die "--prefix, --binary and --config-dir do not apply: the package installed /usr/bin/leash and /etc/leash"
  fi
  [ "$PURGE" = 0 ] || die "--purge: the package's data goes with it (dpkg --purge leash)"
fi

# Every path and name ends up in sshd_config or a command line: plain characters only.
for p in "$PREFIX" "$CONFIG_DIR"; do
  case $p in /*) ;; *) die "$p: must be an absolute path" ;; esac
  case $p in *[!A-Za-z0-9/._-]*|*/../*|*/..|*/./*|*//*) die "$p: only A-Z a-z 0-9 / . _ - and no . or .. components" ;; esac
done
for n in "$LEASH_USER" "$AUDIT_GROUP"; do
  printf '%s' "$n" | grep -Eq '^[a-z_][a-z0-9_-]{0,31}$' || die "$n: not a valid user or group name"
done
if [ -n "$ROOT" ]; then
  case $ROOT in /*) ;; *) die "--root must be an absolute path" ;; esac
  [ -d "$ROOT" ] || die "--root $ROOT: no such directory"
  ROOT=$(cd "$ROOT" && pwd -P)
  [ "$ROOT" != / ] || ROOT=
fi
PREFIX=${PREFIX%/}; CONFIG_DIR=${CONFIG_DIR%/}
BIN=$PREFIX/bin/leash

# ------------------------------------------------------------------ helpers

CHANGES=0
TMP=$(mktemp -d)
# 1 from the first change to sshd's configuration until sshd -t / sshd -T have
# accepted it (or it was rolled back). Whatever ends the script in between — a
# signal, a failing command under set -e, an exit — on_exit puts every sshd
# file back byte for byte: sshd never keeps a configuration it did not validate.
SSHD_PENDING=0
RESTORE_FAILED=0
on_exit() {
  status=$?
  trap '' INT TERM HUP
  set +e
  if [ "$SSHD_PENDING" = 1 ]; then
    printf '%s: stopped before sshd accepted its new configuration (exit %s); putting it back:\n' "$SELF" "$status" >&2
    rollback >&2
  fi
  # Stopped part-way: record what was done so far, so that --uninstall can remove it.
  if [ "$status" != 0 ] && [ -f "$TMP/state.orig" ]; then finish_state; fi
  if [ "$RESTORE_FAILED" = 1 ]; then printf '%s: the saved copies are kept in %s\n' "$SELF" "$TMP" >&2; else rm -rf "$TMP"; fi
  exit "$status"
}
trap on_exit EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# act LABEL TEXT: one line per action; run CMD...: the command itself (printed, not run, with --dry-run).
act() { CHANGES=$((CHANGES + 1)); printf '  %-8s %s\n' "$1" "$2"; }
ok() { printf '  %-8s %s\n' ok "$1"; }
warn() { printf '  %-8s %s\n' WARNING "$*"; WARNINGS=$((WARNINGS + 1)); }
WARNINGS=0
run() {
  if [ "$DRY" = 1 ]; then printf '           + %s\n' "$*"; else "$@"; fi
}
r() { printf '%s%s' "$ROOT" "$1"; }  # a host path inside --root
sha() { sha256sum "$1" | cut -d' ' -f1; }
owner_mode() { stat -c '%u:%g %a' "$1"; }
have() { command -v "$1" >/dev/null 2>&1; }
# Accounts are always the host's (with --root they are only looked up, for file owners).
exists_user() { getent passwd "$1" >/dev/null; }
exists_group() { getent group "$1" >/dev/null; }

# The install state: what this script added, so --uninstall removes only that.
#   created-user NAME | created-group NAME | created-dir PATH | installed PATH | disabled FILE |
#   file SHA256 PATH | setting KEY VALUE
state_get() { [ -f "$TMP/state" ] && awk -v k="$1" -v p="$2" '$1 == k && $NF == p { print $2 }' "$TMP/state" | tail -n 1; }
state_has() { [ -f "$TMP/state" ] && grep -qxF "$1" "$TMP/state"; }
state_add() { state_has "$1" || printf '%s\n' "$1" >>"$TMP/state"; }
state_file() {  # state_file PATH SHA: remember the default we installed at PATH
  [ "$(state_get file "$1")" != "$2" ] || return 0
  [ -f "$TMP/state" ] && { awk -v p="$1" '!($1 == "file" && $3 == p)' "$TMP/state" >"$TMP/state.x"; mv "$TMP/state.x" "$TMP/state"; }
  printf 'file %s %s\n' "$2" "$1" >>"$TMP/state"
}
state_setting() { [ -f "$TMP/state" ] && awk -v k="$1" '$1 == "setting" && $2 == k { print $3 }' "$TMP/state" | tail -n 1; }

# The directory chain sshd checks for an AuthorizedKeysCommand (and leash for
# its configuration): every directory root-owned, not group/world-writable.
check_chain() {  # check_chain DIR WHAT
  d=$(cd "$1" && pwd -P)
  stop=${ROOT:-/}
  while :; do
    om=$(owner_mode "$d")
    uid=${om%%:*}; mode=${om##* }
    if [ "$uid" != 0 ] || [ $((0$mode & 022)) != 0 ]; then
      die "$d (owner uid $uid, mode $mode) is unsafe for $2: sshd refuses an AuthorizedKeysCommand unless every directory on its path is owned by root and not group- or world-writable. Fix: chown root:root '$d' && chmod go-w '$d' (or choose another --prefix)."
    fi
    [ "$d" = "$stop" ] || [ "$d" = / ] && break
    d=$(dirname "$d")
  done
}

# put_ours SRC DEST MODE OWNER:GROUP — a file only leash writes: replaced whenever it differs.
put_ours() {
  dst=$(r "$2")
  if [ -f "$dst" ] && cmp -s "$1" "$dst" && [ "$(owner_mode "$dst")" = "$(id_of "$4") ${3#0}" ]; then ok "$2"; return; fi
  act install "$2 ($4 $3)"
  run install -o "${4%%:*}" -g "${4##*:}" -m "$3" "$1" "$dst.leash-new"
  run mv -f "$dst.leash-new" "$dst"   # rename: sshd never sees half a file
}
id_of() { printf '%s:%s' "$(uid_of "${1%%:*}")" "$(gid_of "${1##*:}")"; }
uid_of() { if [ "$1" = root ]; then echo 0; else id -u "$1" 2>/dev/null || echo "?"; fi; }
gid_of() { if [ "$1" = root ]; then echo 0; else getent group "$1" | cut -d: -f3; fi; }

# put_conf SRC DEST — a default the operator may edit. Installed if absent;
# updated only if it still is exactly the default we installed last time;
# otherwise the new default goes beside it as DEST.new and is reported.
put_conf() {
  dst=$(r "$2")
  new_sha=$(sha "$1")
  if [ ! -e "$dst" ]; then
    act install "$2"
    run install -o root -g root -m 0644 "$1" "$dst"
  elif cmp -s "$1" "$dst"; then
    ok "$2"
  elif [ "$(state_get file "$2")" = "$new_sha" ]; then
    ok "$2 (edited by you; the default has not changed since)"
    return
  elif [ "$(state_get file "$2")" = "$(sha "$dst")" ]; then
    act update "$2 (you had not changed it; now the new default)"
    run install -o root -g root -m 0644 "$1" "$dst.leash-new"
    run mv -f "$dst.leash-new" "$dst"
  else
    if [ -f "$dst.new" ] && cmp -s "$1" "$dst.new"; then
      ok "$2 (yours is kept; the new default is still in $2.new)"
    else
      act new "$2.new (yours differs from the new default and is kept: compare and merge, then delete $2.new)"
      run install -o root -g root -m 0644 "$1" "$dst.new"
    fi
    NEWFILES="${NEWFILES:-}  $2.new\n"
    return
  fi
  state_file "$2" "$new_sha"
}

ensure_dir() {  # ensure_dir PATH OWNER:GROUP MODE
  dst=$(r "$1")
  if [ -d "$dst" ] && [ ! -L "$dst" ]; then
    [ "$(owner_mode "$dst")" = "$(id_of "$2") ${3#0}" ] && { ok "$1/"; return; }
    act fix "$1/ -> $2 $3"
    run chown "$2" "$dst"
    run chmod "$3" "$dst"
  else
    if [ -e "$dst" ] || [ -L "$dst" ]; then die "$dst exists and is not a directory"; fi
    act mkdir "$1/ ($2 $3)"
    run install -d -o "${2%%:*}" -g "${2##*:}" -m "$3" "$dst"
  fi
}

# leash_template FILE: a shipped unit or cron file with this install's path, config dir, user and group.
UNITS="leash-jwks-refresh.service leash-jwks-refresh.timer leash-runtime.service leash-reap.service leash-reap.timer"
leash_template() {
  sed -e "s|/usr/local/bin/leash |$BIN --config-dir $CONFIG_DIR |g" -e "s|/usr/local/bin/leash$|$BIN --config-dir $CONFIG_DIR|" \
    -e "s/^User=leash$/User=$LEASH_USER/" -e "s/^Group=leash$/Group=$LEASH_USER/" \
    -e "s/^\([^#@][^ ]* [^ ]* [^ ]* [^ ]* [^ ]*\) leash /\1 $LEASH_USER /" \
    -e "s/--verify-user leash /--verify-user $LEASH_USER /g" -e "s/--group leash-audit/--group $AUDIT_GROUP/g" "$1" |
    if [ "$CONFIG_DIR" = /etc/leash ]; then sed "s| --config-dir /etc/leash||g"; else cat; fi
}

# ------------------------------------------------------------------ preflight

missing=
want_tool() {  # want_tool PROGRAM "debian alpine rhel packages"
  have "$1" || missing="$missing  $1 (Debian/Ubuntu: $2; Alpine: $3; RHEL/Fedora: $4)\n"
}
[ -n "$SSHD" ] || SSHD=$(command -v sshd || echo /usr/sbin/sshd)
if [ "$MODE" = install ] && [ "$SSHD_PART" = 1 ] && [ ! -x "$SSHD" ]; then
  missing="$missing  sshd (Debian/Ubuntu: openssh-server; Alpine: openssh-server; RHEL/Fedora: openssh-server)\n"
fi
[ "$MODE" = uninstall ] || want_tool ssh-keygen openssh-client openssh-keygen openssh
have useradd || have adduser || missing="$missing  useradd or adduser (Debian/Ubuntu: passwd; Alpine: shadow or busybox; RHEL/Fedora: shadow-utils)\n"
for t in install stat sha256sum; do want_tool "$t" coreutils coreutils coreutils; done
want_tool cmp diffutils diffutils diffutils
want_tool awk mawk gawk gawk
if [ -n "$missing" ]; then
  printf '%s: required tools are missing; install them first:\n%b' "$SELF" "$missing" >&2
  exit 1
fi
if [ "$DRY" = 0 ] && [ "$(id -u)" != 0 ]; then die "run as root (sudo $0 ...), or add --dry-run"; fi

[ -f "$(r "$STATE")" ] && cp "$(r "$STATE")" "$TMP/state"
touch "$TMP/state"
cp "$TMP/state" "$TMP/state.orig"

# sshd_config handling is the same for install and uninstall.
SSHD_TOUCHED=
backup() {  # backup HOSTFILE: remember a file's exact bytes (or its absence) before the first change
  case " $SSHD_TOUCHED " in *" $1 "*) return ;; esac
  b=$TMP/backup$(printf '%s' "$1" | tr / _)
  if [ -e "$(r "$1")" ]; then cp -p "$(r "$1")" "$b"; else : >"$b.absent"; fi
  # Only a complete backup is ever restored; from here on a rollback is due until validation.
  SSHD_TOUCHED="$SSHD_TOUCHED $1"
  [ "$DRY" = 1 ] || SSHD_PENDING=1
}
rollback() {  # a file that cannot be restored is reported, and its saved copy kept (RESTORE_FAILED)
  for f in $SSHD_TOUCHED; do
    b=$TMP/backup$(printf '%s' "$f" | tr / _)
    if { [ -e "$b.absent" ] && rm -f "$(r "$f")"; } || { [ ! -e "$b.absent" ] && cp -p "$b" "$(r "$f")"; }; then
      say "  restored $f"
    else
      say "  FAILED   to restore $f (its saved copy: $b)"; RESTORE_FAILED=1
    fi
  done
  SSHD_PENDING=0
}

# Include patterns in sshd_config that stand before the first Match (so apply to every connection).
includes() {
  awk 'tolower($1) == "match" { exit } tolower($1) == "include" { for (i = 2; i <= NF; i++) print $i }' "$(r "$SSHD_CONFIG")"
}
uses_dropin_dir() {
  includes | grep -qxE '(/etc/ssh/)?sshd_config\.d/\*\.conf'
}
# Every file sshd reads: sshd_config and whatever its Include lines name (one level).
sshd_files() {
  printf '%s\n' "$SSHD_CONFIG"
  awk 'tolower($1) == "include" { for (i = 2; i <= NF; i++) print $i }' "$(r "$SSHD_CONFIG")" | while read -r pat; do
    case $pat in /*) ;; *) pat=$SSH_DIR/$pat ;; esac
    # Unquoted on purpose: the pattern is a glob, as sshd expands it (file names here have no spaces).
    for f in $(r "$pat"); do if [ -f "$f" ]; then printf '%s\n' "${f#"$ROOT"}"; fi; done
  done
}
# AuthorizedKeysCommand[User] lines that are not leash's: "file:line:text".
foreign_akc() {
  for f in $(sshd_files); do
    [ "$f" != "$DROPIN" ] || continue
    awk -v f="$f" -v b="$BEGIN_MARK" -v e="$END_MARK" '
      $0 == b { inblock = 1; next } $0 == e { inblock = 0; next } inblock { next }
      tolower($1) ~ /^authorizedkeyscommand(user)?$/ && !(tolower($1) == "authorizedkeyscommand" && tolower($2) == "none") { print f ":" NR ": " $0 }' "$(r "$f")"
  done
}

sshd_validate() {  # after a change: sshd -t, then sshd -T must show what we expect ($1 = install|uninstall)
  if [ -n "$ROOT" ]; then say "  skip     sshd -t / sshd -T (--root: not this host's sshd)"; return 0; fi
  # openssh-server removed before leash: no sshd reads these files any more.
  if [ "$1" = uninstall ] && [ ! -x "$SSHD" ]; then say "  skip     sshd -t ($SSHD is not installed)"; return 0; fi
  if [ "$DRY" = 1 ]; then printf '           + %s -t\n' "$SSHD"; return 0; fi
  if ! out=$("$SSHD" -t 2>&1); then
    say "  FAILED   sshd -t:"; printf '%s\n' "$out" | sed 's/^/           /'
    return 1
  fi
  say "  check    sshd -t: ok"
  [ "$1" = install ] || return 0
  eff=$("$SSHD" -T 2>/dev/null | awk -v ca="$CA_MODE" '$1 == "authorizedkeyscommand" || $1 == "authorizedkeyscommanduser" || $1 == "exposeauthinfo" || ca == 1 && ($1 == "trustedusercakeys" || $1 == "revokedkeys")') || :
  want=$(printf 'authorizedkeyscommand %s\nauthorizedkeyscommanduser %s\nexposeauthinfo yes' "$AKC" "$LEASH_USER")
  if [ "$CA_MODE" = 1 ]; then want=$(printf '%s\ntrustedusercakeys %s\nrevokedkeys %s' "$want" "$CA_PUB" "$KRL"); fi
  got=$(printf '%s\n' "$eff" | sort); want=$(printf '%s\n' "$want" | sort)
  if [ "$got" != "$want" ]; then
    say "  FAILED   sshd -T does not show leash's settings in effect; it shows:"
    printf '%s\n' "$eff" | sed 's/^/           /'
    say "           (an earlier Include file or a Match block left open by one may win; see sshd_config(5): the first value obtained is used)"
    return 1
  fi
  say "  check    sshd -T: $AKC (as $LEASH_USER), exposeauthinfo yes$( [ "$CA_MODE" = 0 ] || echo ", trustedusercakeys $CA_PUB, revokedkeys $KRL")"
}

sshd_reload() {
  if [ -n "$ROOT" ] || [ "$RELOAD" = 0 ]; then
    say "  skip     reloading sshd ($( [ -n "$ROOT" ] && echo --root || echo --no-reload )): it reads the new configuration when it is next reloaded or started"; return
  fi
  if [ -d /run/systemd/system ] && have systemctl; then
    for u in ssh.service sshd.service; do
      if systemctl is-active --quiet "$u" 2>/dev/null; then act reload "sshd (systemctl reload $u)"; run systemctl reload "$u"; return; fi
    done
  fi
  if have rc-service && rc-service sshd status >/dev/null 2>&1; then act reload "sshd (rc-service sshd reload)"; run rc-service sshd reload; return; fi
  pidfile=$("$SSHD" -T 2>/dev/null | awk '$1 == "pidfile" { print $2 }') || :
  for pf in ${pidfile:-} /run/sshd.pid /var/run/sshd.pid; do
    [ -r "$pf" ] || continue
    pid=$(cat "$pf")
    case $pid in ''|*[!0-9]*) continue ;; esac
    if kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = sshd ]; then
      act reload "sshd (kill -HUP $pid from $pf)"; run kill -HUP "$pid"; return
    fi
  done
  say "  ok       no running sshd found: nothing to reload (it reads the new configuration when it starts)"
}

finish_state() {
  if cmp -s "$TMP/state" "$TMP/state.orig"; then return; fi
  if [ ! -s "$TMP/state" ]; then
    [ ! -e "$(r "$STATE")" ] || run rm -f "$(r "$STATE")"
  else
    [ -d "$(r "$STATE_DIR")" ] || run install -d -o root -g root -m 0755 "$(r "$STATE_DIR")"
    run install -o root -g root -m 0644 "$TMP/state" "$(r "$STATE")"
  fi
}

summary() {
  if [ "$CHANGES" = 0 ]; then say "nothing changed: $1"
  elif [ "$DRY" = 1 ]; then say "dry run: $CHANGES change(s) would be made; nothing was changed."
  else say "done: $CHANGES change(s)."; fi
  [ "$WARNINGS" = 0 ] || say "$WARNINGS warning(s) above."
}

# ------------------------------------------------------------------ uninstall

if [ "$MODE" = uninstall ]; then
  # The values used at install time win over the defaults.
  for k in prefix config-dir user audit-group; do
    v=$(state_setting "$k")
    [ -n "$v" ] || continue
    case $k in prefix) PREFIX=$v ;; config-dir) CONFIG_DIR=$v ;; user) LEASH_USER=$v ;; audit-group) AUDIT_GROUP=$v ;; esac
  done
  BIN=$PREFIX/bin/leash
  say "leash $SELF --uninstall${ROOT:+ (root $ROOT)}$( [ "$DRY" = 0 ] || echo ' (dry run: nothing is changed)')"

  if [ -f "$(r "$SSHD_CONFIG")" ]; then
    if [ -f "$(r "$DROPIN")" ]; then backup "$DROPIN"; act remove "$DROPIN"; run rm -f "$(r "$DROPIN")"; fi
    if grep -qxF "$BEGIN_MARK" "$(r "$SSHD_CONFIG")"; then
      backup "$SSHD_CONFIG"; act edit "$SSHD_CONFIG (remove the leash block)"
      without_block "$(r "$SSHD_CONFIG")" >"$TMP/cfg"
      run cp "$TMP/cfg" "$(r "$SSHD_CONFIG")"   # cp keeps the file's owner and mode
    fi
    for f in $(sshd_files); do
      if grep -q "^$DISABLED" "$(r "$f")"; then
        backup "$f"; act edit "$f (restore the lines --take-over disabled)"
        sed "s/^$DISABLED//" "$(r "$f")" >"$TMP/cfg"; run cp "$TMP/cfg" "$(r "$f")"
      fi
    done
    if [ -n "$SSHD_TOUCHED" ]; then
      if ! sshd_validate uninstall; then rollback; die "sshd rejected the configuration without leash; nothing was changed"; fi
      SSHD_PENDING=0
      sshd_reload
    else
      ok "sshd configuration has no leash settings"
    fi
  fi
  if [ "$PACKAGED" = 1 ]; then
    # Disabled, not removed: the package's files are dpkg's, and its accounts, cache, logs and
    # configuration stay until dpkg --purge leash (postrm).
    finish_state
    summary "leash is not enabled in sshd"
    exit 0
  fi

  if [ -d "$(r "$UNIT_DIR")" ]; then
    for u in leash-jwks-refresh.timer leash-reap.timer leash-runtime.service leash-jwks-refresh.service leash-reap.service; do
      [ -e "$(r "$UNIT_DIR/$u")" ] || continue
      case $u in *.timer|leash-runtime.service) if [ -z "$ROOT" ] && have systemctl; then run systemctl disable --now "$u" >/dev/null 2>&1 || :; fi ;; esac
      act remove "$UNIT_DIR/$u"; run rm -f "$(r "$UNIT_DIR/$u")"
    done
    if [ -z "$ROOT" ] && [ -d /run/systemd/system ] && have systemctl; then run systemctl daemon-reload; fi
  fi
  if [ -e "$(r "$LOGROTATE")" ]; then act remove "$LOGROTATE"; run rm -f "$(r "$LOGROTATE")"; fi
  if [ -e "$(r "$CRON_FILE")" ]; then act remove "$CRON_FILE"; run rm -f "$(r "$CRON_FILE")"; fi
  # The runtime directory holds only state about live sessions (a tmpfs, empty at every boot).
  if [ -d "$(r /run/leash)" ] && [ ! -L "$(r /run/leash)" ]; then act remove "/run/leash/"; run rm -rf "$(r /run/leash)"; fi
  if [ -e "$(r "$BIN")" ]; then act remove "$BIN"; run rm -f "$(r "$BIN")"; fi
  # The manual pages and the completion, then the directories made for them (deepest first), if empty.
  awk '$1 == "installed" { print $2 }' "$TMP/state" >"$TMP/installed"
  while read -r f; do
    if [ -e "$(r "$f")" ]; then act remove "$f"; run rm -f "$(r "$f")"; fi
  done <"$TMP/installed"
  awk '$1 == "created-dir" { print $2 }' "$TMP/state" | sort -r >"$TMP/dirs"
  while read -r d; do
    if [ -d "$(r "$d")" ] && [ -z "$(ls -A "$(r "$d")")" ]; then act rmdir "$d/"; run rmdir "$(r "$d")"; fi
  done <"$TMP/dirs"
  if [ -d "$(r "$CACHE_DIR")" ]; then act remove "$CACHE_DIR/"; run rm -rf "$(r "$CACHE_DIR")"; fi

  log=$(r "$AUDIT_LOG")
  if [ "$PURGE" = 1 ]; then
    if [ -d "$(r "$LOG_DIR")" ]; then
      act purge "$LOG_DIR/"
      for f in "$(r "$LOG_DIR")"/*; do [ -e "$f" ] && { run chattr -a "$f" 2>/dev/null || :; }; done
      run rm -rf "$(r "$LOG_DIR")"
    fi
    if [ -d "$(r "$CONFIG_DIR")" ]; then act purge "$CONFIG_DIR/"; run rm -rf "$(r "$CONFIG_DIR")"; fi
  else
    # Kept, and closed to their former writers: the group is about to go away and its id could be reused.
    for kept in "$AUDIT_LOG" "$RECORDINGS_LOG"; do
      log=$(r "$kept")
      [ -f "$log" ] || continue
      if [ "$(owner_mode "$log")" != "0:0 600" ]; then
        act keep "$kept (now root:root 0600, still append-only)"
        run chattr -a "$log" 2>/dev/null || :
        run chown root:root "$log"; run chmod 0600 "$log"
        [ -n "$ROOT" ] || { run chattr +a "$log" 2>/dev/null || :; }
      fi
    done
    [ ! -f "$(r "$AUDIT_LOG")" ] || say "  kept     $CONFIG_DIR/ and $LOG_DIR/ (add --purge to remove them)"
  fi

  for line in "created-user $LEASH_USER" "created-group $AUDIT_GROUP"; do
    state_has "$line" || continue
    name=${line#* }
    case $line in
      created-user*)
        if exists_user "$name"; then act userdel "$name"; if have userdel; then run userdel "$name"; else run deluser "$name"; fi; fi ;;
      created-group*)
        if exists_group "$name"; then act groupdel "$name"; if have groupdel; then run groupdel "$name"; else run delgroup "$name"; fi; fi ;;
    esac
  done
  : >"$TMP/state"
  finish_state
  [ ! -d "$(r "$STATE_DIR")" ] || [ -n "$(ls -A "$(r "$STATE_DIR")" 2>/dev/null)" ] || run rmdir "$(r "$STATE_DIR")"
  summary "leash is not installed"
  exit 0
fi

# ------------------------------------------------------------------ install

if [ "$PACKAGED" = 1 ]; then
  [ -x "$(r "$BIN")" ] || die "$BIN is missing: reinstall the leash package"
else
  [ -f "$BINARY" ] || die "$BINARY: no such file (run \`npm run build\` first, or pass --binary PATH)"
  [ -x "$BINARY" ] || die "$BINARY is not executable"
  src_policies=$here/policies
  src_template=$here/contrib/leash.yaml
  src_logrotate=$here/contrib/logrotate/leash
  src_completion=$here/contrib/bash-completion/leash
  for f in "$src_template" "$src_logrotate" "$src_completion" "$here/contrib/cron/leash" "$src_policies"/*.yaml; do [ -f "$f" ] || die "$f is missing from the repository"; done
  # Manual pages: docs/NAME.SECTION.md as roff, made by npm run build (build/manpages.mjs).
  src_man=$here/dist/man
  [ -f "$src_man/leash.1" ] || die "$src_man/leash.1 is missing: run \`npm run build\` (it makes the manual pages too)"
fi

if [ "$CONFIG_DIR" = /etc/leash ]; then AKC="$BIN verify %u %k %t"; else AKC="$BIN --config-dir $CONFIG_DIR verify %u %k %t"; fi
src_cron=$here/contrib/cron/leash

# CA mode (docs/ca.md): --ca-key installs the CA's public key for TrustedUserCAKeys, with a KRL
# for RevokedKeys. Once installed, later runs keep it (install state: setting ca-mode yes).
CA_PUB=$CONFIG_DIR/user-ca.pub
KRL=$CONFIG_DIR/revoked.krl
if [ -n "$CA_KEY" ]; then
  [ -f "$CA_KEY" ] || die "--ca-key $CA_KEY: no such file"
  if grep -q 'PRIVATE KEY' "$CA_KEY"; then die "--ca-key $CA_KEY is a private key: pass the CA's public key (ca.pub from leash ca init)"; fi
  if grep -v '^#' "$CA_KEY" | grep -v '^$' | grep -qvE '^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+=*( .*)?$'; then
    die "--ca-key $CA_KEY: every line must be one OpenSSH public key (type, base64, comment)"
  fi
  ssh-keygen -l -f "$CA_KEY" >/dev/null 2>&1 || die "--ca-key $CA_KEY: ssh-keygen -l does not read it as a public key"
  CA_MODE=1
elif [ "$(state_setting ca-mode)" = yes ] && [ -f "$(r "$CA_PUB")" ]; then
  CA_MODE=1
else
  CA_MODE=0
fi

say "leash $SELF${ROOT:+ (root $ROOT)}: $BIN, config $CONFIG_DIR, user $LEASH_USER, audit group $AUDIT_GROUP$( [ "$DRY" = 0 ] || echo ' (dry run: nothing is changed)')"

# Before anything changes: sshd must accept its configuration as it is, and
# no other AuthorizedKeysCommand may be in the way.
have_sshd_config=0
foreign=
if [ "$SSHD_PART" = 0 ]; then :  # sshd is not looked at
elif [ -f "$(r "$SSHD_CONFIG")" ]; then
  have_sshd_config=1
  if [ -z "$ROOT" ] && ! out=$("$SSHD" -t 2>&1); then
    printf '%s\n' "$out" >&2
    die "sshd -t already fails before any change; fix sshd's configuration first (nothing was changed)"
  fi
  foreign=$(foreign_akc)
  if [ -n "$foreign" ] && [ "$TAKEOVER" = 0 ]; then
    cat >&2 <<EOF
$SELF: sshd already has an AuthorizedKeysCommand that is not leash's:
$(printf '%s\n' "$foreign" | sed 's/^/  /')
sshd runs only one. Nothing was changed. Choose one:
  1. Replace it with leash: re-run with --take-over. Those lines are commented out
     (prefix "$DISABLED") and --uninstall restores them. An opkssh host can keep its
     users: copy /etc/opk/providers and /etc/opk/auth_id into $CONFIG_DIR (verifier.md:
     "Migrating from opkssh") and set default_profile in leash.yaml.
  2. Keep it, and remove or comment out those lines yourself when you are ready.
  3. Keep it, and use only leash's restricted shell (install.md: "Using leash shell with
     sshd without the verifier").
EOF
    exit 1
  fi
elif [ -z "$ROOT" ]; then
  die "$SSHD_CONFIG not found: is openssh-server installed?"
fi

# -- accounts (never in a staging root: the package's own scripts make them there)
say "accounts"
if [ -n "$ROOT" ]; then
  exists_group "$AUDIT_GROUP" || warn "group $AUDIT_GROUP does not exist; files stay root-owned (create it when the package is installed)"
  exists_user "$LEASH_USER" || warn "user $LEASH_USER does not exist; files stay root-owned (create it when the package is installed)"
else
  if exists_group "$AUDIT_GROUP"; then ok "group $AUDIT_GROUP"; else
    act groupadd "$AUDIT_GROUP (system group: may append to the audit log)"
    if have groupadd; then run groupadd --system "$AUDIT_GROUP"; else run addgroup -S "$AUDIT_GROUP"; fi
    state_add "created-group $AUDIT_GROUP"
  fi
  if exists_user "$LEASH_USER"; then
    [ "$(id -u "$LEASH_USER")" != 0 ] || die "user $LEASH_USER has uid 0; choose another --user"
    ok "user $LEASH_USER"
  else
    nologin=$(command -v nologin || echo /sbin/nologin)
    act useradd "$LEASH_USER (system user for AuthorizedKeysCommand: no shell, no home)"
    if have useradd; then run useradd --system --user-group --no-create-home --home-dir /nonexistent --shell "$nologin" "$LEASH_USER"
    else run addgroup -S "$LEASH_USER"; run adduser -S -D -H -h /nonexistent -s "$nologin" -G "$LEASH_USER" "$LEASH_USER"; fi
    state_add "created-user $LEASH_USER"
  fi
  if id -Gn "$LEASH_USER" 2>/dev/null | tr ' ' '\n' | grep -qxF "$AUDIT_GROUP"; then ok "$LEASH_USER is in $AUDIT_GROUP"; else
    act usermod "add $LEASH_USER to $AUDIT_GROUP"
    if have usermod; then run usermod -a -G "$AUDIT_GROUP" "$LEASH_USER"; else run addgroup "$LEASH_USER" "$AUDIT_GROUP"; fi
  fi
fi
# Owners of the files below. A dry run shows those of the real run: the accounts it would
# have created above (useradd --user-group: the user's own group), not root:root.
would_create=0
[ -n "$ROOT" ] || [ "$DRY" = 0 ] || would_create=1
if exists_user "$LEASH_USER"; then LEASH_OWNER=$LEASH_USER:$(id -gn "$LEASH_USER")
elif [ "$would_create" = 1 ]; then LEASH_OWNER=$LEASH_USER:$LEASH_USER
else LEASH_OWNER=root:root; fi
if exists_group "$AUDIT_GROUP" || [ "$would_create" = 1 ]; then AUDIT_OWNER=root:$AUDIT_GROUP; else AUDIT_OWNER=root:root; fi

# -- the binary, in a directory chain sshd accepts
say "binary"
if [ "$PACKAGED" = 1 ]; then
  check_chain "$(r "$PREFIX/bin")" "$BIN"
  ok "$BIN (the package's)"
else
  for d in "$PREFIX" "$PREFIX/bin"; do [ -d "$(r "$d")" ] || ensure_dir "$d" root:root 0755; done
  [ ! -d "$(r "$PREFIX/bin")" ] || check_chain "$(r "$PREFIX/bin")" "$BIN"
  put_ours "$BINARY" "$BIN" 0755 root:root
  # The manual pages and the bash completion, where man(1) and bash-completion look under the prefix.
  # Directories made here are recorded, and removed again by --uninstall when empty.
  for d in share share/man share/man/man1 share/man/man5 share/man/man8 share/bash-completion share/bash-completion/completions; do
    [ -d "$(r "$PREFIX/$d")" ] && continue
    ensure_dir "$PREFIX/$d" root:root 0755
    state_add "created-dir $PREFIX/$d"
  done
  for page in "$src_man"/*.[1-8]; do
    put_ours "$page" "$PREFIX/share/man/man${page##*.}/$(basename "$page")" 0644 root:root
    state_add "installed $PREFIX/share/man/man${page##*.}/$(basename "$page")"
  done
  put_ours "$src_completion" "$PREFIX/share/bash-completion/completions/leash" 0644 root:root
  state_add "installed $PREFIX/share/bash-completion/completions/leash"
fi
state_add "setting prefix $PREFIX"

# -- configuration, cache, log
say "configuration ($CONFIG_DIR)"
ensure_dir "$CONFIG_DIR" root:root 0755
[ ! -d "$(r "$CONFIG_DIR")" ] || check_chain "$(r "$CONFIG_DIR")" "leash's configuration"
ensure_dir "$CONFIG_DIR/policies" root:root 0755
if [ "$PACKAGED" = 1 ]; then ok "$CONFIG_DIR/leash.yaml and policies/ (the package's conffiles)"
else
  put_conf "$src_template" "$CONFIG_DIR/leash.yaml"
  for f in "$src_policies"/*.yaml "$src_policies"/schema.json; do put_conf "$f" "$CONFIG_DIR/policies/$(basename "$f")"; done
fi
# Validate everything once and write the compiled cache (<config-dir>/.compiled),
# so logins do not parse YAML. An invalid file is reported, not fatal: leash
# refuses what does not load until it is fixed (then: leash policy check).
if [ -z "$ROOT" ] && [ "$DRY" = 0 ]; then
  if "$(r "$BIN")" --config-dir "$CONFIG_DIR" policy check >"$TMP/check" 2>&1; then
    ok "configuration validates; compiled cache current"
  else
    warn "configuration does not validate (logins are refused until it does):"
    sed 's/^/           /' "$TMP/check"
  fi
fi
state_add "setting config-dir $CONFIG_DIR"
state_add "setting user $LEASH_USER"
state_add "setting audit-group $AUDIT_GROUP"

if [ "$CA_MODE" = 1 ]; then
  say "CA mode ($CA_PUB, $KRL)"
  if [ -n "$CA_KEY" ]; then put_ours "$CA_KEY" "$CA_PUB" 0644 root:root; state_add "setting ca-mode yes"; fi
  # sshd refuses EVERY public-key login while RevokedKeys names a missing or unreadable file:
  # the KRL exists before sshd's configuration names it (leash revoke replaces it atomically).
  if [ -f "$(r "$KRL")" ] && ssh-keygen -Q -f "$(r "$KRL")" "$(r "$CA_PUB")" >/dev/null 2>&1; then ok "$KRL"
  else
    [ ! -e "$(r "$KRL")" ] || die "$(r "$KRL") exists but is not a KRL ssh-keygen can read: move it away, then re-run"
    act create "$KRL (empty KRL for RevokedKeys: leash revoke fills it)"
    ssh-keygen -q -k -f "$TMP/revoked.krl" >/dev/null
    run install -o root -g root -m 0644 "$TMP/revoked.krl" "$(r "$KRL")"
  fi
fi

say "JWKS cache, audit log and recordings log"
ensure_dir "$CACHE_DIR" "$LEASH_OWNER" 0755
ensure_dir "$LOG_DIR" root:root 0755
if [ -z "$ROOT" ]; then attrs() { lsattr -d "$1" 2>/dev/null | awk '{ print $1 }'; }; else attrs() { echo -; }; fi
# append_only_log HOSTPATH: the audit log and the recordings log, root:<audit group> 0620, chattr +a.
append_only_log() {
  log=$(r "$1")
  if [ ! -e "$log" ]; then
    # Mode and group first: an append-only file can no longer be chmod-ed or chown-ed.
    act create "$1 ($AUDIT_OWNER 0620, append-only)"
    run install -o root -g "${AUDIT_OWNER#*:}" -m 0620 /dev/null "$log"
    fresh=1
  else
    fresh=0
    if [ -L "$log" ] || [ ! -f "$log" ]; then die "$log exists and is not a regular file"; fi
  fi
  if [ "$fresh" = 0 ] && [ "$(owner_mode "$log")" != "$(id_of "$AUDIT_OWNER") 620" ]; then
    act fix "$1 -> $AUDIT_OWNER 0620"
    case $(attrs "$log") in *a*) run chattr -a "$log" ;; esac
    run chown "$AUDIT_OWNER" "$log"; run chmod 0620 "$log"
    fresh=1
  fi
  if [ -n "$ROOT" ]; then
    say "  skip     chattr +a (--root: set it when the package is installed)"
  elif [ "$fresh" = 0 ] && case $(attrs "$log") in *a*) true ;; *) false ;; esac; then
    ok "$1 ($AUDIT_OWNER 0620, append-only)"
  elif have chattr; then
    [ "$fresh" = 1 ] || act chattr "+a $1"
    if [ "$DRY" = 1 ]; then run chattr +a "$log"
    elif ! chattr +a "$log" 2>/dev/null; then
      warn "$1: this filesystem does not support append-only files (chattr +a), so a session user could truncate the log; put $LOG_DIR on ext4, xfs or btrfs"
    fi
  else
    warn "chattr not found (Debian/Ubuntu/RHEL: e2fsprogs; Alpine: e2fsprogs-extra): $1 is not append-only, so a session user could truncate it"
  fi
}
append_only_log "$AUDIT_LOG"
append_only_log "$RECORDINGS_LOG"

if [ "$PACKAGED" = 1 ]; then
  ok "$LOGROTATE, the systemd units and $CRON_FILE (the package's)"
elif [ -d "$(r /etc/logrotate.d)" ]; then
  sed "s/leash-audit/$AUDIT_GROUP/g" "$src_logrotate" >"$TMP/logrotate"
  put_conf "$TMP/logrotate" "$LOGROTATE"
else
  say "  skip     $LOGROTATE (no /etc/logrotate.d: rotate $AUDIT_LOG as contrib/logrotate/leash describes)"
fi

if [ "$PACKAGED" = 1 ]; then :  # dpkg's units; the package's postinst enables them (deb-systemd-helper)
elif [ -d "$(r "$UNIT_DIR")" ]; then
  for u in $UNITS; do
    leash_template "$here/contrib/systemd/$u" >"$TMP/$u"
    put_conf "$TMP/$u" "$UNIT_DIR/$u"
  done
  if [ -z "$ROOT" ] && [ -d /run/systemd/system ] && have systemctl; then
    for u in leash-jwks-refresh.timer leash-runtime.service leash-reap.timer; do
      systemctl is-enabled --quiet "$u" 2>/dev/null && continue
      act enable "$u"
      run systemctl daemon-reload
      run systemctl enable --now "$u"
    done
  fi
fi
# Without systemd running, cron does the runtime directory at boot and the reaper every minute.
if [ "$PACKAGED" = 1 ] || { [ -d /run/systemd/system ] && [ -z "$ROOT" ]; }; then :
elif [ -d "$(r /etc/cron.d)" ]; then
  leash_template "$src_cron" >"$TMP/cron"
  put_conf "$TMP/cron" "$CRON_FILE"
else
  warn "neither systemd nor /etc/cron.d: run '$BIN runtime init --verify-user $LEASH_USER --group $AUDIT_GROUP' at boot and '$BIN sessions --reap' every minute, or expired sessions stay connected"
fi

# -- the runtime directory (a tmpfs: the boot unit or cron makes it again after a reboot)
say "runtime directory"
if [ -n "$ROOT" ]; then say "  skip     leash runtime init (--root: the boot unit or cron line makes it)"
else
  # Idempotent repair of a tmpfs (not counted as a change): makes or fixes runtime_dir's tree.
  if [ "$DRY" = 1 ]; then printf '           + %s\n' "$BIN --config-dir $CONFIG_DIR runtime init --verify-user $LEASH_USER --group $AUDIT_GROUP"
  elif "$(r "$BIN")" --config-dir "$CONFIG_DIR" runtime init --verify-user "$LEASH_USER" --group "$AUDIT_GROUP" >"$TMP/runtime" 2>&1; then
    ok "runtime directory (leash runtime init: $(head -n 1 "$TMP/runtime" | cut -d' ' -f1))"
  else
    warn "leash runtime init failed (logins and commands are refused until it succeeds):"; sed 's/^/           /' "$TMP/runtime"
  fi
fi

# -- sshd
say "sshd"
if [ "$SSHD_PART" = 0 ]; then
  say "  skip     sshd's configuration (--no-sshd: unchanged)"
elif [ "$have_sshd_config" = 0 ]; then
  say "  skip     no $SSHD_CONFIG under --root"
else
  printf '%s\n' "$BEGIN_MARK" >"$TMP/lines"
  cat >>"$TMP/lines" <<EOF
AuthorizedKeysCommand $AKC
AuthorizedKeysCommandUser $LEASH_USER
ExposeAuthInfo yes
EOF
  if [ "$CA_MODE" = 1 ]; then printf 'TrustedUserCAKeys %s\nRevokedKeys %s\n' "$CA_PUB" "$KRL" >>"$TMP/lines"; fi
  printf '%s\n' "$END_MARK" >>"$TMP/lines"
  if uses_dropin_dir; then
    target=$DROPIN
    {
      printf '# Managed by leash %s: it is rewritten on every install, removed by %s --uninstall.\n' "$SELF" "$SELF"
      printf '# leash verifies OPKSSH certificates and pins every login to a command profile.\n'
      sed '1d;$d' "$TMP/lines"
    } >"$TMP/new"
    # A leftover block from an install without the drop-in directory goes.
    if grep -qxF "$BEGIN_MARK" "$(r "$SSHD_CONFIG")"; then
      backup "$SSHD_CONFIG"; act edit "$SSHD_CONFIG (remove the old leash block; the drop-in replaces it)"
      without_block "$(r "$SSHD_CONFIG")" >"$TMP/cfg"
      run cp "$TMP/cfg" "$(r "$SSHD_CONFIG")"
    fi
  else
    # No drop-in directory: a marked block at the very top of sshd_config (the
    # first value sshd reads wins, and nothing there can be inside a Match).
    target=$SSHD_CONFIG
    { cat "$TMP/lines"; without_block "$(r "$SSHD_CONFIG")"; } >"$TMP/new"
  fi
  if [ -f "$(r "$target")" ] && cmp -s "$TMP/new" "$(r "$target")" && [ -z "$SSHD_TOUCHED" ]; then
    ok "$target"
  else
    backup "$target"
    if [ "$target" = "$DROPIN" ]; then
      act write "$DROPIN"
      run install -o root -g root -m 0644 "$TMP/new" "$(r "$DROPIN")"
    elif ! cmp -s "$TMP/new" "$(r "$target")"; then
      act edit "$SSHD_CONFIG (leash block at the top)"
      run cp "$TMP/new" "$(r "$SSHD_CONFIG")"
    fi
  fi
  if [ -n "$foreign" ]; then
    for f in $(printf '%s\n' "$foreign" | cut -d: -f1 | sort -u); do
      backup "$f"; act disable "AuthorizedKeysCommand lines in $f (--take-over; --uninstall restores them)"
      awk -v p="$DISABLED" -v b="$BEGIN_MARK" -v e="$END_MARK" '
        $0 == b { inblock = 1 } $0 == e { inblock = 0 }
        !inblock && tolower($1) ~ /^authorizedkeyscommand(user)?$/ && !(tolower($1) == "authorizedkeyscommand" && tolower($2) == "none") { $0 = p $0 } { print }' "$(r "$f")" >"$TMP/cfg"
      run cp "$TMP/cfg" "$(r "$f")"
    done
  fi
  if [ -n "$SSHD_TOUCHED" ]; then
    if ! sshd_validate install; then
      say "rolling back the sshd configuration:"
      rollback
      [ -z "$ROOT" ] && "$SSHD" -t >/dev/null 2>&1 && say "  check    sshd -t passes again"
      finish_state
      die "sshd configuration not changed (see above); sshd was not reloaded. The other parts of the install stay; re-run after fixing."
    fi
    SSHD_PENDING=0
    sshd_reload
  fi
fi

finish_state
if [ -n "${NEWFILES:-}" ]; then printf 'kept your edited files; the new defaults are beside them:\n%b' "$NEWFILES"; fi
summary "leash is installed and up to date"
if [ "$SSHD_PART" = 0 ]; then
  say "sshd is unchanged: leash is enabled in it by running $SELF (without --no-sshd), which validates sshd's new configuration before it reloads sshd."
fi
if [ "$CHANGES" != 0 ] && [ "$DRY" = 0 ]; then
  cat <<EOF
next: add a provider and a grant to $CONFIG_DIR/leash.yaml, add each session user to
      $AUDIT_GROUP (usermod -aG $AUDIT_GROUP USER), fill the key cache
      (runuser -u $LEASH_USER -- $BIN jwks refresh), then check everything: $BIN doctor
EOF
fi
