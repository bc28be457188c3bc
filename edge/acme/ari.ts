// ACME Renewal Information (RFC 9773): the certificate identifier (§4.1), the suggested renewal
// window of a certificate (§4.2) — by default from two thirds of its lifetime, a short span later,
// shifted per certificate so that a fleet issued together does not renew in one burst — and the
// lookup of a certificate by certID. "Renew now" overrides the window with one in the past.
import { AsnConvert } from '@peculiar/asn1-schema';
import { AuthorityKeyIdentifier, Certificate, id_ce_authorityKeyIdentifier } from '@peculiar/asn1-x509';
import { b64uDecode, b64uEncode, fromHex, pemToDers, toHex } from '../../shared/encoding.ts';
import { AcmeProblem } from '../../shared/problems.ts';
import type { EdgeServices } from '../services.ts';
import type { RenewalRow } from '../storage/renewal.ts';
import type { CertificateRow } from '../storage/schema.ts';

export interface CertId {
  /** keyIdentifier of the certificate's Authority Key Identifier extension */
  aki: Uint8Array;
  /** the serial number's DER content octets (leading zero kept), RFC 9773 §4.1 */
  serial: Uint8Array;
}

export interface RenewalWindow {
  start: number;
  end: number;
}

/** RFC 9773 §4.1: base64url(AKI keyIdentifier) "." base64url(serial), no padding. */
export function buildCertId(id: CertId): string {
  return `${b64uEncode(id.aki)}.${b64uEncode(id.serial)}`;
}

/** Parses a certID; `malformed` unless it is exactly two non-empty canonical base64url parts. */
export function parseCertId(text: string): CertId {
  const parts = text.split('.');
  if (parts.length !== 2 || !parts[0] || !parts[1])
    throw new AcmeProblem('malformed', 'a certID is base64url(AKI keyIdentifier) "." base64url(serial)');
  let aki: Uint8Array;
  let serial: Uint8Array;
  try {
    aki = b64uDecode(parts[0]);
    serial = b64uDecode(parts[1]);
  } catch {
    throw new AcmeProblem('malformed', 'the certID parts are not base64url without padding (RFC 9773 §4.1)');
  }
  // RFC 5280 §4.1.2.2: serials are positive and at most 20 octets; DER allows one leading zero.
  if (serial.length > 21 || (serial[0] ?? 0) >= 0x80)
    throw new AcmeProblem(
      'malformed',
      'the certID serial is not a positive serial number of at most 20 octets',
    );
  if (aki.length > 64) throw new AcmeProblem('malformed', 'the certID key identifier is too long');
  return { aki, serial };
}

/** The certID of a certificate (its leaf, when given a chain). */
export function certIdOf(chainPemOrDer: string | Uint8Array): CertId {
  const der = typeof chainPemOrDer === 'string' ? pemToDers(chainPemOrDer)[0] : chainPemOrDer;
  if (!der) throw new Error('no certificate');
  const tbs = AsnConvert.parse(der, Certificate).tbsCertificate;
  const ext = tbs.extensions?.find((e) => e.extnID === id_ce_authorityKeyIdentifier);
  if (!ext) throw new Error('the certificate has no Authority Key Identifier');
  const aki = AsnConvert.parse(ext.extnValue.buffer, AuthorityKeyIdentifier).keyIdentifier;
  if (!aki) throw new Error('the Authority Key Identifier has no keyIdentifier');
  return { aki: new Uint8Array(aki.buffer), serial: new Uint8Array(tbs.serialNumber) };
}

/** A stable fraction in [0, 1) from the serial (FNV-1a, mixed): the same certificate always gets the same shift. */
function jitterOf(serialHex: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < serialHex.length; i++) {
    h ^= serialHex.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // murmur3's finaliser: FNV alone leaves the high bits of near-identical serials close together
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 2 ** 32;
}

/**
 * The default window: it opens at two thirds of the lifetime plus a per-certificate shift of up to
 * 1/24 of the lifetime, and lasts 1/24 of the lifetime (24 h certificate: opens between 16:00 and
 * 17:00 after notBefore, closes an hour later — well before expiry, so a failed attempt has time).
 */
export function defaultWindow(
  cert: Pick<CertificateRow, 'notBefore' | 'notAfter' | 'serial'>,
): RenewalWindow {
  const life = cert.notAfter - cert.notBefore;
  const span = Math.floor(life / 24);
  const start = cert.notBefore + Math.floor((life * 2) / 3) + Math.floor(jitterOf(cert.serial) * span);
  return { start, end: start + span };
}

/** "Renew now": a window wholly in the past, so clients renew at once (RFC 9773 §4.2). */
export function renewNowWindow(at: number): RenewalWindow {
  return { start: at - 3_600_000, end: at - 1000 };
}

/** The window a certificate has now: the admin's override, else the default. */
export function windowOf(
  cert: Pick<CertificateRow, 'notBefore' | 'notAfter' | 'serial'>,
  row?: Pick<RenewalRow, 'windowStart' | 'windowEnd'>,
): RenewalWindow {
  if (row && row.windowStart !== null && row.windowEnd !== null)
    return { start: row.windowStart, end: row.windowEnd };
  return defaultWindow(cert);
}

/**
 * Retry-After for renewalInfo (RFC 9773 §4.3): 1/24 of the lifetime, between 1 minute and 6 hours,
 * so a client polling a 24 h certificate learns of "renew now" within an hour.
 */
export function retryAfterSeconds(cert: Pick<CertificateRow, 'notBefore' | 'notAfter'>): number {
  return Math.max(60, Math.min(6 * 3600, Math.floor((cert.notAfter - cert.notBefore) / 24 / 1000)));
}

/** The certificate a certID names, or undefined when this CA did not issue it (serial and AKI must match). */
export async function certificateByCertId(
  svc: EdgeServices,
  id: CertId,
): Promise<CertificateRow | undefined> {
  const cert = await svc.certificates.bySerial(toHex(id.serial));
  if (!cert) return undefined;
  const actual = certIdOf(cert.chainPem);
  return toHex(actual.aki) === toHex(id.aki) ? cert : undefined;
}

/**
 * RFC 9773 `replaces` names a certificate (base64url AKI "." base64url serial), already checked by
 * newOrder (replaces.ts: owner or authorized, not yet replaced); the order is a renewal
 * inside the window when the certificate's ARI window has opened (the default one, or the past one
 * "renew now" set) and the certificate has not expired.
 */
export async function isRenewalInWindow(
  svc: EdgeServices,
  replaces: string | undefined,
  now: number,
): Promise<boolean> {
  if (!replaces) return false;
  let cert: CertificateRow | undefined;
  try {
    cert = await certificateByCertId(svc, parseCertId(replaces));
  } catch {
    return false;
  }
  if (!cert) return false;
  const { start } = windowOf(cert, await svc.renewals.byCertificate(cert.id));
  return now >= start && now < cert.notAfter;
}

/** The AKI of an issuer as an admin may write it: hex (colons allowed) or base64url. */
export function parseKeyId(text: string): Uint8Array | undefined {
  const hex = text.replace(/:/g, '');
  if (/^([0-9a-fA-F]{2}){8,64}$/.test(hex)) return fromHex(hex.toLowerCase());
  try {
    const b = b64uDecode(text);
    return b.length >= 8 ? b : undefined;
  } catch {
    return undefined;
  }
}
