/**
 * One test at a time installs leash on this host (test/install/system.test.ts,
 * test/packaging/deb-install.test.ts): both take this lock, an flock(1) held
 * by a child process for as long as its stdin stays open — so it is released
 * when the test ends, however it ends.
 */
import { spawn } from 'node:child_process';

const LOCK = '/run/lock/leash-system-tests.lock';

/** Waits for the lock (at most `timeoutMs`); resolves with the function that releases it. */
export function hostLock(timeoutMs = 150_000): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/flock', ['--exclusive', '--timeout', String(Math.ceil(timeoutMs / 1000)), LOCK, '/bin/sh', '-c', 'echo locked; read _'], { stdio: ['pipe', 'pipe', 'inherit'] });
    child.stdout.setEncoding('utf8').once('data', () => resolve(() => child.stdin.end()));
    child.once('exit', (code) => reject(new Error(`could not take ${LOCK} (flock exit ${code})`)));
    child.once('error', reject);
  });
}
