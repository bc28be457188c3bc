// The signer's environment settings, one row each (the row shape and parser: shared/settings.ts).
// Everything else the signer needs is in its config file (signer/config.ts, README "Signer: the
// config file"); the environment holds only what must stay out of that file or is switched per
// run. signer/server.ts and signer/store/configured.ts read these through readSignerSetting alone,
// `edgeca signer --help` lists them and `npm run gen` writes their table into README.md.
import { type Setting, settingReader } from '../shared/settings.ts';

export const SIGNER_SETTINGS = [
  {
    name: 'EDGECA_SIGNER_DATABASE_PASSWORD',
    type: 'string',
    shown: 'unset',
    description:
      'the PostgreSQL password of the store; or `databasePasswordFile` or `databasePasswordCredential` in the config (one of the three)',
    secret: true,
  },
  {
    name: 'EDGECA_SQL_STATEMENT_METRICS',
    type: 'bool',
    default: false,
    shown: '`false`',
    description:
      "count the store's SQL statements by verb and table (`edgeca_signer_sql_statements_total` in `/metrics`)",
    secret: false,
  },
] as const satisfies readonly Setting[];

export type SignerSettingName = (typeof SIGNER_SETTINGS)[number]['name'];

/** The table seen as rows of the general shape. */
export const SIGNER_SETTING_ROWS: readonly Setting[] = SIGNER_SETTINGS;

/** One of the signer's settings from the environment, parsed by its row. */
export const readSignerSetting = settingReader(SIGNER_SETTINGS);
