// The build id (src/version.ts BUILD_ID): the bundle's own sha256. esbuild
// writes the placeholder where BUILD_ID is used; build/build.mjs then hashes
// the bundle as it is and writes the hash over the placeholder (the same
// length, so nothing else in the file moves). Anyone can check a bundle:
// put the placeholder back in place of the id and hash it again.
import { createHash } from 'node:crypto';

export const BUILD_ID_PLACEHOLDER = `leash-build-id-${'0'.repeat(49)}`;

/** The id of a bundle that still holds the placeholder. */
export function buildIdOf(bundleWithPlaceholder) {
  if (!bundleWithPlaceholder.includes(BUILD_ID_PLACEHOLDER)) throw new Error('the bundle holds no build id placeholder');
  return createHash('sha256').update(bundleWithPlaceholder).digest('hex');
}
