// Types for build/manpages.mjs (imported by test/build/manpages.test.ts).
export declare function toRoff(markdown: string, name: string, section: string, version: string, date: string): string;
export declare function writeManPages(outDir: string, version: string, date: string): string[];
export declare function docsDate(): string;
