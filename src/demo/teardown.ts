/**
 * Everything the demo makes is registered here the moment it exists, with
 * the action that removes it; `close()` runs those actions newest first
 * (clients before sshd, sshd before the accounts its sessions run as, the
 * accounts before the directory their files are in). Whatever made the demo
 * stop — the end, a failed step, ^C — the same list is undone.
 *
 * Something registered after `close()` began (a program that was starting
 * when ^C came) is removed at once, so a late arrival cannot be left behind.
 * A failing action does not stop the others; `close()` returns what failed.
 */
export class Teardown {
  private readonly undo: { what: string; run: () => Promise<void> | void }[] = [];
  private closing: Promise<string[]> | null = null;
  private readonly lateFailures: string[] = [];

  /** Registers `run` as the way to remove `what`. */
  async add(what: string, run: () => Promise<void> | void): Promise<void> {
    if (this.closing === null) {
      this.undo.push({ what, run });
      return;
    }
    const failed = await attempt(what, run);
    if (failed !== null) this.lateFailures.push(failed);
  }

  get closed(): boolean {
    return this.closing !== null;
  }

  /** Undoes everything, newest first; safe to call twice. Resolves with one line per action that failed. */
  close(): Promise<string[]> {
    this.closing ??= (async () => {
      const failures: string[] = [];
      for (let item = this.undo.pop(); item !== undefined; item = this.undo.pop()) {
        const failed = await attempt(item.what, item.run);
        if (failed !== null) failures.push(failed);
      }
      return failures;
    })();
    return this.closing.then((f) => [...f, ...this.lateFailures]);
  }
}

async function attempt(what: string, run: () => Promise<void> | void): Promise<string | null> {
  try {
    await run();
    return null;
  } catch (err) {
    return `${what}: ${err instanceof Error ? err.message : String(err)}`;
  }
}
