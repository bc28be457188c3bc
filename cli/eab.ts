// `edgeca eab create|list|revoke`: External Account Binding keys, straight on the edge database
// (EDGECA_DB_URL). The HMAC key is printed once, at creation, and never again.

import { parseArgs } from 'node:util';
import { createClient } from '@libsql/client';
import { newEabCredentials } from '../edge/acme/eab.ts';
import { createEabRepo } from '../edge/storage/accounts.ts';
import { openDatabase } from '../edge/storage/db.ts';
import { type LocalD1, localD1FromEndpoints, sqlString } from './d1-local.ts';

const HELP = `usage: edgeca eab <create|list|revoke> [options]
  create [--name NAME] [--json]   new key: prints the key id and the base64url HMAC key once
  list [--json]                   key ids, names, bound accounts, revoked or not (never the HMAC)
  revoke <kid>                    the key can no longer bind an account
Database: --db URL or EDGECA_DB_URL (default file:.edgeca/dev/edge.db; the local D1 when the dev
edge runs on workerd, as .edgeca/dev/endpoints.json says)
`;

interface EabStore {
  create(k: { kid: string; hmacKey: string; name: string }): Promise<void>;
  list(): Promise<{ kid: string; name: string; accountId: string | null; revokedAt: number | null }[]>;
  revoke(kid: string): Promise<boolean>;
  close(): void;
}

function d1Store(d1: LocalD1): EabStore {
  return {
    async create(k) {
      await d1.query(
        `INSERT INTO eab_keys (kid, hmac_key, name, created_at) VALUES (${sqlString(k.kid)}, ${sqlString(k.hmacKey)}, ${sqlString(k.name)}, ${Date.now()})`,
      );
    },
    async list() {
      const { rows } = await d1.query(
        'SELECT kid, name, account_id, revoked_at FROM eab_keys ORDER BY created_at DESC',
      );
      return rows.map((r) => ({
        kid: String(r.kid),
        name: String(r.name ?? ''),
        accountId: r.account_id == null ? null : String(r.account_id),
        revokedAt: r.revoked_at == null ? null : Number(r.revoked_at),
      }));
    },
    async revoke(kid) {
      const res = await d1.query(
        `UPDATE eab_keys SET revoked_at = ${Date.now()} WHERE kid = ${sqlString(kid)} AND revoked_at IS NULL`,
      );
      return res.changes === 1;
    },
    close() {},
  };
}

async function libsqlStore(url: string): Promise<EabStore> {
  const client = createClient({
    url,
    ...(process.env.EDGECA_DB_AUTH_TOKEN ? { authToken: process.env.EDGECA_DB_AUTH_TOKEN } : {}),
  });
  const repo = createEabRepo((await openDatabase(client)).db);
  return {
    create: (k) => repo.create(k),
    list: async () =>
      (await repo.list()).map(({ kid, name, accountId, revokedAt }) => ({ kid, name, accountId, revokedAt })),
    revoke: (kid) => repo.revoke(kid),
    close: () => client.close(),
  };
}

export async function main(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      json: { type: 'boolean' },
      db: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [cmd, arg] = positionals;
  if (values.help || !cmd) {
    process.stdout.write(HELP);
    return 0;
  }
  const explicit = values.db ?? process.env.EDGECA_DB_URL;
  const d1 = explicit ? undefined : localD1FromEndpoints();
  const repo = d1 ? d1Store(d1) : await libsqlStore(explicit ?? 'file:.edgeca/dev/edge.db');
  try {
    if (cmd === 'create') {
      const { kid, hmacKey } = newEabCredentials();
      await repo.create({ kid, hmacKey, name: values.name ?? '' });
      if (values.json) process.stdout.write(`${JSON.stringify({ kid, hmacKey })}\n`);
      else
        process.stdout.write(
          `kid:      ${kid}\nhmac key: ${hmacKey}\n(the HMAC key is shown only now; store it in the client's configuration)\n`,
        );
      return 0;
    }
    if (cmd === 'list') {
      const keys = await repo.list();
      if (values.json) process.stdout.write(`${JSON.stringify(keys)}\n`);
      else
        for (const k of keys)
          process.stdout.write(
            `${k.kid}\t${k.name || '-'}\t${k.accountId ?? 'unbound'}\t${k.revokedAt ? 'revoked' : 'active'}\n`,
          );
      return 0;
    }
    if (cmd === 'revoke') {
      if (!arg) {
        process.stderr.write('edgeca eab revoke: name the key id to revoke (see `edgeca eab list`)\n');
        return 2;
      }
      if (!(await repo.revoke(arg))) {
        process.stderr.write(`edgeca eab revoke: no active key "${arg}" (see \`edgeca eab list\`)\n`);
        return 1;
      }
      process.stdout.write(`revoked ${arg}\n`);
      return 0;
    }
    process.stderr.write(`edgeca eab: unknown command "${cmd}"\n${HELP}`);
    return 2;
  } finally {
    repo.close();
  }
}
