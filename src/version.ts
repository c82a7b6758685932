/** Replaced at build time by the bundler (see build/build.mjs); the source value is for tests and `tsx` runs. */
declare const LEASH_VERSION: string | undefined;
export const VERSION: string = typeof LEASH_VERSION === 'string' ? LEASH_VERSION : '0.1.0-dev';
