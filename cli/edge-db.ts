// The edge database for the CLI commands that write it directly (`edgeca eab`, `edgeca admin token
// create`: the first credentials, before any admin token exists): --db URL, else EDGECA_DB_URL,
// else the dev edge's local D1 when npm start runs it on workerd, else file:.edgeca/dev/edge.db.
// They change it only through the edge's own stores, which record every change in the change log.
import { createClient } from '@libsql/client';
import { prepareDatabaseFile } from '../edge/platform/node-db-file.ts';
import { type Db, openDatabase } from '../edge/storage/db.ts';
import { localD1Database, localD1FromEndpoints } from './d1-local.ts';

export const DEV_DB_URL = 'file:.edgeca/dev/edge.db';

export interface EdgeDb {
  db: Db;
  /** where it is, for messages */
  where: string;
  close(): void;
}

export async function openEdgeDb(
  dbOption: string | undefined,
  warn: (line: string) => void,
): Promise<EdgeDb> {
  const explicit = dbOption ?? process.env.EDGECA_DB_URL;
  const d1 = explicit ? undefined : localD1FromEndpoints();
  if (d1) return { db: localD1Database(d1), where: `the local D1 in ${d1.persistDir}`, close() {} };
  const url = explicit ?? DEV_DB_URL;
  const loose = prepareDatabaseFile(url);
  if (loose) warn(`warning: ${loose}`);
  const client = createClient({
    url,
    ...(process.env.EDGECA_DB_AUTH_TOKEN ? { authToken: process.env.EDGECA_DB_AUTH_TOKEN } : {}),
  });
  try {
    return { db: (await openDatabase(client)).db, where: url, close: () => client.close() };
  } catch (e) {
    client.close();
    throw e;
  }
}
