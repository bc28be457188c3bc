// Where the signer's store and its password come from: signer.json's `database` and
// `databasePasswordFile`, or EDGECA_SIGNER_DATABASE_PASSWORD; never a password in the URL.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { checkDatabaseSetting, databasePassword, PASSWORD_ENV } from './configured.ts';
import { parsePostgresUrl } from './postgres-url.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgeca-store-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string, mode: number): string {
  writeFileSync(join(dir, name), text, { mode });
  return name;
}

const passwordCases: [string, { file?: string; env?: string }, string | undefined | RegExp][] = [
  ['none given: none used', {}, undefined],
  ['from the environment', { env: 'from-env' }, 'from-env'],
  ['from a 0600 file, without its final newline', { file: file('pw', 'from-file\n', 0o600) }, 'from-file'],
  [
    'refuses a file others may read',
    { file: file('pw-open', 'x\n', 0o644) },
    /may be read by others: chmod 600/,
  ],
  ['refuses an empty file', { file: file('pw-empty', '\n', 0o600) }, /is empty/],
  [
    'refuses a missing file, naming it',
    { file: 'absent' },
    /cannot read the store password file .*absent.*ENOENT/,
  ],
  [
    'refuses both at once',
    { file: file('pw-both', 'a', 0o600), env: 'b' },
    /both EDGECA_SIGNER_DATABASE_PASSWORD and databasePasswordFile/,
  ],
];

for (const [name, given, want] of passwordCases) {
  test(`store password ${name}`, () => {
    const env = given.env === undefined ? {} : { [PASSWORD_ENV]: given.env };
    const get = () =>
      databasePassword(given.file === undefined ? {} : { databasePasswordFile: given.file }, dir, env);
    if (want instanceof RegExp) assert.throws(get, want);
    else assert.equal(get(), want);
  });
}

const settingCases: [string, unknown, RegExp | null][] = [
  ['accepts a libSQL file', 'file:signer.db', null],
  [
    'accepts a multi-host PostgreSQL URL',
    'postgresql://edgeca@db1:5432,db2:5433/edgeca?target_session_attrs=read-write',
    null,
  ],
  ['refuses a missing setting', undefined, /needs `database`/],
  ['refuses an unknown scheme', 'mysql://u@h/db', /neither a file: \/ libSQL URL nor a postgres:\/\/ URL/],
  ['refuses a password in a PostgreSQL URL', 'postgres://u:pw@h/db', /contains a password/],
];

for (const [name, url, want] of settingCases) {
  test(`database setting ${name}`, () => {
    if (want) assert.throws(() => checkDatabaseSetting(url), want);
    else assert.equal(checkDatabaseSetting(url), url);
  });
}

test('a multi-host URL asks for the primary; a single host as it is; read-write means primary', () => {
  const multi = parsePostgresUrl('postgres://edgeca@10.0.0.1:5432,[::1]:5433/ca?sslmode=require');
  assert.deepEqual(multi.hosts, [
    { host: '10.0.0.1', port: 5432 },
    { host: '::1', port: 5433 },
  ]);
  assert.equal(multi.targetSessionAttrs, 'primary');
  assert.deepEqual(multi.params, { sslmode: 'require' });
  assert.equal(parsePostgresUrl('postgres://edgeca@db/ca').targetSessionAttrs, undefined);
  assert.equal(
    parsePostgresUrl('postgres://edgeca@db/ca?target_session_attrs=read-write').targetSessionAttrs,
    'primary',
  );
});
