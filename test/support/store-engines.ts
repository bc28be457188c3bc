// The signer's store on both engines for a test file: an embedded libSQL file and a database on a
// throwaway PostgreSQL server (test/support/postgres.ts), each case on a fresh database. `raw` is
// an engine of the store's own SQL layer on the same database, standing for someone with write
// access to it (to tamper, as an attacker would).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { LibsqlEngine } from '../../signer/store/libsql-engine.ts';
import { PostgresEngine } from '../../signer/store/postgres-engine.ts';
import type { Engine } from '../../signer/store/sql.ts';
import { type OpenOptions, SignerStore } from '../../signer/store/store.ts';
import { type PgHarness, skipWithoutPostgres, startPostgres } from './postgres.ts';

export interface FreshStore {
  url: string;
  open(o?: Omit<OpenOptions, 'password'>): Promise<SignerStore>;
  /** the same database through the SQL layer, outside any SignerStore */
  raw(): Promise<Engine>;
}

export interface StoreEngine {
  name: 'libSQL' | 'PostgreSQL';
  skip: string | false;
  fresh(): Promise<FreshStore>;
}

const ROLE = { user: 'edgeca_signer', password: 'store-engines-pw' };

/** The two engines; temporary files and the PostgreSQL server go when the test file ends. */
export function storeEngines(prefix: string): StoreEngine[] {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  let pg: Promise<PgHarness> | undefined;
  const engines: Engine[] = [];
  let n = 0;
  after(async () => {
    for (const e of engines) await e.close().catch(() => {});
    await (await pg?.catch(() => undefined))?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  const keep = <E extends Engine>(e: E): E => {
    engines.push(e);
    return e;
  };
  const log = () => {};
  return [
    {
      name: 'libSQL',
      skip: false,
      async fresh() {
        const url = `file:${join(dir, `s${++n}.db`)}`;
        return {
          url,
          open: (o = {}) => SignerStore.open(url, o),
          raw: async () => keep(await LibsqlEngine.open(url, log)),
        };
      },
    },
    {
      name: 'PostgreSQL',
      skip: skipWithoutPostgres(),
      async fresh() {
        pg ??= startPostgres().then(async (h) => {
          await h.primary.psql(`CREATE ROLE ${ROLE.user} LOGIN PASSWORD '${ROLE.password}'`);
          return h;
        });
        const server = (await pg).primary;
        const db = `s${++n}`;
        await server.psql(`CREATE DATABASE ${db} OWNER ${ROLE.user} STRATEGY FILE_COPY`);
        const url = server.url(db, ROLE.user);
        return {
          url,
          open: (o = {}) => SignerStore.open(url, { ...o, password: ROLE.password }),
          raw: async () => keep(await PostgresEngine.open(url, { password: ROLE.password, log })),
        };
      },
    },
  ];
}
