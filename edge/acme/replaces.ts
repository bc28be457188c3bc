// `replaces` in newOrder (RFC 9773 §5): the certificate named must be one this CA issued, the
// account must be its owner or hold valid authorizations for all its identifiers (as for revocation,
// RFC 8555 §7.6), the order must share at least one identifier with it, and it must not already be
// replaced (409 alreadyReplaced). What counts as replaced: an order naming it that is valid, or one
// still in progress (pending, ready, processing, unexpired) of another account — the same account
// retrying after an abandoned attempt is not locked out until that order expires.
import { identifierKey } from '../../shared/identifiers.ts';
import { AcmeProblem, type Identifier } from '../../shared/problems.ts';
import type { EdgeServices } from '../services.ts';
import type { AccountRow, CertificateRow } from '../storage/schema.ts';
import { buildCertId, certificateByCertId, parseCertId } from './ari.ts';

/** Holds the account valid authorizations for every identifier of the certificate? */
async function authorizedForAll(
  svc: EdgeServices,
  accountId: string,
  ids: Identifier[],
  now: number,
): Promise<boolean> {
  for (const id of ids) {
    const wildcard = id.type === 'dns' && id.value.startsWith('*.');
    const value = wildcard ? id.value.slice(2) : id.value;
    if (!(await svc.orders.findReusableAuthz(accountId, id.type, value, wildcard, now))) return false;
  }
  return true;
}

/** Validates `replaces`; returns its canonical certID and the certificate it names. */
export async function checkReplaces(
  svc: EdgeServices,
  account: AccountRow,
  replaces: string,
  identifiers: Identifier[],
  now: number,
): Promise<{ certId: string; cert: CertificateRow }> {
  const id = parseCertId(replaces);
  const certId = buildCertId(id);
  const cert = await certificateByCertId(svc, id);
  if (!cert) {
    throw new AcmeProblem('malformed', `"replaces" names no certificate this CA issued (certID ${certId})`);
  }
  const certIds = JSON.parse(cert.identifiers) as Identifier[];
  if (cert.accountId !== account.id && !(await authorizedForAll(svc, account.id, certIds, now))) {
    throw new AcmeProblem(
      'unauthorized',
      'the certificate in "replaces" belongs to another account, and this account holds no valid authorizations for all its identifiers',
    );
  }
  const theirs = new Set(certIds.map(identifierKey));
  if (!identifiers.some((x) => theirs.has(identifierKey(x)))) {
    throw new AcmeProblem(
      'malformed',
      'the order shares no identifier with the certificate in "replaces" (RFC 9773 §5)',
    );
  }
  const replacing = await svc.renewals.replacingOrders(certId);
  const taken = replacing.find(
    (o) =>
      o.status === 'valid' || (o.accountId !== account.id && o.status !== 'invalid' && o.expiresAt > now),
  );
  if (taken) {
    throw new AcmeProblem(
      'alreadyReplaced',
      `the certificate ${certId} is already replaced by ${taken.status === 'valid' ? 'an issued' : `a ${taken.status}`} order`,
    );
  }
  return { certId, cert };
}
