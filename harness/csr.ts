// CSRs as an ACME client sends them at finalize, for the tests and the benchmark.
import { b64uEncode } from '../shared/encoding.ts';

/** A PKCS#10 CSR for the given names and IPs, with a fresh key (or the one given). */
export async function makeCsr(
  names: string[],
  opts: { ips?: string[]; key?: CryptoKeyPair; alg?: 'ES256' | 'RS256'; cn?: string } = {},
): Promise<{ der: Uint8Array; b64u: string; keys: CryptoKeyPair }> {
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  const algorithm =
    opts.alg === 'RS256'
      ? {
          name: 'RSASSA-PKCS1-v1_5',
          hash: 'SHA-256',
          publicExponent: new Uint8Array([1, 0, 1]),
          modulusLength: 2048,
        }
      : { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys =
    opts.key ?? ((await crypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as CryptoKeyPair);
  const sans = [
    ...names.map((n) => ({ type: 'dns' as const, value: n })),
    ...(opts.ips ?? []).map((ip) => ({ type: 'ip' as const, value: ip })),
  ];
  const cn = opts.cn ?? names[0];
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    ...(cn ? { name: `CN=${cn}` } : {}),
    keys,
    signingAlgorithm: algorithm,
    extensions: sans.length ? [new x509.SubjectAlternativeNameExtension(sans)] : [],
  });
  const der = new Uint8Array(csr.rawData);
  return { der, b64u: b64uEncode(der), keys };
}
