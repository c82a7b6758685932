/**
 * The signals `leash shell` catches while it runs a command. Any of them
 * stops the command (its process groups get SIGTERM, then SIGKILL), is
 * written to the audit log as `shell.killed` with the signal, and leash
 * exits 128+N. Without a handler most of them would end leash at once —
 * the guard would still kill the command, but nothing would be audited.
 *
 * Not here: SIGKILL and SIGSTOP (cannot be caught: the guard handles them,
 * see src/shell/guard.ts); SIGUSR1 (the runtime keeps it blocked, because
 * of --disable-sigusr1: it does nothing at all); SIGSEGV, SIGBUS, SIGFPE,
 * SIGILL (a real fault must crash, not loop in a handler); SIGCHLD,
 * SIGWINCH, SIGURG, SIGCONT (harmless, ignored by default); SIGPIPE (the
 * runtime ignores it; a closed output is seen as EPIPE).
 */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = Object.freeze([
  'SIGHUP', // the client went away (sshd hangs up the session)
  'SIGINT', // ^C on a pty
  'SIGTERM',
  'SIGQUIT',
  'SIGUSR2',
  'SIGALRM',
  'SIGVTALRM',
  'SIGPROF',
  'SIGXCPU',
  'SIGXFSZ',
  'SIGPWR',
  'SIGSTKFLT',
  'SIGTRAP',
  'SIGSYS',
  'SIGABRT',
]);

/** Caught and ignored, so that they cannot stop leash (its deadline must keep running). */
export const IGNORED_SIGNALS: readonly NodeJS.Signals[] = Object.freeze(['SIGTSTP', 'SIGTTIN', 'SIGTTOU']);

export interface CaughtSignals {
  /** Aborted on the first stop signal; its reason is that signal's name. */
  signal: AbortSignal;
  /** Removes the handlers again. */
  release: () => void;
}

/** Installs the handlers; call before anything is spawned. */
export function catchStopSignals(): CaughtSignals {
  const controller = new AbortController();
  const onStop = (signal: NodeJS.Signals): void => {
    if (!controller.signal.aborted) controller.abort(signal);
  };
  const ignore = (): void => {};
  for (const s of STOP_SIGNALS) process.on(s, onStop);
  for (const s of IGNORED_SIGNALS) process.on(s, ignore);
  return {
    signal: controller.signal,
    release: () => {
      for (const s of STOP_SIGNALS) process.off(s, onStop);
      for (const s of IGNORED_SIGNALS) process.off(s, ignore);
    },
  };
}
