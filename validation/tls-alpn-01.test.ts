import 'reflect-metadata';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import * as x509 from '@peculiar/x509';
import { type ChallTestSrv, startChallTestSrv } from '../harness/challtestsrv.ts';
import { derToPem, sha256 } from '../shared/encoding.ts';
import type { Identifier } from '../shared/problems.ts';
import { DEFAULT_ADDRESS_POLICY } from './address-policy.ts';
import type { ValidationNet } from './net.ts';
import { createNodeNet } from './node/net.ts';
import { acmeIdentifierExtnValue, ID_PE_ACME_IDENTIFIER, validateTlsAlpn01 } from './tls-alpn-01.ts';
import type { ValidationOptions } from './types.ts';
import { keyAuthorization, validationOptions } from './validate.ts';

const KEY_AUTH = keyAuthorization('tok', 'thumb');
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

interface CertSpec {
  sans: x509.JsonGeneralName[];
  /** key authorization whose digest goes into the extension; null = no extension */
  keyAuth: string | null;
  critical?: boolean;
}

/** A self-signed RFC 8737 validation certificate, as an ACME client would present it. */
async function validationCert(spec: CertSpec): Promise<tls.SecureContext> {
  // Test-only key: extractable so node:tls can load it.
  const keys = await crypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const extensions: x509.Extension[] = [new x509.SubjectAlternativeNameExtension(spec.sans)];
  if (spec.keyAuth !== null) {
    const value = await acmeIdentifierExtnValue(spec.keyAuth);
    extensions.push(new x509.Extension(ID_PE_ACME_IDENTIFIER, spec.critical ?? true, value as BufferSource));
  }
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=ACME challenge',
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3_600_000),
    keys,
    signingAlgorithm: ALG,
    extensions,
  });
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', keys.privateKey));
  return tls.createSecureContext({ cert: cert.toString('pem'), key: derToPem(pkcs8, 'PRIVATE KEY') });
}

