// tls-alpn-01 (RFC 8737; IP identifiers RFC 8738 §6): connect with ALPN "acme-tls/1" and SNI = the
// name, and check the self-signed certificate the client presents: exactly one SAN, equal to the
// identifier, and a critical id-pe-acmeIdentifier extension holding SHA-256(keyAuthorization).
// Only networks with raw TLS (ValidationNet.tlsAlpn) can do this; offeredFor says so.
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, id_ce_subjectAltName, SubjectAlternativeName } from '@peculiar/asn1-x509';
import { sha256, timingSafeEqual } from '../shared/encoding.ts';
import { formatIp, isWildcard, parseIp, reverseDnsName } from '../shared/identifiers.ts';
import { AcmeProblem } from '../shared/problems.ts';
import { checkAddress } from './address-policy.ts';
import { ConnectError, type ValidationNet } from './net.ts';
import { Deadline, hostPort, resolveHost } from './resolve.ts';
import { invalid, valid } from './result.ts';
import type {
  Challenge,
  ChallengeInput,
  ValidationOptions,
  ValidationRecord,
  ValidationResult,
} from './types.ts';

/** RFC 8737 §3: id-pe-acmeIdentifier. */
export const ID_PE_ACME_IDENTIFIER = '1.3.6.1.5.5.7.1.31';
export const ACME_TLS_ALPN = 'acme-tls/1';

export const tlsAlpn01: Challenge<'tls-alpn-01'> = {
  type: 'tls-alpn-01',
  // Raw TLS with a chosen ALPN (Capabilities.tlsAlpn); IP addresses by RFC 8738 §6; like http-01,
  // never a wildcard.
  offeredFor: (id, can) => can.tlsAlpn && !isWildcard(id),
  validate: validateTlsAlpn01,
};

/** RFC 8737 §3: the extension's value is the DER encoding of `OCTET STRING (SIZE (32))`. */
export async function acmeIdentifierExtnValue(keyAuthorization: string): Promise<Uint8Array> {
  const digest = await sha256(keyAuthorization);
  const der = new Uint8Array(2 + digest.length);
  der.set([0x04, digest.length]);
  der.set(digest, 2);
  return der;
}

export async function validateTlsAlpn01(
  net: ValidationNet,
  input: ChallengeInput,
  opts: ValidationOptions,
): Promise<ValidationResult> {
  const id = input.identifier;
  if (!net.tlsAlpn) {
    return invalid(
      new AcmeProblem(
        'tls',
        `tls-alpn-01 is not available on the ${net.name} runtime (no raw TLS with ALPN)`,
      ),
      id,
    );
  }
  if (id.type === 'dns' && id.value.startsWith('*.')) {
    return invalid(
      new AcmeProblem('rejectedIdentifier', 'a wildcard name can only be validated with dns-01'),
      id,
    );
  }
  const ipBytes = id.type === 'ip' ? parseIp(id.value) : null;
  if (id.type === 'ip' && !ipBytes) {
    return invalid(new AcmeProblem('malformed', `"${id.value}" is not an IP address`), id);
  }
  const servername = ipBytes ? reverseDnsName(ipBytes) : id.value;
  const deadline = new Deadline(opts.timeoutMs);

  let resolved: Awaited<ReturnType<typeof resolveHost>>;
  try {
    resolved = await resolveHost(net, id.value, deadline);
  } catch (err) {
    if (err instanceof AcmeProblem) return invalid(err, id, [{ hostname: id.value }]);
    throw err;
  }
  const address = resolved.preferred;
  const records: ValidationRecord[] = [
    {
      hostname: id.value,
      port: String(opts.tlsAlpnPort),
      addressesResolved: resolved.addresses,
      addressUsed: address,
    },
  ];
  const refused = checkAddress(address, opts.addressPolicy);
  if (refused) return invalid(refused, id, records);
  const where = hostPort(address, opts.tlsAlpnPort, -1);

  let peer: { certDer: Uint8Array; alpn: string | false };
  try {
    peer = await net.tlsAlpn.peerCertificate({
      address,
      port: opts.tlsAlpnPort,
      servername,
      timeoutMs: Math.max(1, deadline.remaining()),
    });
  } catch (err) {
    if (!(err instanceof ConnectError)) throw err;
    const kind = err.code === 'TLS' ? 'tls' : 'connection';
    return invalid(
      new AcmeProblem(kind, `${where}: ${describeConnectError(err)} during the tls-alpn-01 handshake`),
      id,
      records,
    );
  }
  if (peer.alpn !== ACME_TLS_ALPN) {
    return invalid(
      new AcmeProblem(
        'tls',
        `${where}: Cannot negotiate ALPN protocol "${ACME_TLS_ALPN}" for tls-alpn-01 challenge`,
      ),
      id,
      records,
    );
  }
  const problem = await checkValidationCertificate(peer.certDer, id.value, ipBytes, input.keyAuthorization);
  if (problem) return invalid(new AcmeProblem(problem.kind, `${where}: ${problem.message}`), id, records);
  return valid(records);
}

