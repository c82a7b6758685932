/**
 * A copy of what install.sh installs from — install.sh, contrib/, policies/,
 * the manual pages `npm run build` makes (dist/man, from docs/) — with a
 * stand-in dist/leash, so that a test can run install.sh without a build and
 * change a shipped default without touching the repository.
 */
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeManPages } from '../../build/manpages.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Fills `dir` (which must exist) and returns it; dist/leash prints `leash-test-binary`. */
export async function installSourceTree(dir: string): Promise<string> {
  await cp(join(REPO, 'install.sh'), join(dir, 'install.sh'));
  await cp(join(REPO, 'contrib'), join(dir, 'contrib'), { recursive: true });
  await cp(join(REPO, 'policies'), join(dir, 'policies'), { recursive: true });
  await mkdir(join(dir, 'dist'), { recursive: true });
  await writeFile(join(dir, 'dist', 'leash'), '#!/bin/sh\necho leash-test-binary\n', { mode: 0o755 });
  writeManPages(join(dir, 'dist', 'man'), '0.0.0-test', '2026-12-01');
  return dir;
}
