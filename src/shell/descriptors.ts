import { closeSync, readdirSync, readFileSync } from 'node:fs';

/** O_CLOEXEC as /proc/PID/fdinfo/N shows it in `flags:` (octal). */
const O_CLOEXEC = 0o2000000;

/**
 * The descriptors, above stderr, that this process inherited from whoever
 * started it: open without close-on-exec, so they would pass on to every
 * command leash runs. Everything the runtime opens itself (its event loop,
 * its pipes, the audit log) is close-on-exec, so a descriptor without that
 * flag came from outside. `procDir` is /proc/self, or another process's
 * /proc entry in tests.
 */
export function inheritedDescriptors(procDir = '/proc/self'): number[] {
  const found: number[] = [];
  for (const name of readdirSync(`${procDir}/fd`)) {
    const fd = Number(name);
    if (!Number.isInteger(fd) || fd <= 2) continue;
    let info: string;
    try {
      info = readFileSync(`${procDir}/fdinfo/${fd}`, 'latin1');
    } catch {
      continue; // closed meanwhile (the directory listing's own descriptor)
    }
    const flags = /^flags:\s+([0-7]+)$/m.exec(info);
    if (flags && (parseInt(flags[1] as string, 8) & O_CLOEXEC) === 0) found.push(fd);
  }
  return found;
}

/**
 * Closes every inherited descriptor above stderr, so that only 0, 1 and 2
 * reach a command (as doas does with closefrom). Run at start-up, before
 * anything is spawned.
 */
export function closeInheritedDescriptors(): number[] {
  const fds = inheritedDescriptors();
  for (const fd of fds) {
    try {
      closeSync(fd);
    } catch {
      /* already closed */
    }
  }
  return fds;
}
