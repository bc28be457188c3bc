#!/usr/bin/env node
// The one edgeca CLI: `edgeca signer ...`, `edgeca edge ...`, `edgeca eab ...`, `edgeca admin ...`.
// TypeScript sources run through tsx's loader so no build step is needed on Node 20.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
