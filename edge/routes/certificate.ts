// Certificate download (RFC 8555 §7.4.2) and revocation (§7.6).
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import type { Hono } from 'hono';
import { b64uDecode, pemToDers, timingSafeEqual, toHex } from '../../shared/encoding.ts';
import { AcmeProblem, type Identifier } from '../../shared/problems.ts';
import { ACME_ACTOR, blockKeys } from '../acme/block-keys.ts';
import { compromisedCertificateKey, jwkDigest, KEY_COMPROMISE } from '../acme/compromised-keys.ts';
import { acmeJws } from '../acme/jws.ts';
import { ensureOwner, notFound, requireAccount } from '../acme/respond.ts';
import type { AppEnv } from '../context.ts';
import { PATHS } from '../linker.ts';
import { revocationTime } from '../relay/signer-client.ts';

/** RFC 5280 §5.3.1 reasons a subscriber may give (as Let's Encrypt accepts, plus privilegeWithdrawn). */
const ALLOWED_REASONS = new Set([0, 1, 3, 4, 5, 9]);

export function registerCertificate(app: Hono<AppEnv>): void {
  app.post(PATHS.certificate, acmeJws('kid', { postAsGet: true, cachedAccount: true }), async (c) => {
    const { svc } = c.var;
    const account = requireAccount(c);
    const cert = await svc.certificates.get(c.req.param('id'));
    if (!cert) throw notFound('this certificate');
    ensureOwner(cert.accountId, account, 'this certificate');
    return c.body(cert.chainPem, 200, { 'Content-Type': 'application/pem-certificate-chain' });
  });

  app.post(PATHS.revokeCert, acmeJws('either', { postAsGet: false }), async (c) => {
    const { svc, jws } = c.var;
    const p = jws.payload as Record<string, unknown>;
    if (typeof p !== 'object' || p === null || typeof p.certificate !== 'string') {
      throw new AcmeProblem('malformed', 'revokeCert needs "certificate" (base64url DER)');
    }
    const reason = p.reason ?? 0;
    if (typeof reason !== 'number' || !ALLOWED_REASONS.has(reason)) {
      throw new AcmeProblem(
        'badRevocationReason',
        `revocation reason ${JSON.stringify(p.reason)} is not accepted; use one of ${[...ALLOWED_REASONS].join(', ')}`,
      );
    }
    let der: Uint8Array;
    let serial: string;
    try {
      der = b64uDecode(p.certificate);
      serial = toHex(new Uint8Array(AsnConvert.parse(der, Certificate).tbsCertificate.serialNumber));
    } catch {
      throw new AcmeProblem('malformed', '"certificate" is not a base64url DER X.509 certificate');
    }
    const cert = await svc.certificates.bySerial(serial);
    const stored = cert ? pemToDers(cert.chainPem)[0] : undefined;
    if (!cert || !stored || !timingSafeEqual(stored, der))
      throw new AcmeProblem('notFound', 'this CA did not issue that certificate');
    if (jws.account) {
      const account = requireAccount(c);
      if (cert.accountId !== account.id) {
        // RFC 8555 §7.6: an account holding valid authorizations for every identifier may revoke too.
        const ids = JSON.parse(cert.identifiers) as Identifier[];
        const now = Date.now();
        for (const id of ids) {
          const wildcard = id.type === 'dns' && id.value.startsWith('*.');
          const value = wildcard ? id.value.slice(2) : id.value;
          if (!(await svc.orders.findReusableAuthz(account.id, id.type, value, wildcard, now))) {
            ensureOwner(cert.accountId, account, 'this certificate');
          }
        }
      }
    } else if ((await jwkDigest(jws.jwk)) !== cert.spkiSha256) {
      throw new AcmeProblem('unauthorized', 'the JWS key is neither the certificate key nor an account key');
    }
    // The key is blocked (and the accounts using it deactivated) before the signer is asked: if the
    // signer is away the client retries, and the key stays refused either way
    // (edge/acme/block-keys.ts).
    const blockKey = async () => {
      const { deactivatedAccounts } = await blockKeys(
        svc,
        [
          await compromisedCertificateKey(
            cert.chainPem,
            'acme-revoke',
            cert.serial,
            jws.account?.id ?? null,
            jws.account ? 'revokeCert by an account' : 'revokeCert signed by the certificate key',
          ),
        ],
        { tokenId: ACME_ACTOR },
      );
      svc.log({ event: 'key-blocked', serial: cert.serial, deactivatedAccounts });
    };
    if (cert.revokedAt) {
      if (reason !== KEY_COMPROMISE)
        throw new AcmeProblem('alreadyRevoked', 'the certificate is already revoked');
      // A report of key compromise is about the key, not only this certificate (RFC 8555 §7.6): it
      // blocks the key even when the certificate was revoked before for another reason. The signer
      // cannot change a recorded revocation, so the CRL keeps the first reason.
      await blockKey();
      throw new AcmeProblem(
        'alreadyRevoked',
        cert.revocationReason === KEY_COMPROMISE
          ? 'the certificate is already revoked with reason keyCompromise; its key is blocked'
          : `the certificate is already revoked (reason ${cert.revocationReason ?? 0}, which the CRL keeps); its key is now blocked as compromised: it can no longer be an account key or be certified`,
      );
    }
    if (reason === KEY_COMPROMISE) await blockKey();
    const outcome = await svc.signer.revoke(cert.serial, reason, c.var.requestId);
    if (outcome.status === 'unavailable') {
      throw new AcmeProblem('serviceUnavailable', 'the signer is unavailable; retry the revocation shortly', {
        retryAfter: 5,
      });
    }
    if (outcome.status === 'refused' && outcome.problem.kind !== 'alreadyRevoked') throw outcome.problem;
    await svc.certificates.markRevoked(cert.id, reason, revocationTime(outcome, Date.now()));
    svc.log({ event: 'revoked', serial: cert.serial, reason });
    return c.body(null, 200);
  });
}
