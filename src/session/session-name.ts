/**
 * A session id as the registry accepts it (the forced command's `--session`):
 * the verifier's and grant's 32 hex digits, or an operator's own plain name
 * in a hand-written `command=`. No dot: registry file names use `.` as their
 * separator, and nothing here can walk out of a directory.
 */
export const SESSION_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
