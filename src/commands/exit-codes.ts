/** Exit statuses documented in `leash help`. */
export const EXIT = {
  OK: 0,
  /** verify: the key is not accepted (sshd treats any non-zero exit as "no keys"). */
  VERIFY_REFUSED: 1,
  /** usage error on the command line (BSD sysexits EX_USAGE). */
  USAGE: 64,
  /** internal error: a bug; nothing was run or accepted (EX_SOFTWARE). */
  INTERNAL: 70,
  /** configuration error: a file is missing, unsafe, or does not validate (EX_CONFIG). */
  CONFIG: 78,
  /** shell: the command ran past its timeout and was killed. */
  TIMEOUT: 124,
  /** shell: the command wrote more than the profile's max_output and was killed. */
  OUTPUT_LIMIT: 125,
  /** shell / explain: the command is denied by policy. */
  DENIED: 126,
} as const;
