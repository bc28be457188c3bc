// `npm run build [-- --check]`: compiles the `edgeca` command into dist/ (scripts/lib/build.ts).
// `--check` type-checks as well; `npm pack` runs it that way (the `prepack` script).
import { build } from './lib/build.ts';
import { orExit } from './lib/ensure.ts';

await orExit(() => build({ check: process.argv.includes('--check') }));
