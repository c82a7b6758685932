/**
 * Builds the Debian package from this checkout (packaging/build.mjs) into a
 * directory, uncompressed (the contents are what the tests look at; `npm
 * run package` compresses with xz). Needs dist/leash (`npm run build`).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const PACKAGE_VERSION: string = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

export interface DebBuild {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The .deb it wrote. */
  deb: string;
}

/** Through env -i, so tap's NODE_OPTIONS stays out of the build. */
export function buildDeb(outDir: string, env: Record<string, string> = {}): Promise<DebBuild> {
  const vars = Object.entries({ PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...env }).map(([k, v]) => `${k}=${v}`);
  return new Promise((res) =>
    execFile('/usr/bin/env', ['-i', ...vars, process.execPath, join(REPO, 'packaging', 'build.mjs'), '--out', outDir, '--compression', 'none'], { encoding: 'utf8', timeout: 300_000, cwd: REPO }, (err, stdout, stderr) =>
      res({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr, deb: join(outDir, `leash_${PACKAGE_VERSION}_amd64.deb`) }),
    ),
  );
}
