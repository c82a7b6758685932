// Types for build/build-id.mjs (imported by test/build/binary.test.ts).
export declare const BUILD_ID_PLACEHOLDER: string;
export declare function buildIdOf(bundleWithPlaceholder: string): string;
