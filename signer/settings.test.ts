// The signer's environment settings are read through their table: the store password and the SQL
// statement counter, each with the value the code always gave it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { settingsHelp } from '../shared/settings-docs.ts';
import { readSignerSetting, SIGNER_SETTING_ROWS } from './settings.ts';
import { databasePassword } from './store/configured.ts';

test('EDGECA_SQL_STATEMENT_METRICS is off unless set to 1/true/yes/on', () => {
  assert.equal(readSignerSetting({}, 'EDGECA_SQL_STATEMENT_METRICS'), false);
  for (const v of ['1', 'true', 'YES', 'on'])
    assert.equal(
      readSignerSetting({ EDGECA_SQL_STATEMENT_METRICS: v }, 'EDGECA_SQL_STATEMENT_METRICS'),
      true,
    );
  assert.equal(
    readSignerSetting({ EDGECA_SQL_STATEMENT_METRICS: '0' }, 'EDGECA_SQL_STATEMENT_METRICS'),
    false,
  );
});

test('the store password comes from EDGECA_SIGNER_DATABASE_PASSWORD, an empty one is none', () => {
  assert.equal(databasePassword({}, '/', { EDGECA_SIGNER_DATABASE_PASSWORD: 's3cret' }), 's3cret');
  assert.equal(databasePassword({}, '/', { EDGECA_SIGNER_DATABASE_PASSWORD: '' }), undefined);
  assert.equal(databasePassword({}, '/', {}), undefined);
});

test('the password is marked a secret, and the help lists every row', () => {
  const secrets = SIGNER_SETTING_ROWS.filter((s) => s.secret).map((s) => s.name);
  assert.deepEqual(secrets, ['EDGECA_SIGNER_DATABASE_PASSWORD']);
  const help = settingsHelp(SIGNER_SETTING_ROWS);
  for (const s of SIGNER_SETTING_ROWS) assert.match(help, new RegExp(`^  ${s.name} `, 'm'));
});
