// What the tests of the signer's audit chain share (audit-verify, the store's retention purge):
// a software CA registered as the store's active issuer, so checkpoints can be signed without an
// HSM, its root as audit-verify's trust anchor, a run of audit events to fill the chain, and the
// rewrite of the chain that someone with write access to the database (and not the HSM) can make.
import { pemToDers } from '../../shared/encoding.ts';
import { issuerIdOf } from '../../signer/service/issuers.ts';
import { auditRowHash, GENESIS_HASH } from '../../signer/store/audit.ts';
import { type Engine, intOf } from '../../signer/store/sql.ts';
import type { SignerStore } from '../../signer/store/store.ts';
import type { SoftCa } from './signer-service.ts';

/** The root certificate (DER) audit-verify checks checkpoint signatures up to. */
export const rootOf = (ca: SoftCa) => pemToDers(ca.rootPem)[0] as Uint8Array;

/** Registers `ca`'s issuer as the store's active one; returns its id and its signer. */
export async function withIssuer(
  store: SignerStore,
  ca: SoftCa,
): Promise<{ id: string; signer: SoftCa['signer'] }> {
  const id = issuerIdOf(ca.issuerDer);
  await store.issuers.register(
    {
      id,
      keyLabel: 'soft',
      keyType: 'EC-P256',
      state: 'active',
      certDer: ca.issuerDer,
      chainPem: '',
      crlUrl: null,
    },
    { id },
  );
  return { id, signer: ca.signer };
}

/** `n` audit rows ('refuse' events tagged `tag`), one after another. */
export async function auditEvents(store: SignerStore, n: number, tag: string): Promise<void> {
  for (let i = 0; i < n; i++) await store.auditEvent('refuse', { tag, i });
}

/**
 * What an attacker with write access does: edit row `seq`, recompute every hash after it and the
 * head. The chain before `seq` is the row before it, or `prevHash` where that row was purged.
 */
export async function rewriteFrom(
  raw: Engine,
  seq: number,
  details: string,
  prevHash?: string,
): Promise<void> {
  const [before] = await raw.all<{ hash: string }>('SELECT hash FROM audit_log WHERE seq = ?', [seq - 1]);
  let prev = prevHash ?? before?.hash ?? GENESIS_HASH;
  const rows = await raw.all<{ seq: unknown; time: unknown; event: string; details: string }>(
    'SELECT seq, time, event, details FROM audit_log WHERE seq >= ? ORDER BY seq',
    [seq],
  );
  for (const r of rows) {
    const row = {
      seq: intOf(r.seq),
      time: intOf(r.time),
      event: r.event,
      details: intOf(r.seq) === seq ? details : r.details,
    };
    const hash = auditRowHash(prev, row);
    await raw.run('UPDATE audit_log SET details = ?, prev_hash = ?, hash = ? WHERE seq = ?', [
      row.details,
      prev,
      hash,
      row.seq,
    ]);
    prev = hash;
  }
  await raw.run('UPDATE audit_head SET hash = ? WHERE id = 1', [prev]);
}
