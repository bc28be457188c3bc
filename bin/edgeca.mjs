#!/usr/bin/env node
// The one edgeca CLI: `edgeca signer ...`, `edgeca edge ...`, `edgeca eab ...`, `edgeca admin ...`.
// It runs the JavaScript `npm run build` compiled into dist/ with plain Node. The installed package
// holds only dist/, so nothing compiles TypeScript at run time. In a git checkout dist/ runs while it
// matches the sources (bin/build-info.mjs); before the first build or after an edit the TypeScript
// sources run through tsx's loader instead (a devDependency), so old compiled code never runs.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { changedSources, readBuildInfo } from './build-info.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const SOURCE_ENTRY = 'cli/main.ts';

/** A problem with the installation itself, told in one line (anything else keeps its stack). */
class SetupError extends Error {}

async function loadMain() {
  const info = readBuildInfo(`${root}dist`);
  const checkout = existsSync(`${root}${SOURCE_ENTRY}`);
  if (info && (!checkout || changedSources(root, info, 1).length === 0)) {
    return import(pathToFileURL(`${root}dist/${info.entry}`).href);
  }
  if (!checkout) {
    throw new SetupError(`${root}dist is missing or incomplete: reinstall the edgeca package`);
  }
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch (e) {
    if (e?.code !== 'ERR_MODULE_NOT_FOUND') throw e;
    throw new SetupError(
      'dist/ is missing or older than the sources and tsx is not installed: run `npm run build`',
    );
  }
  register();
  return import(pathToFileURL(`${root}${SOURCE_ENTRY}`).href);
}

let main;
try {
  ({ main } = await loadMain());
} catch (e) {
  if (!(e instanceof SetupError)) throw e;
  process.stderr.write(`edgeca: ${e.message}\n`);
  process.exit(1);
}
process.exitCode = await main(process.argv.slice(2));
