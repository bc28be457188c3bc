// Help text, duration parsing and the human tables of `edgeca admin`.
import { MAX_ACCOUNTS_LIMIT } from '../edge/admin/eab-limits.ts';
import { UsageError } from './args.ts';

export interface Conn {
  url: string;
  token: string;
  ca?: Buffer;
}

export const HELP = `usage: edgeca admin <area> <command> [options]
  token create --scope read|write [--name N] [--db URL]   first token, written straight to the database
  token list | token revoke <id>
  policy list | policy show [SCOPE] | policy delete SCOPE
  policy set SCOPE [--allow RULE]... [--deny RULE]...      SCOPE: global, eab:<kid>, account:<id>
                                                           RULE: name, *.wildcard, .suffix, CIDR
  profile list | profile show NAME | profile delete NAME | profile default NAME
  profile set NAME --validity 24h [--description D] [--key-types EC-P256,RSA-2048,...]
      [--ekus serverAuth,clientAuth] [--identifiers dns,ip] [--wildcards|--no-wildcards]
      [--signer-profile NAME] [--opt-in-challenges dns-persist-01|none]
                                                           (an existing profile keeps what is not given)
  eab create [--name N] [--allow RULE]... [--deny RULE]... [--profiles a,b] [--expires 30d|DATE]
      [--pre-authorize] [--max-accounts N|unlimited]       prints the HMAC key once; binds 1 account
      [--opt-in-challenges dns-persist-01|none]
                                                           unless --max-accounts says otherwise
  eab list | eab show KID | eab revoke KID
  eab update KID [--allow/--deny ...] [--profiles a,b|--all-profiles] [--expires ...]
      [--pre-authorize|--no-pre-authorize] [--max-accounts N|unlimited]
      [--opt-in-challenges dns-persist-01|none]           challenge types offered only where enabled
  dns-persist-record --account ID --name NAME [--wildcard] [--persist-until DATE|UNIX]
                                                           the TXT record to publish, and its risk
  ratelimit list
  ratelimit set NAME --count N --window 1h [--account ID | --eab KID]   (override with --account/--eab)
  ratelimit delete NAME [--account ID | --eab KID]
      NAME: newOrdersPerAccount, certificatesPerDomain, newAccountsPerIP, failedValidationsPerAccount
  account list [--eab KID] [--status S] | account deactivate ID
  order list [--account ID] [--identifier NAME] [--status S]
  cert list [--account ID] [--identifier NAME] [--serial HEX] | cert revoke SERIAL [--reason N]
  preauth list | changes [--limit N]
  renew-now --serial HEX | --issuer KEYID | --pattern RULE      ARI: renew at the next poll (docs/renewal.md)
      [--revoke-when-replaced] [--revoke-at 6h|DATE] [--reason N] [--explanation URL] [--dry-run]
  renewals list | renewals show SERIAL | renewals run             overrides; run due revocations (cron)
  revoke-bulk [--account ID] [--spki HASH] [--pattern RULE] [--issued-after DATE|2h] [--issued-before DATE|2h]
      --reason keyCompromise|superseded|cessationOfOperation|affiliationChanged|privilegeWithdrawn|unspecified|N
      [--limit N] [--dry-run]        selectors combine; at most 200 per call; exit 3: some left, run it again
  blocked-keys list | blocked-keys show HASH | blocked-keys remove HASH     keys refused (SPKI SHA-256)
  blocked-keys add --spki HASH | --jwk-file FILE | --pem-file FILE [--note TEXT]   (docs/admin.md)
  events [--type TYPE] [--limit N]                                the events outbox (docs/events.md)
  webhook list | webhook show ID | webhook delete ID | webhook run
  webhook create --target URL --events certificate.issued,certificate.expiring,... [--description T]
      (prints the signing secret once)
  webhook update ID [--target URL] [--events LIST] [--description T] [--enable|--disable]
  webhook settings [set --allow-private true|false --expiry-share 0.25 --interval 60]
Options: --json (machine output), --url (or EDGECA_ADMIN_URL), --ca-file (or EDGECA_ADMIN_CA_FILE),
    --token-file FILE (or EDGECA_ADMIN_TOKEN_FILE; or the token itself in EDGECA_ADMIN_TOKEN);
    --token T works but shows the token to other local users (ps) and in shell history.
Defaults: the dev edge's adminUrl and tlsCaFile from .edgeca/dev/endpoints.json (npm start writes it).
`;

