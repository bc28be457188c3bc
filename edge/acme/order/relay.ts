// The relay of a processing order to the signer (RFC 8555 §7.4): a signer that is away leaves the
// order processing (Retry-After) and the next poll retries; the signer answers a retry for the same
// order with the same certificate (invariant 3 in docs/architecture.md), so nothing is lost and
// nothing issued twice. The answer moves the order processing → valid (with its certificate) or
// → invalid.
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { b64uEncode, pemToDers, sha256, toHex } from '../../../shared/encoding.ts';
import { AcmeProblem, type Identifier } from '../../../shared/problems.ts';
import { recordCondition } from '../../events/outbox.ts';
import type { EdgeServices } from '../../services.ts';
import { newId } from '../../storage/ids.ts';
import type { CertificateRow, OrderRow } from '../../storage/schema.ts';
import type { Profile } from '../../storage/settings.ts';
import { moveOrder } from './states.ts';

/** Minimum gap between two relay attempts for the same processing order (any instance). */
const RELAY_RETRY_GAP_MS = 3000;
/** Backdating of notBefore against clock skew (the signer accepts at most one minute). */
const BACKDATE_MS = 30_000;

interface IssuedLeaf {
  serial: string;
  spkiSha256: string;
  notBefore: number;
  notAfter: number;
}

async function describeLeaf(chainPem: string): Promise<IssuedLeaf> {
  const [leafDer] = pemToDers(chainPem);
  if (!leafDer) throw new Error('signer returned no certificate');
  const cert = AsnConvert.parse(leafDer, Certificate);
  const tbs = cert.tbsCertificate;
  return {
    serial: toHex(new Uint8Array(tbs.serialNumber)),
    spkiSha256: b64uEncode(await sha256(new Uint8Array(AsnConvert.serialize(tbs.subjectPublicKeyInfo)))),
    notBefore: tbs.validity.notBefore.getTime().getTime(),
    notAfter: tbs.validity.notAfter.getTime().getTime(),
  };
}

/** The order's profile as it stands in the database now (undefined once it was deleted). */
export async function profileOf(svc: EdgeServices, order: OrderRow): Promise<Profile | undefined> {
  return (await svc.stores()).settings.profile(order.profile);
}

/**
 * One relay attempt for a processing order; returns the order as it now stands. `read` is the
 * order's profile when the caller has just read it (finalize reads it once, to check the CSR and to
 * relay); otherwise it is read here.
 */
export async function relayOrder(
  svc: EdgeServices,
  order: OrderRow,
  rid?: string,
  read?: { profile: Profile | undefined },
): Promise<OrderRow> {
  if (!order.csr) return order;
  const now = Date.now();
  // The order's profile as it stands in the database: its validity and the signer
  // profile it is relayed as (the signer enforces its own ceiling on it). The CSR's key type was
  // checked against the profile at finalize (checkCsr); the signer's ceiling checks it again.
  const profile = read ? read.profile : await profileOf(svc, order);
  const refusal = profile
    ? undefined
    : new AcmeProblem('invalidProfile', `profile "${order.profile}" no longer exists; create a new order`);
  if (refusal || !profile) {
    const moved = await moveOrder(
      svc,
      order.id,
      ['processing'],
      'invalid',
      JSON.stringify(refusal?.toJSON()),
    );
    if (moved) svc.metrics.ordersFinished.inc({ status: 'invalid', reason: 'profile' });
    return moved ?? (await svc.orders.get(order.id)) ?? order;
  }
  const notBefore = Math.max(order.notBefore ?? 0, now - BACKDATE_MS);
  const notAfter = order.notAfter ?? notBefore + profile.validitySeconds * 1000;
  const outcome = await svc.signer.sign({
    orderId: order.id,
    accountId: order.accountId,
    profile: profile.signerProfile,
    csr: order.csr,
    identifiers: JSON.parse(order.identifiers) as Identifier[],
    notBefore: new Date(notBefore).toISOString(),
    notAfter: new Date(notAfter).toISOString(),
    ...(order.replaces ? { replaces: order.replaces } : {}),
    ...(rid ? { rid } : {}),
  });
  if (outcome.status === 'unavailable') {
    svc.log({ event: 'relay-unavailable', orderId: order.id, detail: outcome.detail });
    await recordCondition(svc, 'signer.unreachable', 'signer', { orderId: order.id, detail: outcome.detail });
    return order;
  }
  if (outcome.status === 'refused') {
    svc.log({ event: 'relay-refused', orderId: order.id, detail: outcome.problem.message });
    const changed = await moveOrder(
      svc,
      order.id,
      ['processing'],
      'invalid',
      JSON.stringify(outcome.problem.toJSON()),
    );
    if (changed) svc.metrics.ordersFinished.inc({ status: 'invalid', reason: 'signer-refused' });
    return changed ?? (await svc.orders.get(order.id)) ?? order;
  }
  const leaf = await describeLeaf(outcome.chainPem);
  const cert: CertificateRow = {
    id: newId(),
    orderId: order.id,
    accountId: order.accountId,
    serial: leaf.serial,
    chainPem: outcome.chainPem,
    spkiSha256: leaf.spkiSha256,
    identifiers: order.identifiers,
    notBefore: leaf.notBefore,
    notAfter: leaf.notAfter,
    revokedAt: null,
    revocationReason: null,
    createdAt: Date.now(),
  };
  const valid = await svc.orders.completeOrder(order.id, cert);
  if (valid) {
    const m = svc.metrics;
    m.ordersFinished.inc({ status: 'valid', reason: 'issued' });
    m.issuanceSeconds.observe({}, (Date.now() - order.createdAt) / 1000);
  }
  // another request or instance completed it first: read what it wrote
  return valid ?? (await svc.orders.get(order.id)) ?? order;
}

/** Retries the relay for a processing order if no attempt is under way (claimed in the database). */
export async function resumeRelay(svc: EdgeServices, order: OrderRow): Promise<OrderRow> {
  if (!(await svc.orders.claimRelay(order.id, Date.now(), RELAY_RETRY_GAP_MS))) return order;
  return relayOrder(svc, order);
}

export { RELAY_RETRY_GAP_MS };
