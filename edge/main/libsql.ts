// How the Node and Deno entry points reach a libSQL database (Workers use D1 or @libsql/client's web
// client, workers.ts). Apart from boot.ts, which Workers bundle too: the embedded-file client loads
// the native `libsql` package, which a Worker cannot.
import { type Client, createClient } from '@libsql/client';
import { resilientClient } from '../../shared/libsql.ts';
import type { EdgeConfig } from '../config.ts';
import { databaseFilePath } from '../platform/db-file.ts';
import { openFileClient } from '../platform/libsql-file-client.ts';
import { FILE_PRAGMAS } from '../storage/db.ts';

/**
 * The configured libSQL database: an embedded file through the `libsql` package with its
 * statements prepared once (edge/platform/libsql-file-client.ts), a remote database (or an
 * in-memory one) through @libsql/client.
 */
export function openLibsqlClient(config: EdgeConfig): Client {
  const file = databaseFilePath(config.dbUrl);
  return resilientClient(
    () =>
      file !== undefined
        ? openFileClient(file, { pragmas: FILE_PRAGMAS })
        : createClient({
            url: config.dbUrl,
            ...(config.dbAuthToken ? { authToken: config.dbAuthToken } : {}),
          }),
    FILE_PRAGMAS,
  );
}