describe('validateTlsAlpn01 against a node:tls server speaking acme-tls/1', () => {
  let dnsSrv: ChallTestSrv;
  let rt: ValidationNet;
  let server: tls.Server;
  let noAlpnServer: tls.Server;
  let opts: ValidationOptions;
  const sniSeen: string[] = [];
  const contexts = new Map<string, tls.SecureContext>();

  before(async () => {
    dnsSrv = await startChallTestSrv();
    rt = createNodeNet({ dnsResolver: dnsSrv.dnsAddress });
    const dns = (value: string): x509.JsonGeneralName => ({ type: 'dns', value });
    contexts.set('ok.test', await validationCert({ sans: [dns('ok.test')], keyAuth: KEY_AUTH }));
    contexts.set(
      'digest.test',
      await validationCert({ sans: [dns('digest.test')], keyAuth: 'tok.other-thumb' }),
    );
    contexts.set(
      'noncrit.test',
      await validationCert({ sans: [dns('noncrit.test')], keyAuth: KEY_AUTH, critical: false }),
    );
    contexts.set('noext.test', await validationCert({ sans: [dns('noext.test')], keyAuth: null }));
    contexts.set(
      'twosan.test',
      await validationCert({ sans: [dns('twosan.test'), dns('extra.test')], keyAuth: KEY_AUTH }),
    );
    contexts.set(
      'othersan.test',
      await validationCert({ sans: [dns('someone-else.test')], keyAuth: KEY_AUTH }),
    );
    // RFC 8738 §6: SNI is the reverse name, the SAN is the IP address itself.
    contexts.set(
      '1.0.0.127.in-addr.arpa',
      await validationCert({ sans: [{ type: 'ip', value: '127.0.0.1' }], keyAuth: KEY_AUTH }),
    );
    const fallback = await validationCert({ sans: [dns('fallback.invalid')], keyAuth: null });
    const options = (alpn: string[]): tls.TlsOptions => ({
      ALPNProtocols: alpn,
      SNICallback: (name, cb) => {
        sniSeen.push(name);
        cb(null, contexts.get(name) ?? fallback);
      },
    });
    server = tls.createServer(options(['acme-tls/1']), (s) => s.end());
    noAlpnServer = tls.createServer(options(['http/1.1']), (s) => s.end());
    server.on('tlsClientError', () => {});
    noAlpnServer.on('tlsClientError', () => {});
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => noAlpnServer.listen(0, '127.0.0.1', r));
    opts = validationOptions({
      tlsAlpnPort: (server.address() as AddressInfo).port,
      timeoutMs: 3000,
      addressPolicy: { ...DEFAULT_ADDRESS_POLICY, allowLoopback: true },
    });
  });
  after(async () => {
    server.close();
    noAlpnServer.close();
    await dnsSrv?.close();
  });

  const cases: Array<{
    name: string;
    id: Identifier;
    status: 'valid' | 'invalid';
    kind?: string;
    detail?: RegExp;
    noAlpn?: boolean;
  }> = [
    {
      name: 'is valid with one matching SAN and a critical acmeIdentifier holding the digest',
      id: { type: 'dns', value: 'ok.test' },
      status: 'valid',
    },
    {
      name: 'is valid for an IPv4 identifier, asked for by its reverse name (RFC 8738 §6)',
      id: { type: 'ip', value: '127.0.0.1' },
      status: 'valid',
    },
    {
      name: 'is unauthorized when the acmeIdentifier digest is for another key authorization',
      id: { type: 'dns', value: 'digest.test' },
      status: 'invalid',
      kind: 'unauthorized',
      detail: /Invalid acmeValidationV1 extension value/,
    },
    {
      name: 'is unauthorized when the acmeIdentifier extension is not critical',
      id: { type: 'dns', value: 'noncrit.test' },
      status: 'invalid',
      kind: 'unauthorized',
      detail: /must be marked critical/,
    },
    {
      name: 'is unauthorized when the acmeIdentifier extension is missing',
      id: { type: 'dns', value: 'noext.test' },
      status: 'invalid',
      kind: 'unauthorized',
      detail: /1\.3\.6\.1\.5\.5\.7\.1\.31 is not present/,
    },
    {
      name: 'is unauthorized when the certificate names more than the identifier',
      id: { type: 'dns', value: 'twosan.test' },
      status: 'invalid',
      kind: 'unauthorized',
      detail: /containing 'DNS:twosan\.test, DNS:extra\.test'/,
    },
    {
      name: 'is unauthorized when the certificate names someone else',
      id: { type: 'dns', value: 'othersan.test' },
      status: 'invalid',
      kind: 'unauthorized',
      detail: /Requested othersan\.test/,
    },
    {
      name: 'is tls when the server does not speak acme-tls/1',
      id: { type: 'dns', value: 'ok.test' },
      status: 'invalid',
      kind: 'tls',
      noAlpn: true,
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const o = c.noAlpn ? { ...opts, tlsAlpnPort: (noAlpnServer.address() as AddressInfo).port } : opts;
      const result = await validateTlsAlpn01(
        rt,
        { identifier: c.id, token: 'tok', keyAuthorization: KEY_AUTH },
        o,
      );
      assert.equal(result.status, c.status, result.status === 'invalid' ? result.problem.message : 'valid');
      if (result.status !== 'invalid') return;
      assert.equal(result.problem.kind, c.kind);
      assert.deepEqual(result.problem.identifier, c.id);
      if (c.detail) assert.match(result.problem.message, c.detail);
    });
  }

  it('sends the identifier as SNI, and the reverse name for an IP', async () => {
    sniSeen.length = 0;
    const input = { type: 'tls-alpn-01', token: 'tok', keyAuthorization: KEY_AUTH } as const;
    await validateTlsAlpn01(rt, { ...input, identifier: { type: 'dns', value: 'ok.test' } }, opts);
    await validateTlsAlpn01(rt, { ...input, identifier: { type: 'ip', value: '127.0.0.1' } }, opts);
    assert.deepEqual(sniSeen, ['ok.test', '1.0.0.127.in-addr.arpa']);
  });

  it('is tls without connecting when the runtime has no raw TLS', async () => {
    const { tlsAlpn: _dropped, ...withoutTls } = rt;
    const result = await validateTlsAlpn01(
      withoutTls,
      {
        identifier: { type: 'dns', value: 'ok.test' },
        token: 'tok',
        keyAuthorization: KEY_AUTH,
      },
      opts,
    );
    assert.equal(result.status === 'invalid' && result.problem.kind, 'tls');
  });

  it('builds the extension value as DER OCTET STRING of SHA-256(keyAuthorization)', async () => {
    const v = await acmeIdentifierExtnValue(KEY_AUTH);
    assert.deepEqual(v.subarray(0, 2), new Uint8Array([0x04, 0x20]));
    assert.deepEqual(v.subarray(2), await sha256(KEY_AUTH));
  });
});
