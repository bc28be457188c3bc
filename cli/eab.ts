// `edgeca eab create|list|revoke`: External Account Binding keys, written straight to the edge
// database (cli/edge-db.ts) — for the first keys, before any admin token exists — through the same
// store code as the admin API, each change recorded in the change log as made by "cli". The HMAC
// key is printed once, at creation, and never again.
import { maxAccountsOption } from './admin-format.ts';
import { parseCommandLine, runCommand, UsageError } from './args.ts';

const HELP = `usage: edgeca eab <create|list|revoke> [options]
  create [--name NAME] [--max-accounts N|unlimited] [--json]
                                  new key: prints the key id and the base64url HMAC key once;
                                  it binds one account unless --max-accounts says otherwise
  list [--json]                   key ids, names, accounts bound, revoked or not (never the HMAC)
  revoke <kid>                    the key binds no further account; its accounts can no longer order
Database: --db URL or EDGECA_DB_URL (default file:.edgeca/dev/edge.db; the local D1 when the dev
edge runs on workerd, as .edgeca/dev/endpoints.json says). Every change is in the change log
(\`edgeca admin changes\`). With an admin token, \`edgeca admin eab ...\` does the same over the API.
`;

const OPTIONS = {
  name: { type: 'string' },
  'max-accounts': { type: 'string' },
  json: { type: 'boolean' },
  db: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const warn = (line: string) => process.stderr.write(`edgeca eab: ${line}\n`);

export function main(args: string[]): Promise<number> {
  return runCommand('edgeca eab', HELP, async () => {
    const { positionals, values } = parseCommandLine(args, OPTIONS, { maxPositionals: 2 });
    const [cmd, arg] = positionals;
    if (values.help || !cmd) {
      process.stdout.write(HELP);
      return 0;
    }
    if (cmd !== 'create' && cmd !== 'list' && cmd !== 'revoke')
      throw new UsageError(`unknown command "${cmd}"`);
    if (cmd !== 'revoke' && arg !== undefined) throw new UsageError(`unexpected argument "${arg}"`);
    if (cmd === 'revoke' && !arg) throw new UsageError('name the key id to revoke (see `edgeca eab list`)');
    const maxAccounts = maxAccountsOption(values['max-accounts']);
    if (cmd !== 'create' && (maxAccounts !== undefined || values.name !== undefined))
      throw new UsageError(`--name and --max-accounts belong to create`);
    // Loaded only now: a mistake in the command line is answered without loading the edge's stores.
    const { eabKeyCreation, eabKeyRevocation, eabKeyView } = await import('../edge/admin/eab-keys.ts');
    const { createEabRepo } = await import('../edge/storage/accounts.ts');
    const { createAdminStore } = await import('../edge/storage/admin.ts');
    const { createSettingsStore, DEFAULT_EAB_SETTINGS } = await import('../edge/storage/settings.ts');
    const { openEdgeDb } = await import('./edge-db.ts');
    const edgeDb = await openEdgeDb(values.db, warn);
    try {
      const db = edgeDb.db;
      const stores = { admin: createAdminStore(db), settings: createSettingsStore(db) };
      const keys = createEabRepo(db);
      if (cmd === 'create') {
        const made = eabKeyCreation(stores, {
          name: values.name ?? '',
          settings: { ...DEFAULT_EAB_SETTINGS },
          policy: null,
          maxAccounts: maxAccounts === undefined ? 1 : maxAccounts,
        });
        await stores.admin.commit(made.stmts, { tokenId: 'cli', ...made.change });
        const { kid, hmacKey } = made;
        if (values.json) process.stdout.write(`${JSON.stringify({ kid, hmacKey })}\n`);
        else
          process.stdout.write(
            `kid:      ${kid}\nhmac key: ${hmacKey}\n(the HMAC key is shown only now; store it in the client's configuration)\n`,
          );
        return 0;
      }
      if (cmd === 'list') {
        const bound = await keys.boundAccountsByKey();
        const all = (await keys.list()).map((k) => ({
          kid: k.kid,
          name: k.name,
          accountId: k.accountId,
          boundAccounts: bound.get(k.kid) ?? 0,
          maxAccounts: k.maxAccounts,
          revokedAt: k.revokedAt,
        }));
        if (values.json) process.stdout.write(`${JSON.stringify(all)}\n`);
        else
          for (const k of all)
            process.stdout.write(
              `${k.kid}\t${k.name || '-'}\t${k.boundAccounts}/${k.maxAccounts ?? 'unlimited'} accounts\t${k.accountId ?? 'unbound'}\t${k.revokedAt ? 'revoked' : 'active'}\n`,
            );
        return 0;
      }
      const kid = arg!;
      const key = await keys.get(kid);
      if (!key || key.revokedAt) {
        process.stderr.write(`edgeca eab revoke: no active key "${kid}" (see \`edgeca eab list\`)\n`);
        return 1;
      }
      const before = eabKeyView(
        key,
        await stores.settings.eabSettings(kid),
        await stores.settings.policy(`eab:${kid}`),
        await keys.boundAccounts(kid),
      );
      const made = eabKeyRevocation(stores, before);
      const [changed] = await stores.admin.commit(made.stmts, { tokenId: 'cli', ...made.change });
      if (changed !== 1) {
        process.stderr.write(`edgeca eab revoke: key "${kid}" was revoked meanwhile\n`);
        return 1;
      }
      process.stdout.write(`revoked ${kid}\n`);
      return 0;
    } finally {
      edgeDb.close();
    }
  });
}
