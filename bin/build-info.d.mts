// Types for build-info.mjs (plain JS: the installed package runs it without tsx), for the tests.
export const BUILD_INFO_FILE: string;
export interface BuildInfo {
  entry: string;
  sources: Record<string, { size: number; mtimeMs: number }>;
}
export function readBuildInfo(distDir: string): BuildInfo | undefined;
export function sourceStamp(file: string): { size: number; mtimeMs: number } | undefined;
export function changedSources(root: string, info: BuildInfo, limit?: number): string[];
