// `npm run bench [-- --quick]`: the benchmark (bench/main.ts; the services it starts run the
// compiled dist/). Issuance against Pebble, the signer against the raw HSM, growth; docs/bench.md
// explains the figures.
import { build } from './lib/build.ts';
import { orExit } from './lib/ensure.ts';

// The services under test run compiled JavaScript (bin/edgeca.mjs runs a current dist/), as in production.
await orExit(() => build());
await import('../bench/main.ts');
