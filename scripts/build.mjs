// `npm run build [-- --check]`: compiles the `edgeca` command into dist/ (scripts/lib/build.mjs).
// `--check` type-checks as well; `npm pack` runs it that way (the `prepack` script).
import { build } from './lib/build.mjs';
import { orExit } from './lib/ensure.mjs';

await orExit(() => build({ check: process.argv.includes('--check') }));
