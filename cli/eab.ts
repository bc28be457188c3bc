// `edgeca eab create|list|revoke`: External Account Binding keys, straight on the edge database
// (EDGECA_DB_URL). The HMAC key is printed once, at creation, and never again.
import { parseArgs } from 'node:util';
import { createClient } from '@libsql/client';
import { createEabRepo } from '../edge/storage/accounts.ts';
import { openDatabase } from '../edge/storage/db.ts';
import { b64uEncode } from '../shared/encoding.ts';

const HELP = `usage: edgeca eab <create|list|revoke> [options]
  create [--name NAME] [--json]   new key: prints the key id and the base64url HMAC key once
  list [--json]                   key ids, names, bound accounts, revoked or not (never the HMAC)
  revoke <kid>                    the key can no longer bind an account
Database: --db URL or EDGECA_DB_URL (default file:.edgeca/dev/edge.db)
`;

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
  const url = values.db ?? process.env.EDGECA_DB_URL ?? 'file:.edgeca/dev/edge.db';
  const client = createClient({
    url,
    ...(process.env.EDGECA_DB_AUTH_TOKEN ? { authToken: process.env.EDGECA_DB_AUTH_TOKEN } : {}),
  });
  try {
    const { db } = await openDatabase(client);
    const repo = createEabRepo(db);
    if (cmd === 'create') {
      const kid = `eab-${b64uEncode(crypto.getRandomValues(new Uint8Array(9)))}`;
      const hmacKey = b64uEncode(crypto.getRandomValues(new Uint8Array(32)));
      await repo.create({ kid, hmacKey, name: values.name ?? '' });
      if (values.json) process.stdout.write(`${JSON.stringify({ kid, hmacKey })}\n`);
      else
        process.stdout.write(
          `kid:      ${kid}\nhmac key: ${hmacKey}\n(the HMAC key is shown only now; store it in the client's configuration)\n`,
        );
      return 0;
    }
    if (cmd === 'list') {
      const keys = (await repo.list()).map(({ hmacKey: _h, ...k }) => k);
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
    client.close();
  }
}
