// parseCsr against CSRs made here with WebCrypto and @peculiar/x509's generator.
import 'reflect-metadata'; // @peculiar/x509 (used only to make test CSRs) needs it; parseCsr does not
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as x509 from '@peculiar/x509';
import { type ParsedCsr, parseCsr } from './csr.ts';
import { AcmeProblem } from './problems.ts';

type KeyAlg = EcKeyGenParams | RsaHashedKeyGenParams;

const ec = (namedCurve: string, hash = 'SHA-256') => ({
  gen: { name: 'ECDSA', namedCurve },
  sign: { name: 'ECDSA', hash },
});
const rsa = (modulusLength: number, hash = 'SHA-256') => ({
  gen: { name: 'RSASSA-PKCS1-v1_5', modulusLength, publicExponent: Uint8Array.of(1, 0, 1), hash },
  sign: { name: 'RSASSA-PKCS1-v1_5', hash },
});

async function makeCsr(opts: {
  alg: { gen: KeyAlg; sign: Algorithm & { hash?: string } };
  name?: string;
  sans?: x509.JsonGeneralName[];
  ca?: boolean;
}): Promise<Uint8Array<ArrayBuffer>> {
  const keys = (await crypto.subtle.generateKey(opts.alg.gen, false, ['sign', 'verify'])) as CryptoKeyPair;
  const extensions: x509.Extension[] = [];
  if (opts.sans) extensions.push(new x509.SubjectAlternativeNameExtension(opts.sans));
  if (opts.ca !== undefined) extensions.push(new x509.BasicConstraintsExtension(opts.ca, undefined, true));
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    ...(opts.name ? { name: opts.name } : {}),
    keys,
    signingAlgorithm: opts.alg.sign,
    extensions,
  });
  return new Uint8Array(csr.rawData);
}

const sans = (...names: string[]): x509.JsonGeneralName[] =>
  names.map((n) => (/^[0-9.]+$|:/.test(n) ? { type: 'ip', value: n } : { type: 'dns', value: n }));

describe('parseCsr accepts and describes', () => {
  const cases: {
    name: string;
    make: () => Promise<Uint8Array<ArrayBuffer>>;
    want: Partial<ParsedCsr>;
  }[] = [
    {
      name: 'an EC P-256 CSR with DNS and IP SANs: canonical sorted identifiers, CN, valid signature',
      make: () =>
        makeCsr({
          alg: ec('P-256'),
          name: 'CN=WWW.Example.test',
          sans: sans('WWW.Example.test', 'a.example.test', '10.0.0.1', '2001:db8:0:0::1'),
        }),
      want: {
        keyType: 'EC-P256',
        keyDescription: 'EC P-256',
        commonName: 'WWW.Example.test',
        identifiers: [
          { type: 'dns', value: 'a.example.test' },
          { type: 'dns', value: 'www.example.test' },
          { type: 'ip', value: '10.0.0.1' },
          { type: 'ip', value: '2001:db8::1' },
        ],
        requestsCa: false,
        signatureValid: true,
        otherSans: [],
      },
    },
    {
      name: 'an EC P-384 CSR signed with SHA-384 and no subject',
      make: () => makeCsr({ alg: ec('P-384', 'SHA-384'), sans: sans('*.example.test') }),
      want: {
        keyType: 'EC-P384',
        identifiers: [{ type: 'dns', value: '*.example.test' }],
        signatureValid: true,
      },
    },
    {
      name: 'an RSA-2048 CSR signed with SHA-256',
      make: () => makeCsr({ alg: rsa(2048), name: 'CN=rsa.test', sans: sans('rsa.test') }),
      want: { keyType: 'RSA-2048', keyDescription: 'RSA 2048-bit', signatureValid: true },
    },
    {
      name: 'an RSA-3072 CSR signed with SHA-512',
      make: () => makeCsr({ alg: rsa(3072, 'SHA-512'), sans: sans('rsa.test') }),
      want: { keyType: 'RSA-3072', signatureValid: true },
    },
    {
      name: 'a CSR asking for CA:true says so',
      make: () => makeCsr({ alg: ec('P-256'), sans: sans('ca.test'), ca: true }),
      want: { requestsCa: true, signatureValid: true },
    },
    {
      name: 'a CSR asking for CA:false does not',
      make: () => makeCsr({ alg: ec('P-256'), sans: sans('ca.test'), ca: false }),
      want: { requestsCa: false },
    },
    {
      name: 'an RSA-1024 key is unsupported but still described and verified',
      make: () => makeCsr({ alg: rsa(1024), sans: sans('weak.test') }),
      want: { keyType: 'unsupported', keyDescription: 'RSA 1024-bit', signatureValid: true },
    },
    {
      name: 'an EC P-521 key is unsupported',
      make: () => makeCsr({ alg: ec('P-521', 'SHA-512'), sans: sans('p521.test') }),
      want: { keyType: 'unsupported', keyDescription: 'EC P-521', signatureValid: true },
    },
    {
      name: 'SAN types other than DNS and IP are listed in otherSans',
      make: () =>
        makeCsr({
          alg: ec('P-256'),
          sans: [
            { type: 'dns', value: 'ok.test' },
            { type: 'email', value: 'a@b.test' },
            { type: 'url', value: 'https://x.test/' },
          ],
        }),
      want: {
        identifiers: [{ type: 'dns', value: 'ok.test' }],
        otherSans: ['email:a@b.test', 'uri:https://x.test/'],
      },
    },
    {
      name: 'a CSR without SAN has no identifiers',
      make: () => makeCsr({ alg: ec('P-256'), name: 'CN=only-cn.test' }),
      want: { identifiers: [], commonName: 'only-cn.test' },
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const der = await c.make();
      const got = await parseCsr(der);
      for (const [k, v] of Object.entries(c.want)) assert.deepEqual(got[k as keyof ParsedCsr], v, k);
      const req = new x509.Pkcs10CertificateRequest(der);
      assert.deepEqual(got.spki, new Uint8Array(req.publicKey.rawData));
    });
  }
});

