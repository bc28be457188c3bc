// Admin API: issued certificates — search, and revoke one through the signer (with keyCompromise
// the key is blocked first and the accounts using it deactivated, as ACME revokeCert does:
// edge/acme/block-keys.ts).
import { toHex } from '../../../shared/encoding.ts';
import { certIdOf } from '../../acme/ari.ts';
import { blockKeys } from '../../acme/block-keys.ts';
import { compromisedCertificateKey, KEY_COMPROMISE } from '../../acme/compromised-keys.ts';
import { revocationTime } from '../../relay/signer-client.ts';
import { body, int, onlyFields } from '../fields.ts';
import { AdminError, bad, iso } from '../http.ts';
import { type AdminResource, found, pageLimit, queryFilter, record, route } from '../resource.ts';

/** The hex AKI key identifier of a stored chain's leaf, or null when it has none. */
function issuerKeyId(chainPem: string): string | null {
  try {
    return toHex(certIdOf(chainPem).aki);
  } catch {
    return null;
  }
}

export const CERTIFICATES: AdminResource = {
  routes: [
    route('get', '/certificates', 'Search certificates (?account=&serial=&identifier=&limit=)', async (c) => {
      const { admin } = await c.var.svc.stores();
      const rows = await admin.certificates({
        ...queryFilter(c, { account: 'accountId', serial: 'serial', identifier: 'identifier' }),
        limit: pageLimit(c),
      });
      return c.json({
        certificates: rows.map(({ chainPem, ...x }) => ({
          ...x,
          // The issuer's key identifier (the leaf's AKI): what `renew-now --issuer` selects by.
          issuer: issuerKeyId(chainPem),
          identifiers: JSON.parse(x.identifiers),
          notBefore: iso(x.notBefore),
          notAfter: iso(x.notAfter),
          revokedAt: iso(x.revokedAt),
        })),
      });
    }),
    route(
      'post',
      '/certificates/:serial/revoke',
      'Revoke a certificate through the signer',
      async (c) => {
        const { svc } = c.var;
        const o = await body(c);
        onlyFields(o, ['reason']);
        const reason = int(o, 'reason', 0, 10) ?? 0;
        if (reason === 7) throw bad('reason', '7 is not a CRL reason code (RFC 5280 §5.3.1)');
        const cert = found(
          await svc.certificates.bySerial(c.req.param('serial').toLowerCase()),
          `certificate with serial ${c.req.param('serial')}`,
        );
        if (cert.revokedAt)
          throw new AdminError(
            'conflict',
            `the certificate was already revoked on ${iso(cert.revokedAt)}${
              reason === KEY_COMPROMISE
                ? '; to block its key as compromised, give its PEM to blocked-keys add (POST /admin/blocked-keys)'
                : ''
            }`,
          );
        // keyCompromise blocks the key first (and deactivates the accounts using it), as ACME revokeCert
        // does (edge/acme/block-keys.ts)
        const block =
          reason === KEY_COMPROMISE
            ? await compromisedCertificateKey(cert.chainPem, 'admin-revoke', cert.serial, null)
            : undefined;
        const blocked = block
          ? {
              blockedKey: block.spkiSha256,
              ...(await blockKeys(svc, [block], { tokenId: c.var.adminToken.id })),
            }
          : {};
        const outcome = await svc.signer.revoke(cert.serial, reason, c.var.requestId);
        if (outcome.status === 'unavailable')
          throw new AdminError('badGateway', `the signer is unavailable: ${outcome.detail}`);
        if (outcome.status === 'refused' && outcome.problem.kind !== 'alreadyRevoked')
          throw new AdminError('badGateway', `the signer refused: ${outcome.problem.message}`);
        const at = revocationTime(outcome, Date.now());
        await svc.certificates.markRevoked(cert.id, reason, at);
        await record(
          c,
          'certificate.revoke',
          `certificate:${cert.serial}`,
          { revokedAt: null },
          { revokedAt: iso(at), reason, ...blocked },
          [],
        );
        return c.json({ serial: cert.serial, revoked: true, revokedAt: iso(at), reason, ...blocked });
      },
      'Revoke',
    ),
  ],
  schemas: {
    Revoke: { type: 'object', properties: { reason: { type: 'integer', minimum: 0, maximum: 10 } } },
  },
};
