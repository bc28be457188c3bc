// The options of `edgeca admin` (one table for every command) and the small readers the commands
// share: a comma-separated list, a value that must be there, a query string from options.
import { parseCommandLine, UsageError } from './args.ts';

/** A comma-separated option as a list (blanks dropped); undefined when not given. */
export const csv = (v: string | undefined) =>
  v === undefined
    ? undefined
    : v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);

/** A value the command cannot do without: missing, a usage error naming it. */
export function need(v: string | undefined, what: string): string {
  if (!v) throw new UsageError(`name the ${what}`);
  return v;
}

export type Values = ReturnType<typeof parse>['values'];

/** The command line of `edgeca admin`: one option table for every command. */
export function parse(args: string[]) {
  return parseCommandLine(args, {
    url: { type: 'string' },
    token: { type: 'string' },
    'token-file': { type: 'string' },
    'ca-file': { type: 'string' },
    db: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
    scope: { type: 'string' },
    name: { type: 'string' },
    allow: { type: 'string', multiple: true },
    deny: { type: 'string', multiple: true },
    profiles: { type: 'string' },
    'all-profiles': { type: 'boolean' },
    expires: { type: 'string' },
    'pre-authorize': { type: 'boolean' },
    'no-pre-authorize': { type: 'boolean' },
    'max-accounts': { type: 'string' },
    description: { type: 'string' },
    validity: { type: 'string' },
    'key-types': { type: 'string' },
    ekus: { type: 'string' },
    identifiers: { type: 'string' },
    wildcards: { type: 'boolean' },
    'no-wildcards': { type: 'boolean' },
    'signer-profile': { type: 'string' },
    count: { type: 'string' },
    window: { type: 'string' },
    account: { type: 'string' },
    eab: { type: 'string' },
    identifier: { type: 'string' },
    serial: { type: 'string' },
    status: { type: 'string' },
    reason: { type: 'string' },
    limit: { type: 'string' },
    issuer: { type: 'string' },
    pattern: { type: 'string' },
    'revoke-when-replaced': { type: 'boolean' },
    'revoke-at': { type: 'string' },
    explanation: { type: 'string' },
    'dry-run': { type: 'boolean' },
    spki: { type: 'string' },
    'issued-after': { type: 'string' },
    'issued-before': { type: 'string' },
    'jwk-file': { type: 'string' },
    'pem-file': { type: 'string' },
    note: { type: 'string' },
    target: { type: 'string' },
    events: { type: 'string' },
    enable: { type: 'boolean' },
    disable: { type: 'boolean' },
    type: { type: 'string' },
    'allow-private': { type: 'string' },
    'expiry-share': { type: 'string' },
    interval: { type: 'string' },
    'opt-in-challenges': { type: 'string' },
    wildcard: { type: 'boolean' },
    'persist-until': { type: 'string' },
  });
}

/** The query string of the options named in `map` (query parameter -> option) that were given. */
export function query(v: Values, map: Record<string, keyof Values>): string {
  const q = new URLSearchParams();
  for (const [k, opt] of Object.entries(map)) {
    const x = v[opt];
    if (typeof x === 'string') q.set(k, x);
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}
