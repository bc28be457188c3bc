// TLS material for the relay (edge → signer over HTTPS, the edge pinning the CA): a small CA of
// its own, apart from the CA edgeca runs. Pinning the issuing CA instead would let any certificate
// it issues for the signer's address (an ACME client may ask for 127.0.0.1 or an internal name)
// pass as the signer. The development setup throws the relay CA's key away once the signer's
// certificate is signed, so the pinned CA vouches for that one certificate and nothing else.
// Software keys: the signer holds its TLS key like any server; its answers are signed apart
// (answerKeyFile), and the CA key never leaves the HSM.
import 'reflect-metadata'; // @peculiar/x509's Name parser registers tsyringe services on import
import * as x509 from '@peculiar/x509';

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

export interface RelayTls {
  /** the relay CA certificate (PEM): what the edge pins as EDGECA_SIGNER_CA_FILE */
  caPem: string;
  /** the server certificate (PEM), followed by nothing: the CA is the trust anchor */
  certPem: string;
  /** the server's private key (PKCS#8 PEM) */
  keyPem: string;
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.replace(/.{1,64}/g, '$&\n')}-----END ${label}-----\n`;
}

/**
 * A fresh relay CA and one server certificate from it for `names` (DNS names and IP addresses,
 * e.g. ['localhost', '127.0.0.1', '::1']). The CA key exists only inside this call.
 */
export async function makeRelayTls(o: {
  names: string[];
  caName?: string;
  days?: number;
}): Promise<RelayTls> {
  const now = Date.now();
  const notBefore = new Date(Math.floor((now - 5 * 60_000) / 1000) * 1000);
  const notAfter = new Date(notBefore.getTime() + (o.days ?? 825) * DAY);
  const caKeys = await crypto.subtle.generateKey(EC, false, ['sign', 'verify']);
  const random = () => Buffer.from(crypto.getRandomValues(new Uint8Array(12))).toString('hex');
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: `01${random()}`,
    name: `CN=${o.caName ?? 'edgeca relay CA'} ${random().slice(0, 6)}`,
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: EC,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const keys = await crypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const ip = /^[\d.]+$|:/;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: `02${random()}`,
    subject: `CN=${o.names[0] ?? 'signer'}`,
    issuer: ca.subject,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: EC,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        o.names.map((value) => ({ type: ip.test(value) ? ('ip' as const) : ('dns' as const), value })),
      ),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  return {
    caPem: ca.toString('pem') + '\n',
    certPem: cert.toString('pem') + '\n',
    keyPem: pem('PRIVATE KEY', await crypto.subtle.exportKey('pkcs8', keys.privateKey)),
  };
}
