// Types for bootstrap.mjs (plain JS so it runs before node_modules exists), for the TypeScript scripts.
/** What proves a Debian package installed: binaries on PATH, files, or a check of its own. */
export interface DebianPackage {
  bins: string[];
  files: string[];
  found?: () => boolean;
}
export const ROOT: string;
export class SetupError extends Error {}
export function which(name: string, pathEnv?: string): string | undefined;
export const BUILD_PACKAGES: Record<string, DebianPackage>;
export function missingPackages(names: string[], table?: Record<string, DebianPackage>): string[];
export function ensureDebianPackages(names: string[], table?: Record<string, DebianPackage>): string[];
export function ensureNpmDeps(root?: string): boolean;
export function orExit<T>(step: () => T | Promise<T>): Promise<T>;
export const SCRIPTS: string[];
