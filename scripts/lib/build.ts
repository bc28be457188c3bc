// `npm run build` (and the first step of `npm start` and `npm run bench`): compiles the `edgeca`
// command into dist/ with the TypeScript compiler (tsconfig.build.json: the CLI entry and whatever
// it imports, `.ts` specifiers rewritten to `.js`), then writes dist/build-info.json, which lets
// bin/edgeca.mjs tell a current build from one older than the sources. The output goes to a fresh
// directory that replaces dist/ at the end, so files of moved or deleted modules never linger and
// a failed build leaves the previous dist/ as it was.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { BUILD_INFO_FILE, type BuildInfo, sourceStamp } from '../../bin/build-info.mjs';
import { ROOT, SetupError } from './ensure.ts';

/** Every file under dir, relative to it, with `/` separators. */
function filesUnder(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(full, base));
    else out.push(relative(base, full).split(sep).join('/'));
  }
  return out;
}

/** The source a compiled file came from: `x.js` from `x.ts`; anything else (JSON) is copied as is. */
function sourceOf(root: string, compiled: string): string {
  if (compiled.endsWith('.js')) {
    const ts = `${compiled.slice(0, -'.js'.length)}.ts`;
    if (existsSync(join(root, ts))) return ts;
  }
  return compiled;
}

/**
 * Compiles into `<root>/dist`. `check: true` also type-checks (what `npm pack` runs); without it
 * the compiler only emits (about a second), and type errors are `npm test`'s to report.
 * Returns the number of compiled files; throws a SetupError when the compiler fails.
 */
export function build({ root = ROOT, check = false, quiet = false } = {}): number {
  const config = join(root, 'tsconfig.build.json');
  const { files } = JSON.parse(
    // tsconfig files may hold comments; only the entry list is read here
    readFileSync(config, 'utf8').replace(/^\s*\/\/.*$/gm, ''),
  ) as { files?: unknown[] };
  const entry = files?.[0];
  if (typeof entry !== 'string') throw new SetupError(`${config} names no entry in "files"`);
  // The package's `bin` entry (its exports map hides bin/ from require.resolve).
  const tsDir = dirname(createRequire(join(root, 'package.json')).resolve('typescript/package.json'));
  const tsc = join(tsDir, 'bin', 'tsc');
  const out = join(root, `dist.tmp-${process.pid}`);
  rmSync(out, { recursive: true, force: true });
  try {
    const args = [tsc, '-p', config, '--outDir', out, ...(check ? [] : ['--noCheck'])];
    // A source saved after this instant may have been read by the compiler before the save: it is
    // recorded as changed, so `edgeca` runs the sources until the next build. (The compiler reads
    // nothing in its first milliseconds, so the coarse file-system clock cannot hide such a save.)
    const started = Date.now();
    const r = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0)
      throw new SetupError(`the TypeScript build failed (tsc exit ${r.status ?? r.signal}); see above`);

    const emitted = filesUnder(out);
    // A relative import whose specifier is computed at run time cannot be followed by the
    // compiler: its module would be missing from dist/ and fail only when that code path runs.
    const computed = emitted.filter(
      (f) => f.endsWith('.js') && readFileSync(join(out, f), 'utf8').includes('import(__rewriteRelative'),
    );
    if (computed.length > 0) {
      throw new SetupError(
        `dynamic import() with a computed relative specifier in ${computed.map(sourceOf.bind(null, root)).join(', ')}: ` +
          'write the path as a string literal so the build includes that module',
      );
    }
    const sources: BuildInfo['sources'] = {};
    for (const f of emitted) {
      const src = sourceOf(root, f);
      const stamp = sourceStamp(join(root, src));
      if (!stamp) throw new SetupError(`the build wrote dist/${f} but its source ${src} is not there`);
      sources[src] = stamp.mtimeMs > started ? { ...stamp, mtimeMs: 0 } : stamp;
    }
    const info = { entry: entry.replace(/\.ts$/, '.js'), sources };
    writeFileSync(join(out, BUILD_INFO_FILE), `${JSON.stringify(info, null, 1)}\n`);

    const dist = join(root, 'dist');
    rmSync(dist, { recursive: true, force: true });
    renameSync(out, dist);
    if (!quiet) process.stderr.write(`[edgeca] built dist/ (${emitted.length} files)\n`);
    return emitted.length;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
