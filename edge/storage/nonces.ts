// Replay nonces (RFC 8555 §6.5) shared by every edge instance through the database.
// Issuing costs no write: a nonce is expiry ‖ random ‖ HMAC, under a key kept in the database.
// Using it is one conditional write (an insert into the used set that does nothing on conflict): it
// was fresh iff a row was inserted, wherever it was issued and however many instances race for it.
import { lt, sql } from 'drizzle-orm';
import { b64uDecode, b64uEncode, randomToken, timingSafeEqual } from '../../shared/encoding.ts';
import { HmacSha256 } from '../../shared/hmac-sha256.ts';
import { type Db, rowsAffected } from './db.ts';
import { edgeSecrets, nonces } from './schema.ts';

const MAC_LEN = 16;

export interface NonceRepo {
  issue(): Promise<string>;
  /** true when the nonce is authentic, unexpired and had not been used before */
  consume(nonce: string): Promise<boolean>;
  /** deletes used nonces past their expiry; returns how many */
  prune(): Promise<number>;
}

/**
 * `rejectPercent` (EDGECA_NONCE_REJECT_PERCENT, default 0) refuses that share of good nonces, as
 * Pebble's PEBBLE_WFE_NONCEREJECT does, so a deployment can prove its clients retry on badNonce
 * (RFC 8555 §6.5). A refused nonce is not used up.
 */
export async function createNonceRepo(
  db: Db,
  lifetimeSeconds: number,
  opts: { rejectPercent?: number } = {},
): Promise<NonceRepo> {
  const rejectPercent = opts.rejectPercent ?? 0;
  await db
    .insert(edgeSecrets)
    .values({ name: 'nonce-mac', value: randomToken(32) })
    .onConflictDoNothing();
  const row = await db.query.edgeSecrets.findFirst({ where: (s, { eq }) => eq(s.name, 'nonce-mac') });
  if (!row) throw new Error('nonce MAC key missing from edge_secrets');
  // Plain-JS HMAC (shared/hmac-sha256.ts): a MAC on every response and every POST, where a
  // WebCrypto job per nonce cost more than the hash.
  const hmac = new HmacSha256(b64uDecode(row.value));
  const mac = (body: Uint8Array) => hmac.mac(body).subarray(0, MAC_LEN);
  // Prepared once: a POST's one write, on every POST.
  const markUsed = db
    .insert(nonces)
    .values({ value: sql.placeholder('value'), expiresAt: sql.placeholder('expiresAt') })
    .onConflictDoNothing()
    .prepare();
  let sincePrune = 0;
  const prune = async () => rowsAffected(await db.delete(nonces).where(lt(nonces.expiresAt, Date.now())));

  return {
    prune,
    async issue() {
      const body = new Uint8Array(16);
      new DataView(body.buffer).setFloat64(0, Date.now() + lifetimeSeconds * 1000);
      crypto.getRandomValues(body.subarray(8));
      const out = new Uint8Array(16 + MAC_LEN);
      out.set(body);
      out.set(mac(body), 16);
      return b64uEncode(out);
    },
    async consume(nonce) {
      let raw: Uint8Array;
      try {
        raw = b64uDecode(nonce);
      } catch {
        return false;
      }
      // Only the canonical spelling counts: the last base64url character has unused bits, and a
      // used nonce re-spelt with other ones would be a fresh row in the used set (a replay).
      if (raw.length !== 16 + MAC_LEN || b64uEncode(raw) !== nonce) return false;
      const body = raw.subarray(0, 16);
      if (!timingSafeEqual(mac(body), raw.subarray(16))) return false;
      const expiresAt = new DataView(body.buffer, body.byteOffset).getFloat64(0);
      if (!(expiresAt > Date.now())) return false;
      if (rejectPercent > 0 && Math.random() * 100 < rejectPercent) return false;
      const res = await markUsed.run({ value: nonce, expiresAt: Math.ceil(expiresAt) });
      if (++sincePrune >= 500) {
        sincePrune = 0;
        await prune();
      }
      return rowsAffected(res) === 1;
    },
  };
}
