// Types for ensure.mjs (plain JS so it runs before node_modules exists), for the TypeScript tests.
export const ROOT: string;
export class SetupError extends Error {}
export const DEBIAN_PACKAGES: Record<string, { bins: string[]; files: string[]; found?: () => boolean }>;
export function postgresBinDir(root?: string): string | undefined;
export const START_PACKAGES: string[];
export const TEST_PACKAGES: string[];
export const TPM_PACKAGES: string[];
export const BUILD_PACKAGES: string[];
export function which(name: string, pathEnv?: string): string | undefined;
export function ensureNpmDeps(root?: string): boolean;
export function missingPackages(names: string[]): string[];
export function ensureDebianPackages(names: string[]): string[];
export function orExit<T>(step: () => T | Promise<T>): Promise<T>;
