// What `npm run build` compiled into dist/, and whether that still matches the TypeScript sources.
// The build writes dist/build-info.json: the compiled entry and, for each source file, its size and
// modification time. In a git checkout `edgeca` runs dist/ only while every recorded source is
// unchanged, so an edit never leaves old compiled code running; the installed package has no
// sources and always runs dist/. Plain Node ESM: the installed package runs it without tsx.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const BUILD_INFO_FILE = 'build-info.json';

/**
 * @typedef {{ entry: string, sources: Record<string, { size: number, mtimeMs: number }> }} BuildInfo
 * `entry` is relative to dist/; the keys of `sources` are relative to the repository root.
 */

/** dist/build-info.json, or undefined when there is no complete build. @returns {BuildInfo | undefined} */
export function readBuildInfo(distDir) {
  try {
    const info = JSON.parse(readFileSync(join(distDir, BUILD_INFO_FILE), 'utf8'));
    if (typeof info?.entry !== 'string' || typeof info?.sources !== 'object' || info.sources === null)
      return undefined;
    return info;
  } catch {
    return undefined;
  }
}

/** How a source file looks now, as the build records it; undefined when it is gone. */
export function sourceStamp(file) {
  try {
    const st = statSync(file);
    return { size: st.size, mtimeMs: st.mtimeMs };
  } catch {
    return undefined;
  }
}

/**
 * The recorded sources that changed or disappeared since the build (at most `limit`), relative to
 * `root`. An empty list means dist/ is what the sources compile to. A file added since the build
 * matters only once an existing file imports it, and that file then shows as changed.
 */
export function changedSources(root, info, limit = 5) {
  const changed = [];
  for (const [rel, was] of Object.entries(info.sources)) {
    const now = sourceStamp(join(root, rel));
    if (!now || now.size !== was.size || now.mtimeMs !== was.mtimeMs) {
      changed.push(rel);
      if (changed.length >= limit) break;
    }
  }
  return changed;
}
