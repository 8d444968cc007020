/** Types of bin/riq-bundle.mjs (plain JavaScript: bin/riq.mjs runs it before any TypeScript). */
export declare const REPO_ROOT: string;
export declare const ENTRY: string;
export declare const BUNDLE_FILE: string;
export declare function metaFileOf(bundleFile: string): string;
export declare function isFresh(bundleFile?: string): boolean;
export declare class EsbuildMissingError extends Error {
  constructor(cause: unknown);
}
export declare function buildBundle(bundleFile?: string): Promise<{ bytes: number; ms: number }>;
export declare function freshBundle(bundleFile?: string): Promise<string>;