describe('parseCsr rejects or flags', () => {
  test('a tampered signature does not verify', async () => {
    const der = await makeCsr({ alg: ec('P-256'), sans: sans('a.test') });
    const bad = der.slice();
    bad[bad.length - 5] = (bad[bad.length - 5] as number) ^ 0x01;
    assert.equal((await parseCsr(bad)).signatureValid, false);
  });

  test('a tampered request body does not verify', async () => {
    const der = await makeCsr({ alg: rsa(2048), sans: sans('aaaa.test') });
    const text = Buffer.from(der).toString('latin1');
    const at = text.indexOf('aaaa.test');
    assert.ok(at > 0);
    const bad = der.slice();
    bad[at] = 'b'.charCodeAt(0);
    const got = await parseCsr(bad);
    assert.equal(got.signatureValid, false);
    assert.deepEqual(got.identifiers, [{ type: 'dns', value: 'baaa.test' }]);
  });

  const problems: { name: string; make: () => Promise<Uint8Array>; detail: RegExp }[] = [
    {
      name: 'garbage bytes',
      make: async () => Uint8Array.from([1, 2, 3, 4, 5]),
      detail: /not a DER PKCS#10/,
    },
    { name: 'an empty input', make: async () => new Uint8Array(0), detail: /not a DER PKCS#10/ },
    {
      name: 'a truncated CSR',
      make: async () => (await makeCsr({ alg: ec('P-256'), sans: sans('a.test') })).slice(0, 60),
      detail: /not a DER PKCS#10/,
    },
    {
      name: 'trailing bytes after the CSR',
      make: async () => {
        const der = await makeCsr({ alg: ec('P-256'), sans: sans('a.test') });
        return Uint8Array.from([...der, 0]);
      },
      detail: /not a DER PKCS#10/,
    },
    {
      name: 'a SAN dNSName that is not a valid DNS name',
      make: () => makeCsr({ alg: ec('P-256'), sans: [{ type: 'dns', value: 'bad_name.test' }] }),
      detail: /dNSName "bad_name\.test"/,
    },
  ];
  for (const c of problems) {
    test(`${c.name} is a badCSR problem`, async () => {
      const der = await c.make();
      await assert.rejects(parseCsr(der), (e: unknown) => {
        assert.ok(e instanceof AcmeProblem);
        assert.equal(e.kind, 'badCSR');
        assert.match(e.message, c.detail);
        return true;
      });
    });
  }
});

describe('parseCsr reads a plain CSR straight from the DER as the object model reads it', () => {
  /** What parseCsr answers: its result, or the problem's message. */
  const answer = async (der: Uint8Array, plain: boolean) => {
    try {
      return await parseCsr(der, { plain });
    } catch (e) {
      assert.ok(e instanceof AcmeProblem, String(e));
      return e.message;
    }
  };
  const samples = () => [
    makeCsr({ alg: ec('P-256'), name: 'CN=WWW.Example.test', sans: sans('www.example.test', '10.0.0.1') }),
    makeCsr({ alg: ec('P-384', 'SHA-384'), name: 'CN=a.test, O=Org, C=DE', sans: sans('a.test') }),
    makeCsr({ alg: rsa(2048), name: 'CN=ünïcode.test', sans: sans('xn--nicode-2ya2c.test') }),
    makeCsr({ alg: ec('P-256'), sans: sans('b.test'), ca: true }),
    makeCsr({ alg: ec('P-256'), sans: [{ type: 'email', value: 'a@b.test' }] }),
    makeCsr({ alg: ec('P-256'), name: 'CN=only-cn.test' }),
  ];

  test('the same answer for CSRs of every shape made here', async () => {
    for (const make of samples()) {
      const der = await make;
      assert.deepEqual(await answer(der, true), await answer(der, false));
    }
  });

  test('the same answer for 400 CSRs with one octet changed', async () => {
    const ders = await Promise.all(samples());
    // A fixed linear congruential sequence: the same mutations on every run.
    let x = 12345;
    const next = (n: number) => {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      return x % n;
    };
    for (let i = 0; i < 400; i++) {
      const der = (ders[i % ders.length] as Uint8Array).slice();
      der[next(der.length)] = next(256);
      assert.deepEqual(await answer(der, true), await answer(der, false), `mutation ${i}`);
    }
  });
});
