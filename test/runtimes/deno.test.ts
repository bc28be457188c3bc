// The ACME flow suite against the edge on Deno (the npm `deno` binary, HTTPS through Deno.serve,
// its own libSQL file, DNS through Deno.resolveDns to pebble-challtestsrv), signer on SoftHSM.
import { join } from 'node:path';
import { httpsFetch } from '../support/https-fetch.ts';
import { type Deps, execLibsql, type RunningEdge, seedEabLibsql, startDenoEdge, startDeps } from './edges.ts';
import { acmeFlowSuite } from './flow.ts';

let deps: Deps | undefined;
let edge: RunningEdge | undefined;

acmeFlowSuite(
  'the edge on Deno',
  async () => {
    deps = await startDeps();
    const { sys, dns, http01 } = deps;
    const fetch = httpsFetch(sys.caFile);
    const dbUrl = `file:${join(sys.dir, 'deno-edge.db')}`;
    edge = await startDenoEdge({ sys, dbUrl, dnsResolver: dns.dnsAddress, http01Port: http01.port, fetch });
    return {
      directoryUrl: `${edge.baseUrl}/directory`,
      fetch,
      caFile: sys.caFile,
      seedEab: () => seedEabLibsql(dbUrl),
      exec: (sql) => execLibsql(dbUrl, sql),
      dns,
      http01,
      output: () => edge?.output() ?? '',
    };
  },
  async () => {
    await edge?.stop();
    await deps?.stop();
  },
);
