// Bad finalize requests (RFC 8555 §7.4, §11.1), certificate downloads (§7.4.2) and revocations
// (§7.6). Ready orders come from real http-01 validation against a responder on 127.0.0.x; the
// signer is a software stand-in, since what is under test is what the edge refuses before it.
import assert from 'node:assert/strict';
import { b64uEncode } from '../../shared/encoding.ts';
import { newKey, type TestAcme } from '../support/acme.ts';
import { type InprocEdge, startInprocEdge } from '../support/edge-app.ts';
import {
  account,
  type BadRequest,
  customCsr,
  finalizeOk,
  foreignCertificate,
  type Http01,
  makeReady,
  newOrder,
  type OrderInfo,
  postOk,
  runTable,
  startHttp01,
} from './harness.ts';

interface World {
  edge: InprocEdge;
  http: Http01;
  a: TestAcme;
  b: TestAcme;
  /** A's ready order for ip 127.0.0.1 */
  ready: OrderInfo;
  /** A's ready order for ip 127.0.0.1 and 127.0.0.2 */
  ready2: OrderInfo;
  /** A's pending order */
  pending: OrderInfo;
  /** A's finalized (valid) order and its certificate */
  done: OrderInfo;
  certA: { url: string; der: Uint8Array };
  /** B's certificate, for 127.0.0.3, which A holds no authorization for */
  certB: { url: string; der: Uint8Array };
}

const ip = (value: string) => ({ type: 'ip' as const, value });

async function download(acme: TestAcme, url: string): Promise<Uint8Array> {
  const pem = await (await postOk(acme, url, '')).text();
  const b64 = /-----BEGIN CERTIFICATE-----([^-]+)-----END CERTIFICATE-----/.exec(pem)?.[1] ?? '';
  return new Uint8Array(Buffer.from(b64.replace(/\s+/g, ''), 'base64'));
}

async function setup(): Promise<World> {
  const http = await startHttp01(['127.0.0.1', '127.0.0.2', '127.0.0.3']);
  const { softwareSigner } = await import('./harness.ts');
  const edge = await startInprocEdge({ signer: await softwareSigner(), config: { http01Port: http.port } });
  const a = await account(edge, await newKey('ES256'));
  const b = await account(edge, await newKey('ES256'));
  const ready = await newOrder(a, [ip('127.0.0.1')]);
  await makeReady(a, ready, http);
  const ready2 = await newOrder(a, [ip('127.0.0.1'), ip('127.0.0.2')]);
  await makeReady(a, ready2, http);
  const pending = await newOrder(a, [{ type: 'dns', value: 'pending.example.test' }]);
  const done = await newOrder(a, [ip('127.0.0.1')]);
  await makeReady(a, done, http);
  const urlA = await finalizeOk(a, done, b64uEncode(await customCsr({ ips: ['127.0.0.1'] })));
  const bOrder = await newOrder(b, [ip('127.0.0.3')]);
  await makeReady(b, bOrder, http);
  const urlB = await finalizeOk(b, bOrder, b64uEncode(await customCsr({ ips: ['127.0.0.3'] })));
  return {
    edge,
    http,
    a,
    b,
    ready,
    ready2,
    pending,
    done,
    certA: { url: urlA, der: await download(a, urlA) },
    certB: { url: urlB, der: await download(b, urlB) },
  };
}

const badCsr = (
  name: string,
  detail: RegExp,
  csr: (w: World) => Promise<string>,
  order = (w: World) => w.ready,
) =>
  ({
    name,
    status: 400,
    type: 'badCSR',
    detail,
    send: async (w) => w.a.post(order(w).finalize, { csr: await csr(w) }),
  }) satisfies BadRequest<World>;

const csrOf = async (o: Parameters<typeof customCsr>[0]) => b64uEncode(await customCsr(o));

const mal = (name: string, send: (w: World) => Promise<Response>): BadRequest<World> => ({
  name,
  status: 400,
  type: 'malformed',
  send,
});

const revoke = (payload: (w: World) => unknown) => (w: World) => w.a.post(w.a.dir.revokeCert, payload(w));

const badReason = (reason: unknown): BadRequest<World> => ({
  name: `rejects revocation reason ${JSON.stringify(reason)} with badRevocationReason`,
  status: 400,
  type: 'badRevocationReason',
  send: revoke((w) => ({ certificate: b64uEncode(w.certA.der), reason })),
});

