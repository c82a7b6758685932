/** Replaced at build time by the bundler (see build/build.mjs); the source value is for tests and `tsx` runs. */
declare const LEASH_VERSION: string | undefined;
export const VERSION: string = typeof LEASH_VERSION === 'string' ? LEASH_VERSION : '0.1.0-dev';

/**
 * The bundle's own sha256 (build/build.mjs computes it over the bundle with a
 * placeholder here, then writes it over the placeholder). Two builds of
 * different code never share it; the compiled configuration cache is tied to
 * it. From source (tests, `tsx`) it is `source`.
 */
declare const LEASH_BUILD_ID: string | undefined;
export const BUILD_ID: string = typeof LEASH_BUILD_ID === 'string' ? LEASH_BUILD_ID : 'source';
