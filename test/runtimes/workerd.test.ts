// The ACME flow suite against the edge on workerd (`wrangler dev --local` with the repository's
// wrangler.toml and its local D1), resolving through the test DoH responder in front of
// pebble-challtestsrv (Workers have no UDP); signer on SoftHSM.
import { type DohServer, startDohServer } from '../../cli/doh-bridge.ts';
import { httpsFetch } from '../support/https-fetch.ts';
import { type Deps, startDeps, startWorkerdEdge, type WorkerdEdge } from './edges.ts';
import { acmeFlowSuite } from './flow.ts';

let deps: Deps | undefined;
let doh: DohServer | undefined;
let edge: WorkerdEdge | undefined;

acmeFlowSuite(
  'the edge on workerd',
  async () => {
    deps = await startDeps();
    const { sys, dns, http01 } = deps;
    doh = await startDohServer(dns.dnsAddress);
    const fetch = httpsFetch(sys.caFile);
    edge = await startWorkerdEdge({ sys, dnsResolver: doh.url, http01Port: http01.port, fetch });
    const e = edge;
    return {
      directoryUrl: `${e.baseUrl}/directory`,
      fetch,
      caFile: sys.caFile,
      seedEab: () => e.seedEab(),
      exec: (sql) => e.exec(sql),
      dns,
      http01,
      output: () => e.output(),
    };
  },
  async () => {
    await edge?.stop();
    await doh?.close();
    await deps?.stop();
  },
);
