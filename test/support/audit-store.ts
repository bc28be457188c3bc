// What the tests of the signer's audit chain share (audit-verify, the store's retention purge):
// a software CA registered as the store's active issuer, so checkpoints can be signed without an
// HSM, its root as audit-verify's trust anchor, and a run of audit events to fill the chain.
import { pemToDers } from '../../shared/encoding.ts';
import { issuerIdOf } from '../../signer/service/issuers.ts';
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