const cases: BadRequest<World>[] = [
  // order state (RFC 8555 §7.4: 403 orderNotReady)
  {
    name: 'rejects finalizing a pending order with orderNotReady',
    status: 403,
    type: 'orderNotReady',
    send: async (w) => w.a.post(w.pending.finalize, { csr: await csrOf({ dns: ['pending.example.test'] }) }),
  },
  {
    name: 'rejects finalizing an order that is already valid with orderNotReady',
    status: 403,
    type: 'orderNotReady',
    send: async (w) => w.a.post(w.done.finalize, { csr: await csrOf({ ips: ['127.0.0.1'] }) }),
  },
  // the finalize payload
  mal('rejects finalize with an empty payload as malformed', (w) => w.a.post(w.ready.finalize, '')),
  mal('rejects finalize without "csr" as malformed', (w) => w.a.post(w.ready.finalize, {})),
  mal('rejects a "csr" that is not a string as malformed', (w) => w.a.post(w.ready.finalize, { csr: 42 })),
  // the CSR (RFC 8555 §7.4, §11.1)
  badCsr('rejects a CSR that is not base64url with badCSR', /base64url/, async () => 'MIIB+/w=='),
  badCsr(
    'rejects a CSR in padded base64url with badCSR',
    /base64url/,
    async () => `${await csrOf({ ips: ['127.0.0.1'] })}==`,
  ),
  badCsr('rejects a CSR that is not DER with badCSR', /not a DER/, async () =>
    b64uEncode(crypto.getRandomValues(new Uint8Array(200))),
  ),
  badCsr('rejects a CSR with trailing bytes with badCSR', /not a DER/, async () =>
    b64uEncode(new Uint8Array([...(await customCsr({ ips: ['127.0.0.1'] })), 0, 0])),
  ),
  badCsr('rejects a CSR naming an IP not in the order with badCSR', /not in the order: ip:127\.0\.0\.9/, () =>
    csrOf({ ips: ['127.0.0.1', '127.0.0.9'] }),
  ),
  badCsr('rejects a CSR naming a DNS name not in the order with badCSR', /not in the order: dns:extra/, () =>
    csrOf({ ips: ['127.0.0.1'], dns: ['extra.example.test'] }),
  ),
  badCsr(
    'rejects a CSR missing one of the order identifiers with badCSR',
    /missing from the CSR: ip:127\.0\.0\.2/,
    () => csrOf({ ips: ['127.0.0.1'] }),
    (w) => w.ready2,
  ),
  badCsr('rejects a CSR with a common name not in the order with badCSR', /common name/, () =>
    csrOf({ ips: ['127.0.0.1'], cn: 'other.example.test' }),
  ),
  badCsr('rejects a CSR with an email SAN with badCSR', /email/, () =>
    csrOf({ ips: ['127.0.0.1'], emails: ['me@example.test'] }),
  ),
  badCsr('rejects a CSR for the account key with badCSR (RFC 8555 §11.1)', /account key/, async (w) => {
    const publicKey = await crypto.subtle.importKey(
      'jwk',
      w.a.key.jwk as JsonWebKey,
      { name: 'ECDSA', namedCurve: 'P-256' },
      true,
      ['verify'],
    );
    return csrOf({ ips: ['127.0.0.1'], keys: { publicKey, privateKey: w.a.key.privateKey } });
  }),
  badCsr('rejects a CSR with an RSA-1024 key with badCSR', /RSA 1024/, () =>
    csrOf({
      ips: ['127.0.0.1'],
      keyAlg: {
        name: 'RSASSA-PKCS1-v1_5',
        hash: 'SHA-256',
        modulusLength: 1024,
        publicExponent: new Uint8Array([1, 0, 1]),
      },
    }),
  ),
  badCsr('rejects a CSR with a P-521 key with badCSR', /P-521/, () =>
    csrOf({
      ips: ['127.0.0.1'],
      keyAlg: { name: 'ECDSA', namedCurve: 'P-521' },
      signAlg: { name: 'ECDSA', hash: 'SHA-512' },
    }),
  ),
  badCsr('rejects a CSR whose signature does not verify with badCSR', /signature/, async () => {
    const der = await customCsr({ ips: ['127.0.0.1'] });
    // The signature BIT STRING ends the DER: flip a bit inside s.
    der[der.length - 3] = (der[der.length - 3] ?? 0) ^ 0x01;
    return b64uEncode(der);
  }),
  badCsr('rejects a CSR asking for a CA certificate with badCSR', /CA certificate/, () =>
    csrOf({ ips: ['127.0.0.1'], ca: true }),
  ),
  // certificates (RFC 8555 §7.4.2)
  {
    name: "rejects downloading another account's certificate with unauthorized",
    status: 403,
    type: 'unauthorized',
    send: (w) => w.a.post(w.certB.url, ''),
  },
  mal('rejects a certificate download with a payload as malformed', (w) => w.a.post(w.certA.url, {})),
  // revocation (RFC 8555 §7.6, RFC 5280 §5.3.1)
  badReason(7),
  badReason(2),
  badReason(11),
  badReason('1'),
  badReason(-1),
  mal(
    'rejects revokeCert without "certificate" as malformed',
    revoke(() => ({ reason: 0 })),
  ),
  mal(
    'rejects revokeCert whose certificate is not DER as malformed',
    revoke(() => ({ certificate: 'AAAA' })),
  ),
  mal(
    'rejects revokeCert with an empty payload as malformed',
    revoke(() => ''),
  ),
  {
    name: 'rejects revoking a certificate this CA did not issue with 404',
    status: 404,
    type: 'malformed',
    send: async (w) => w.a.post(w.a.dir.revokeCert, { certificate: b64uEncode(await foreignCertificate()) }),
  },
  {
    name: "rejects revoking another account's certificate without authorizations for it with unauthorized",
    status: 403,
    type: 'unauthorized',
    send: revoke((w) => ({ certificate: b64uEncode(w.certB.der) })),
  },
  {
    name: 'rejects revoking with a jwk that is neither the certificate key nor an account key with unauthorized',
    status: 403,
    type: 'unauthorized',
    send: async (w) =>
      w.a.post(
        w.a.dir.revokeCert,
        { certificate: b64uEncode(w.certA.der) },
        { key: await newKey(), useJwk: true },
      ),
  },
];

runTable(
  'finalize, certificates, revocation',
  async () => {
    const w = await setup();
    assert.ok(w.certA.der.length > 0 && w.certB.der.length > 0, 'certificates issued in setup');
    return w;
  },
  async (w) => {
    w.edge.close();
    await w.http.close();
  },
  cases,
);
