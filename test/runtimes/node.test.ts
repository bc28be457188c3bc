// The ACME flow suite against the edge on Node (startSystem's HTTPS edge, libSQL file).
import { httpsFetch } from '../support/https-fetch.ts';
import { type Deps, execLibsql, seedEabLibsql, startDeps } from './edges.ts';
import { acmeFlowSuite } from './flow.ts';

let deps: Deps | undefined;

acmeFlowSuite(
  'the edge on Node',
  async () => {
    deps = await startDeps();
    const { sys, dns, http01 } = deps;
    return {
      directoryUrl: sys.directoryUrl,
      fetch: httpsFetch(sys.caFile),
      caFile: sys.caFile,
      seedEab: () => seedEabLibsql(sys.dbUrl),
      exec: (sql) => execLibsql(sys.dbUrl, sql),
      dns,
      http01,
    };
  },
  async () => {
    await deps?.stop();
  },
);
