// The variables `npm start` (scripts/start.ts) reads itself, one row each (the row shape and the
// parser: shared/settings.ts): start.ts reads them through readStartSetting alone, and `npm run gen`
// writes their table into README.md. The edge's settings it looks at (EDGECA_HTTP01_PORT,
// EDGECA_BASE_URL, ...) are the edge's rows (edge/settings.ts), read through the edge's reader.
import { type Setting, settingReader } from '../../shared/settings.ts';

/**
 * Whom a variable is meant for besides `npm start`: every service, the signers alone (the store's
 * URL and password), or none. The signers get the whole environment; the edge, the validator and
 * the DNS bridge only the variables meant for all.
 */
export type Reaches = 'all' | 'signers' | 'none';

export type StartSetting = Setting & { reaches: Reaches };

const PORT = { min: 1, max: 65_535, expected: 'a TCP port (1 to 65535)' } as const;
export const MAX_SIGNERS = 16;

export const START_SETTINGS = [
  {
    name: 'EDGECA_RUNTIME',
    type: 'string',
    default: 'node',
    shown: '`node`',
    description: 'the runtime the edge runs on: `node`, `deno` or `workerd` (the table below)',
    secret: false,
    reaches: 'all',
  },
  {
    name: 'EDGECA_PORT',
    type: 'int',
    default: 14_000,
    ...PORT,
    shown: '`14000`',
    description: "the edge's port",
    secret: false,
    reaches: 'all',
  },
  {
    name: 'EDGECA_SIGNER_PORT',
    type: 'int',
    ...PORT,
    shown: "`signer.json`'s, `14100`",
    description: "the first signer's port; more signers take the ports above it",
    secret: false,
    reaches: 'all',
  },
  {
    name: 'EDGECA_VALIDATOR_PORT',
    type: 'int',
    default: 14_200,
    ...PORT,
    shown: '`14200`',
    description: "the on-prem validator's port",
    secret: false,
    reaches: 'all',
  },
  {
    name: 'EDGECA_VALIDATOR_DNS_RESOLVER',
    type: 'string',
    shown: 'the system resolver',
    description: 'the DNS server the on-prem validator resolves through',
    secret: false,
    reaches: 'all',
  },
  {
    name: 'EDGECA_START_TIMEOUT_S',
    type: 'int',
    default: 60,
    shown: '`60`',
    description: 'seconds each service has to become healthy',
    secret: false,
    reaches: 'all',
  },
  {
    name: 'EDGECA_DEMO_NAME',
    type: 'string',
    default: 'app.example.test',
    shown: '`app.example.test`',
    description: 'the name in the printed client commands',
    secret: false,
    reaches: 'all',
  },
  {
    name: 'EDGECA_DOH_BRIDGE_PORT',
    type: 'int',
    ...PORT,
    shown: 'the edge port + 4',
    description: 'workerd only: the port of the DNS-over-HTTPS bridge to `EDGECA_DNS_RESOLVER`',
    secret: false,
    reaches: 'all',
  },
  {
    name: 'EDGECA_SIGNERS',
    type: 'int',
    default: 1,
    min: 1,
    max: MAX_SIGNERS,
    expected: `a whole number of signers from 1 to ${MAX_SIGNERS}`,
    shown: '`1`',
    description:
      'how many signers run, on `EDGECA_SIGNER_PORT` and the ports above it, sharing the store and the token',
    secret: false,
    reaches: 'none',
  },
  {
    name: 'EDGECA_SIGNER_DATABASE_URL',
    type: 'string',
    shown: "`signer.json`'s `database`",
    description:
      "the signers' store, e.g. `postgres://edgeca@127.0.0.1:5432/edgeca` (never with a password in it)",
    secret: false,
    reaches: 'signers',
  },
  {
    name: 'EDGECA_SIGNER_DATABASE_PASSWORD',
    type: 'string',
    shown: 'unset',
    description: "the store's PostgreSQL password (not with `EDGECA_SIGNER_DATABASE_PASSWORD_FILE`)",
    secret: true,
    reaches: 'signers',
  },
  {
    name: 'EDGECA_SIGNER_DATABASE_PASSWORD_FILE',
    type: 'string',
    shown: 'unset',
    description: "a file (mode 0600) holding the store's password; its path goes into the signers' configs",
    secret: false,
    reaches: 'signers',
  },
] as const satisfies readonly StartSetting[];

export type StartSettingName = (typeof START_SETTINGS)[number]['name'];

export const START_SETTING_ROWS: readonly StartSetting[] = START_SETTINGS;

/** One of `npm start`'s own variables from the environment, parsed by its row. */
export const readStartSetting = settingReader(START_SETTINGS);

/** The variables the edge, the validator and the DNS bridge do not get. */
export const NOT_FOR_OTHERS: readonly string[] = START_SETTING_ROWS.filter((s) => s.reaches !== 'all').map(
  (s) => s.name,
);
