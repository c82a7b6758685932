// Types for build/sea-config.mjs (imported by bench/harness.ts).
export declare const RUNTIME_MAJOR: number;
export declare const SEA_CONFIG: Readonly<Record<string, unknown>>;
export declare const SEA_TARGET: Readonly<{ nodeRange: string; platform: string; arch: string }>;
