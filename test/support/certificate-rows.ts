// Certificate rows seeded through the order repository as finalize stores them (an order created
// `processing`, then completed with its certificate), for tests of what reads certificates (the
// expiry watch, the events and their pages) without running issuance.
import type { CertificateRow } from '../../edge/storage/schema.ts';
import type { InprocEdge } from './edge-app.ts';

const HOUR = 3_600_000;

export interface SeededCertificate {
  /** the certificate's id; its order is `o-<id>` */
  id: string;
  names: string[];
  notBefore: number;
  notAfter: number;
  accountId?: string;
  serial?: string;
  /** the certificate id the order says it replaces (RFC 9773 §5) */
  replaces?: string | null;
  /** when the row was written (default: notBefore) */
  createdAt?: number;
}

/** Creates the order and completes it with the certificate; returns the certificate row. */
export async function seedCertificate(
  edge: Pick<InprocEdge, 'svc'>,
  c: SeededCertificate,
): Promise<CertificateRow> {
  const now = Date.now();
  const orderId = `o-${c.id}`;
  const accountId = c.accountId ?? 'acct-1';
  const identifiers = JSON.stringify(c.names.map((value) => ({ type: 'dns', value })));
  await edge.svc.orders.create({
    order: {
      id: orderId,
      accountId,
      status: 'processing',
      identifiers,
      authzIds: '[]',
      profile: 'default',
      notBefore: null,
      notAfter: null,
      expiresAt: now + HOUR,
      error: null,
      csr: 'csr',
      certificateId: null,
      replaces: c.replaces ?? null,
      relayAttemptAt: now,
      createdAt: now,
    },
    authzs: [],
    challenges: [],
    marks: [],
  });
  const cert: CertificateRow = {
    id: c.id,
    orderId,
    accountId,
    serial: c.serial ?? `5e${Buffer.from(c.id).toString('hex')}`,
    chainPem: 'pem',
    spkiSha256: 'k',
    identifiers,
    notBefore: c.notBefore,
    notAfter: c.notAfter,
    revokedAt: null,
    revocationReason: null,
    createdAt: c.createdAt ?? c.notBefore,
  };
  if (!(await edge.svc.orders.completeOrder(orderId, cert)))
    throw new Error(`order ${orderId} was not completed`);
  return cert;
}
