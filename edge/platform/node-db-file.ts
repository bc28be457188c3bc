// Node's half of edge/platform/db-file.ts: create the edge database file 0600 before libSQL opens it.
import { closeSync, openSync, statSync } from 'node:fs';
import { databaseFilePath, looseModeWarning } from './db-file.ts';

/**
 * For a `file:` URL: creates the database file with mode 0600 if it does not exist (an empty file
 * is an empty SQLite database), so its -wal and -shm files are 0600 too. Returns a warning when an
 * existing file is readable by other users; its mode is the operator's to change.
 */
export function prepareDatabaseFile(url: string): string | undefined {
  const path = databaseFilePath(url);
  if (path === undefined) return undefined;
  // 'wx' creates the file only if it is missing; the mode applies to a file it creates.
  try {
    closeSync(openSync(path, 'wx', 0o600));
    return undefined;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  return looseModeWarning(path, statSync(path).mode);
}
