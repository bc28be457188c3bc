// Finalize (RFC 8555 §7.4): the CSR is checked against the order, the order goes ready →
// processing, and the signer is asked through the relay. A signer that is away leaves the order
// processing (Retry-After) and the next poll retries; the signer answers a retry for the same order
// with the same certificate (invariant 3 in docs/architecture.md), so nothing is lost and nothing issued twice.
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { parseCsr } from '../../shared/csr.ts';
import { b64uDecode, b64uEncode, pemToDers, sha256, toHex } from '../../shared/encoding.ts';
import { identifierKey } from '../../shared/identifiers.ts';
import { AcmeProblem, type Identifier } from '../../shared/problems.ts';
import { metricsOf } from '../observability/edge-metrics.ts';
import { newId } from '../storage/ids.ts';
import type { CertificateRow, OrderRow } from '../storage/schema.ts';
import type { Profile } from '../storage/settings.ts';
import { storesOf } from '../storage/stores.ts';
import type { EdgeServices } from './context.ts';

/** Minimum gap between two relay attempts for the same processing order (any instance). */
const RELAY_RETRY_GAP_MS = 3000;
/** Backdating of notBefore against clock skew (the signer accepts at most one minute). */
const BACKDATE_MS = 30_000;

const LEAF_KEYS = new Set(['EC-P256', 'EC-P384', 'RSA-2048', 'RSA-3072', 'RSA-4096']);

/** Checks a CSR against the order (RFC 8555 §7.4, §11.1); throws badCSR naming what is wrong. */
export async function checkCsr(
  csrB64u: unknown,
  order: OrderRow,
  accountSpkiSha256?: string,
  profile?: Profile,
): Promise<Uint8Array> {
  if (typeof csrB64u !== 'string' || csrB64u.length === 0)
    throw new AcmeProblem('malformed', 'finalize needs a "csr" string');
  let der: Uint8Array;
  try {
    der = b64uDecode(csrB64u);
  } catch {
    throw new AcmeProblem('badCSR', 'csr is not base64url (without padding) DER');
  }
  const csr = await parseCsr(der);
  if (!csr.signatureValid) throw new AcmeProblem('badCSR', 'the CSR signature does not verify');
  if (!LEAF_KEYS.has(csr.keyType)) {
    throw new AcmeProblem(
      'badCSR',
      `CSR key ${csr.keyDescription} is not accepted (RSA 2048–4096, EC P-256, P-384)`,
    );
  }
  if (profile && !(profile.keyTypes as string[]).includes(csr.keyType)) {
    throw new AcmeProblem(
      'badCSR',
      `profile "${profile.name}" accepts ${profile.keyTypes.join(', ')} keys, not ${csr.keyDescription}`,
    );
  }
  if (csr.requestsCa)
    throw new AcmeProblem('badCSR', 'the CSR requests a CA certificate (basicConstraints cA=true)');
  if (csr.otherSans.length)
    throw new AcmeProblem('badCSR', `the CSR contains unsupported SAN types: ${csr.otherSans.join(', ')}`);
  if (accountSpkiSha256 && b64uEncode(await sha256(csr.spki)) === accountSpkiSha256) {
    throw new AcmeProblem('badCSR', 'the CSR public key must not be the account key (RFC 8555 §11.1)');
  }
  const want = new Set((JSON.parse(order.identifiers) as Identifier[]).map(identifierKey));
  const got = new Set(csr.identifiers.map(identifierKey));
  if (csr.commonName !== undefined) {
    const cn = csr.commonName.toLowerCase();
    if (!got.has(`dns:${cn}`) && !got.has(`ip:${cn}`) && !want.has(`dns:${cn}`) && !want.has(`ip:${cn}`)) {
      throw new AcmeProblem(
        'badCSR',
        `the CSR common name "${csr.commonName}" is not one of the order's identifiers`,
      );
    }
    if (want.has(`dns:${cn}`)) got.add(`dns:${cn}`);
    else if (want.has(`ip:${cn}`)) got.add(`ip:${cn}`);
  }
  const extra = [...got].filter((k) => !want.has(k));
  const missing = [...want].filter((k) => !got.has(k));
  if (extra.length || missing.length) {
    const parts = [];
    if (extra.length) parts.push(`names not in the order: ${extra.join(', ')}`);
    if (missing.length) parts.push(`order identifiers missing from the CSR: ${missing.join(', ')}`);
    throw new AcmeProblem('badCSR', `the CSR must name exactly the order's identifiers; ${parts.join('; ')}`);
  }
  return der;
}

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

/** One relay attempt for a processing order; returns the order as it now stands. */
export async function relayOrder(svc: EdgeServices, order: OrderRow, rid?: string): Promise<OrderRow> {
  if (!order.csr) return order;
  const now = Date.now();
  // The order's profile as it stands in the database now: its validity and the signer
  // profile it is relayed as (the signer enforces its own ceiling on it). The CSR's key type was
  // checked against the profile at finalize (checkCsr); the signer's ceiling checks it again.
  const profile = await (await storesOf(svc)).settings.profile(order.profile);
  const refusal = profile
    ? undefined
    : new AcmeProblem('invalidProfile', `profile "${order.profile}" no longer exists; create a new order`);
  if (refusal || !profile) {
    if (
      await svc.orders.setOrderStatus(order.id, ['processing'], 'invalid', JSON.stringify(refusal?.toJSON()))
    )
      metricsOf(svc).ordersFinished.inc({ status: 'invalid', reason: 'profile' });
    return (await svc.orders.get(order.id)) ?? order;
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
    return order;
  }
  if (outcome.status === 'refused') {
    svc.log({ event: 'relay-refused', orderId: order.id, detail: outcome.problem.message });
    const changed = await svc.orders.setOrderStatus(
      order.id,
      ['processing'],
      'invalid',
      JSON.stringify(outcome.problem.toJSON()),
    );
    if (changed) metricsOf(svc).ordersFinished.inc({ status: 'invalid', reason: 'signer-refused' });
    return (await svc.orders.get(order.id)) ?? order;
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
  if (await svc.orders.completeOrder(order.id, cert)) {
    const m = metricsOf(svc);
    m.ordersFinished.inc({ status: 'valid', reason: 'issued' });
    m.issuanceSeconds.observe({}, (Date.now() - order.createdAt) / 1000);
  }
  return (await svc.orders.get(order.id)) ?? order;
}

/** Retries the relay for a processing order if no attempt is under way (claimed in the database). */
export async function resumeRelay(svc: EdgeServices, order: OrderRow): Promise<OrderRow> {
  if (!(await svc.orders.claimRelay(order.id, Date.now(), RELAY_RETRY_GAP_MS))) return order;
  return relayOrder(svc, order);
}

export { RELAY_RETRY_GAP_MS };
