// The validator's only state: the relay jti it has seen, so a captured /v1/validate request cannot
// be replayed (same rule as the signer's /v1/sign). One libSQL table, kept past each jti's exp.
import { type Client, createClient } from '@libsql/client';

/** A jti is kept this long past its exp: verifyRelay tolerates 30 s of skew on exp. */
const KEEP_AFTER_EXP_S = 120;
const PRUNE_EVERY_MS = 60_000;

export class JtiStore {
  private lastPrune = 0;
  private constructor(private readonly client: Client) {}

  static async open(url: string): Promise<JtiStore> {
    const client = createClient({ url });
    try {
      if (url.startsWith('file:')) {
        await client.execute('PRAGMA journal_mode = WAL');
        await client.execute('PRAGMA busy_timeout = 5000');
      }
      await client.execute(
        'CREATE TABLE IF NOT EXISTS validate_jti (jti TEXT PRIMARY KEY NOT NULL, exp INTEGER NOT NULL)',
      );
    } catch (e) {
      client.close();
      throw new Error(`cannot open the validator database ${url}: ${(e as Error).message}`);
    }
    return new JtiStore(client);
  }

  /** Records a jti; false when it was seen before (a replay). */
  async record(jti: string, expS: number): Promise<boolean> {
    const res = await this.client.execute({
      sql: 'INSERT INTO validate_jti (jti, exp) VALUES (?, ?) ON CONFLICT DO NOTHING',
      args: [jti, expS],
    });
    const now = Date.now();
    if (now - this.lastPrune > PRUNE_EVERY_MS) {
      this.lastPrune = now;
      await this.client.execute({
        sql: 'DELETE FROM validate_jti WHERE exp < ?',
        args: [Math.floor(now / 1000) - KEEP_AFTER_EXP_S],
      });
    }
    return res.rowsAffected === 1;
  }

  close(): void {
    this.client.close();
  }
}
