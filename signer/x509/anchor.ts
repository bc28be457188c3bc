// Whether a CA certificate chains to one of the roots given from outside the store: signatures and
// issuer names only, up to four certificates in between. Validity periods are not checked here: a
// signature made while a certificate was valid stays evidence after it expired, and a signer
// refuses an expired issuer elsewhere.
import { X509Certificate } from 'node:crypto';

const MAX_DEPTH = 4;

export function chainsToRoots(
  certDer: Uint8Array,
  intermediates: Uint8Array[],
  roots: Uint8Array[],
): boolean {
  const rootCerts = roots.map((r) => new X509Certificate(r));
  const pool = intermediates.map((d) => new X509Certificate(d));
  const up = (cert: X509Certificate, depth: number): boolean => {
    if (rootCerts.some((root) => cert.checkIssued(root) && cert.verify(root.publicKey))) return true;
    if (depth === 0) return false;
    return pool.some(
      (above) =>
        above.raw.compare(cert.raw) !== 0 &&
        cert.checkIssued(above) &&
        cert.verify(above.publicKey) &&
        up(above, depth - 1),
    );
  };
  return up(new X509Certificate(certDer), MAX_DEPTH);
}
