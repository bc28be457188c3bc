// `npm run bench [-- --quick]`: the benchmark (bench/main.ts, run through tsx's loader like the CLI).
// Issuance against Pebble, the signer against the raw HSM, growth; docs/bench.md explains the figures.
import { register } from 'tsx/esm/api';

register();
await import('../bench/main.ts');
