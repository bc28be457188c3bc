// The CSR of a finalize request checked against its order (RFC 8555 §7.4, §11.1): what is wrong
// is named in a badCSR problem.
import { parseCsr } from '../../../shared/csr.ts';
import { b64uDecode } from '../../../shared/encoding.ts';
import { identifierKey } from '../../../shared/identifiers.ts';
import { isLeafKeyType } from '../../../shared/key-types.ts';
import { AcmeProblem, type Identifier } from '../../../shared/problems.ts';
import type { OrderRow } from '../../storage/schema.ts';
import type { Profile } from '../../storage/settings.ts';
import { spkiDigest } from '../compromised-keys.ts';

/**
 * Checks a CSR against the order (RFC 8555 §7.4, §11.1); throws badCSR naming what is wrong.
 * Returns the CSR's DER and its key's digest (`spkiDigest`, as blocked_keys and accounts.key_digest
 * keep them), which is also what the account key is compared with.
 */
export async function checkCsr(
  csrB64u: unknown,
  order: OrderRow,
  accountKeyDigest?: string,
  profile?: Profile,
): Promise<{ der: Uint8Array; keyDigest: string }> {
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
  if (!isLeafKeyType(csr.keyType)) {
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
  const keyDigest = await spkiDigest(csr.spki);
  if (accountKeyDigest && keyDigest === accountKeyDigest) {
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
  return { der, keyDigest };
}
