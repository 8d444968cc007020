/** Types of bin/riq-bundle.mjs (plain JavaScript: bin/riq.mjs runs it before any TypeScript). */
export declare const REPO_ROOT: string;
export declare const ENTRY: string;
export declare const DIST_DIR: string;
export declare function metaFileOf(distDir?: string): string;
export declare function freshEntry(distDir?: string): string | undefined;
export declare class EsbuildMissingError extends Error {
  constructor(cause: unknown);
}
export interface BuiltBundle {
  /** The entry file (absolute). */
  entry: string;
  entryBytes: number;
  /** The entry and every chunk. */
  bytes: number;
  ms: number;
}
export declare function buildBundle(distDir?: string): Promise<BuiltBundle>;
export declare function freshBundle(distDir?: string): Promise<string>;
