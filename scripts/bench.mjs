// `npm run bench [-- --quick]`: the benchmark (bench/main.ts, run through tsx's loader; the services
// it starts run the compiled dist/).
// Issuance against Pebble, the signer against the raw HSM, growth; docs/bench.md explains the figures.
import { register } from 'tsx/esm/api';
import { build } from './lib/build.mjs';
import { orExit } from './lib/ensure.mjs';

// The services under test run compiled JavaScript (bin/edgeca.mjs runs a current dist/), as in production.
await orExit(() => build());
register();
await import('../bench/main.ts');
