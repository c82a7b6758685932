/**
 * Temporary directories that pass leash's and sshd's ownership checks.
 *
 * leash refuses configuration unless the file and EVERY directory above it is
 * root-owned and not group/world-writable (src/config/trusted-file.ts), and
 * sshd applies the same rule to the AuthorizedKeysCommand path (it resolves
 * symlinks first). /tmp is world-writable, so nothing under it qualifies: these
 * helpers use root-owned 0755 bases under /var/lib and /opt instead. They need
 * to run as root.
 *
 * Only the base directories (/var/lib/leash-test, /opt/leash-test) stay behind;
 * everything below them is removed by `cleanup()`.
 */
import { chmod, chown, copyFile, lstat, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';

const TRUSTED_TMP_BASE = '/var/lib/leash-test';
const BINARY_BASE = '/opt/leash-test';

export interface TempDir {
  path: string;
  /** Removes the directory and everything in it. Safe to call twice. */
  cleanup: () => Promise<void>;
}

export interface InstalledBinary {
  /** Absolute path of the installed executable. */
  path: string;
  /** Removes the per-install directory (not the base). Safe to call twice. */
  cleanup: () => Promise<void>;
}

/** True when the tests run as root, which these helpers (and sshd) need. */
export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/**
 * Creates `dir` if missing and forces it to root:root 0755. Forcing (rather
 * than only checking) is fine because the base belongs to the tests; mkdir's
 * mode is filtered by the umask, so chmod is what makes the mode certain.
 */
async function ensureRootDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const st = await lstat(dir);
  if (!st.isDirectory()) throw new Error(`${dir} exists and is not a directory`);
  await chown(dir, 0, 0);
  await chmod(dir, 0o755);
}

/**
 * Fails early, with the offending directory named, if some parent is not
 * root-owned 0755-ish: otherwise the failure would show up much later as a
 * confusing CONFIG_UNSAFE or "Unsafe AuthorizedKeysCommand".
 */
async function assertTrustedChain(dir: string): Promise<void> {
  for (let d = dir; ; d = dirname(d)) {
    const st = await lstat(d);
    if (st.isSymbolicLink()) throw new Error(`trusted temp dir: ${d} is a symbolic link`);
    if (st.uid !== 0 || (st.mode & 0o022) !== 0) {
      throw new Error(`trusted temp dir: ${d} must be root-owned and not group/world-writable (uid ${st.uid}, mode ${(st.mode & 0o7777).toString(8)})`);
    }
    if (d === '/') return;
  }
}

function removeOnce(path: string): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= rm(path, { recursive: true, force: true }));
}

/**
 * A fresh root-owned 0755 directory under /var/lib/leash-test whose whole
 * parent chain leash accepts as a config dir. `prefix` is a readable stem
 * (e.g. 'shell-e2e-').
 */
export async function trustedTempDir(prefix: string): Promise<TempDir> {
  if (!/^[A-Za-z0-9._-]+$/.test(prefix)) throw new Error(`trustedTempDir: prefix must be a plain name: ${prefix}`);
  await ensureRootDir(TRUSTED_TMP_BASE);
  const path = await mkdtemp(join(TRUSTED_TMP_BASE, prefix));
  await chmod(path, 0o755); // mkdtemp makes 0700, which the non-root session user could not enter
  await assertTrustedChain(path);
  return { path, cleanup: removeOnce(path) };
}

/**
 * Copies an executable to /opt/leash-test/<random>/bin/<name> (dirs and file
 * root:root 0755): a place sshd accepts for AuthorizedKeysCommand and any
 * session user can execute. `name` defaults to 'leash'.
 */
export async function installBinary(src: string, name = 'leash'): Promise<InstalledBinary> {
  await ensureRootDir(BINARY_BASE);
  const root = join(BINARY_BASE, randomBytes(6).toString('hex'));
  const cleanup = removeOnce(root);
  try {
    await mkdir(root, { mode: 0o755 });
    await chmod(root, 0o755);
    const bin = join(root, 'bin');
    await mkdir(bin, { mode: 0o755 });
    await chmod(bin, 0o755);
    const path = join(bin, name);
    await copyFile(src, path);
    await chown(path, 0, 0);
    await chmod(path, 0o755);
    await assertTrustedChain(bin);
    return { path, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
