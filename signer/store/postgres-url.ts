// Checks a PostgreSQL store URL before anything connects with it: libpq's form
// `postgres://user@host1:port1,host2:port2/db?target_session_attrs=read-write`, never with a
// password in it (the password comes from the environment or a file: a URL is copied into configs,
// logs and process lists).

export interface PostgresTarget {
  hosts: { host: string; port: number }[];
  user: string;
  database: string;
  /**
   * What the driver is asked for: `primary` whenever there may be a standby among the hosts.
   * postgres.js 3.4 judges `read-write` by default_transaction_read_only, which a hot standby
   * reports as off: measured, it accepted a standby and every write then failed. `primary` asks
   * in_hot_standby and skips standbys, which is what libpq's read-write means for the signer.
   */
  targetSessionAttrs: 'primary' | undefined;
  /** the other query parameters (sslmode, connect_timeout, ...) as given */
  params: Record<string, string>;
}

const SCHEME = /^postgres(?:ql)?:\/\//i;

export const isPostgresUrl = (url: string): boolean => SCHEME.test(url);

/** Parses and checks a postgres:// or postgresql:// URL; throws saying what is wrong and how to fix it. */
export function parsePostgresUrl(url: string): PostgresTarget {
  const m = /^(postgres(?:ql)?):\/\/(?:([^@/?#]*)@)?([^/?#]*)(?:\/([^?#]*))?(?:\?([^#]*))?$/i.exec(url);
  if (!m) throw new Error(`the store URL is not a postgres://user@host:port/database URL`);
  const [, , userinfo = '', hostlist = '', db = '', query = ''] = m;
  if (userinfo.includes(':')) {
    throw new Error(
      'the store URL contains a password: remove it (postgres://user@host/db) and give the password in ' +
        'EDGECA_SIGNER_DATABASE_PASSWORD or in the file named by databasePasswordFile (mode 0600)',
    );
  }
  const user = decodeURIComponent(userinfo);
  if (!user) throw new Error('the store URL names no user: postgres://USER@host:port/database');
  const hosts = hostlist.split(',').map((h) => {
    const hm = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/i.exec(h);
    const port = Number(hm?.[2] ?? 5432);
    if (!hm?.[1] || port < 1 || port > 65535)
      throw new Error(`the store URL has a bad host "${h}" (host:port, comma-separated for several)`);
    return { host: hm[1].replace(/^\[|\]$/g, ''), port };
  });
  const database = decodeURIComponent(db);
  if (!database) throw new Error('the store URL names no database: postgres://user@host:port/DATABASE');
  const params: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(query)) params[k] = v;
  if ('password' in params)
    throw new Error('the store URL contains a password parameter: use EDGECA_SIGNER_DATABASE_PASSWORD');
  const tsa = params.target_session_attrs;
  delete params.target_session_attrs;
  if (tsa !== undefined && !['read-write', 'primary', 'any'].includes(tsa)) {
    throw new Error(
      `target_session_attrs=${tsa} would let the signer connect to a standby, where it cannot write: ` +
        'use read-write (or primary)',
    );
  }
  const targetSessionAttrs =
    tsa === 'any' || (tsa === undefined && hosts.length === 1) ? undefined : 'primary';
  return { hosts, user, database, targetSessionAttrs, params };
}
