// The edge database file holds secrets (EAB HMAC keys, the nonce MAC key, admin token hashes), so
// it is created mode 0600 before libSQL opens it, wherever it lives: SQLite gives the -wal and -shm
// files it creates the mode of the database file. This module reads the file path out of a libSQL
// URL; each runtime adapter creates the file with its own file API (node-db-file.ts, deno.ts).

/**
 * The path of a libSQL `file:` URL as @libsql/client reads it (`file:rel/path.db`,
 * `file:/abs/path.db`, `file:///abs/path.db`; query and fragment dropped, percent-escapes decoded),
 * or undefined for a remote URL or an in-memory database.
 */
export function databaseFilePath(url: string): string | undefined {
  const m = /^file:(\/\/[^/?#]*)?([^?#]*)/i.exec(url);
  if (!m) return undefined;
  const path = decodeURIComponent(m[2] ?? '');
  if (path === '' || path === ':memory:') return undefined;
  return path;
}

/** The warning for an existing database file other users may read (undefined when private). */
export function looseModeWarning(path: string, mode: number): string | undefined {
  if ((mode & 0o077) === 0) return undefined;
  return `the edge database ${path} (mode ${(mode & 0o777).toString(8)}) holds EAB keys and the nonce key but other users may read it: chmod 600 ${path} and its -wal and -shm files`;
}