/** --max-accounts: "unlimited" → null; a number from 1 to MAX_ACCOUNTS_LIMIT; undefined when absent. */
export function maxAccountsOption(v: string | undefined): number | null | undefined {
  if (v === undefined) return undefined;
  if (v === 'unlimited') return null;
  const n = /^\d{1,9}$/.test(v) ? Number(v) : Number.NaN;
  if (!(n >= 1 && n <= MAX_ACCOUNTS_LIMIT))
    throw new UsageError(
      `--max-accounts must be a number from 1 to ${MAX_ACCOUNTS_LIMIT} or "unlimited", got "${v}"`,
    );
  return n;
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** "90", "90s", "15m", "24h", "7d" → seconds */
export function parseDuration(text: string, what: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(text.trim());
  if (!m) throw new UsageError(`${what}: "${text}" is not a duration such as 3600, 15m, 24h or 7d`);
  return Number(m[1]) * (UNITS[m[2] || 's'] ?? 1);
}

/** "30d" (from now), an RFC 3339 date-time, or "never" → ISO string or null */
export function parseExpiry(text: string): string | null {
  if (text === 'never') return null;
  if (/^\d+[smhd]?$/.test(text))
    return new Date(Date.now() + parseDuration(text, '--expires') * 1000).toISOString();
  if (Number.isNaN(Date.parse(text)))
    throw new UsageError(`--expires: "${text}" is neither a duration (30d) nor a date`);
  return text;
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (Array.isArray(v))
    return v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join(',') || '-';
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if ('allow' in o && 'deny' in o) return `allow=${cell(o.allow)} deny=${cell(o.deny)}`;
    if ('type' in o && 'value' in o) return String(o.value);
    const s = JSON.stringify(v);
    return s.length > 60 ? `${s.slice(0, 57)}...` : s;
  }
  return String(v);
}

function table(rows: Record<string, unknown>[]): string {
  if (rows.length === 0) return '(none)\n';
  const cols = Object.keys(rows[0]!);
  const cells = rows.map((r) => cols.map((c) => cell(r[c])));
  const width = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const line = (xs: string[]) =>
    `${xs
      .map((x, i) => x.padEnd(width[i]!))
      .join('  ')
      .trimEnd()}\n`;
  return line(cols) + cells.map(line).join('');
}

/** A table for each list in the answer, or key: value lines for one object. */
export function formatTable(cmd: string[], out: unknown): string {
  if (out === undefined || out === null) return 'done\n';
  if (typeof out !== 'object') return `${String(out)}\n`;
  const o = out as Record<string, unknown>;
  const lists = Object.entries(o).filter(
    ([, v]) => Array.isArray(v) && (v.length === 0 || typeof v[0] === 'object'),
  );
  if (lists.length > 0) {
    const head = Object.entries(o)
      .filter(([k, v]) => !lists.some(([l]) => l === k) && !Array.isArray(v))
      .map(([k, v]) => `${k}: ${cell(v)}\n`)
      .join('');
    return (
      head +
      lists
        .map(([k, v]) => (lists.length > 1 ? `${k}:\n` : '') + table(v as Record<string, unknown>[]))
        .join('\n')
    );
  }
  const pad = Math.max(...Object.keys(o).map((k) => k.length));
  let s = Object.entries(o)
    .map(([k, v]) => `${`${k}:`.padEnd(pad + 2)}${cell(v)}\n`)
    .join('');
  if ('hmacKey' in o || 'token' in o)
    s += `(the ${'hmacKey' in o ? 'HMAC key' : 'token'} is shown only now)\n`;
  if (cmd[0] === 'eab' && cmd[1] === 'create')
    s += 'client: --eab-kid <kid> --eab-hmac-key <hmacKey> (certbot), --eab --kid --hmac (lego)\n';
  return s;
}