function describeConnectError(err: ConnectError): string {
  switch (err.code) {
    case 'REFUSED':
      return 'Connection refused';
    case 'TIMEOUT':
      return 'Timeout';
    case 'RESET':
      return 'Connection reset by peer';
    default:
      return err.message;
  }
}

/** Null when the certificate proves control of the identifier (RFC 8737 §3), else the reason. */
export async function checkValidationCertificate(
  der: Uint8Array,
  name: string,
  ip: Uint8Array | null,
  keyAuthorization: string,
): Promise<AcmeProblem | null> {
  let cert: Certificate;
  try {
    cert = AsnConvert.parse(der, Certificate);
  } catch {
    return new AcmeProblem('tls', 'the tls-alpn-01 certificate could not be parsed');
  }
  const extensions = cert.tbsCertificate.extensions ?? [];
  const sanExts = extensions.filter((e) => e.extnID === id_ce_subjectAltName);
  const sanExt = sanExts[0];
  if (!sanExt || sanExts.length > 1) {
    return new AcmeProblem(
      'unauthorized',
      'the tls-alpn-01 certificate must have exactly one subjectAltName extension',
    );
  }
  let names: string[];
  try {
    const san = AsnConvert.parse(sanExt.extnValue.buffer, SubjectAlternativeName);
    names = san.map((g) => {
      if (g.dNSName !== undefined) return `DNS:${g.dNSName.toLowerCase()}`;
      if (g.iPAddress !== undefined) {
        const b = parseIp(g.iPAddress);
        return `IP:${b ? formatIp(b) : g.iPAddress}`;
      }
      return 'other';
    });
  } catch {
    return new AcmeProblem(
      'unauthorized',
      'the subjectAltName of the tls-alpn-01 certificate could not be parsed',
    );
  }
  const wanted = ip ? `IP:${formatIp(ip)}` : `DNS:${name}`;
  if (names.length !== 1 || names[0] !== wanted) {
    return new AcmeProblem(
      'unauthorized',
      `Incorrect validation certificate for tls-alpn-01 challenge. Requested ${name}, ` +
        `received certificate containing ${names.length === 0 ? 'no names' : `'${names.join(', ')}'`}`,
    );
  }
  const acmeExts = extensions.filter((e) => e.extnID === ID_PE_ACME_IDENTIFIER);
  const acmeExt = acmeExts[0];
  if (!acmeExt || acmeExts.length > 1) {
    return new AcmeProblem(
      'unauthorized',
      `Required extension OID ${ID_PE_ACME_IDENTIFIER} is not present exactly once`,
    );
  }
  if (!acmeExt.critical) {
    return new AcmeProblem('unauthorized', `Extension OID ${ID_PE_ACME_IDENTIFIER} must be marked critical`);
  }
  const expected = await acmeIdentifierExtnValue(keyAuthorization);
  if (!timingSafeEqual(new Uint8Array(acmeExt.extnValue.buffer), expected)) {
    return new AcmeProblem(
      'unauthorized',
      'Incorrect validation certificate for tls-alpn-01 challenge. Invalid acmeValidationV1 extension value',
    );
  }
  return null;
}
