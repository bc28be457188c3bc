// Keys reported compromised (RFC 8555 §7.6 revocation with reason keyCompromise, or blocked by an
// admin) are refused from then on: as an account key at newAccount and keyChange with badPublicKey
// (§6.7: "The JWS was signed by a public key the server does not support"), and as the key of a CSR
// at finalize with badCSR (§6.7 "The CSR is unacceptable (e.g., due to a short key)", §7.4). The key
// of the first row is blocked the way a subscriber reports it: revokeCert signed by the certificate's
// own key. Nothing may change on any refusal.
import assert from 'node:assert/strict';
import { blockKeys } from '../../edge/acme/block-keys.ts';
import { jwkDigest } from '../../edge/acme/compromised-keys.ts';
import { b64uEncode } from '../../shared/encoding.ts';
import { type AcmeKey, newKey, TestAcme } from '../support/acme.ts';
import { type InprocEdge, startInprocEdge } from '../support/edge-app.ts';
import {
  account,
  type BadRequest,
  customCsr,
  finalizeOk,
  type Http01,
  makeReady,
  newOrder,
  type OrderInfo,
  postOk,
  rsaKey,
  runTable,
  softwareSigner,
  startHttp01,
} from './harness.ts';

interface World {
  edge: InprocEdge;
  http: Http01;
  a: TestAcme;
  /** a P-256 key whose certificate was revoked with keyCompromise by a JWS signed with it */
  reported: AcmeKey;
  /** an RSA key an admin blocked directly */
  adminBlocked: AcmeKey;
  /** A's ready order for ip 127.0.0.1 */
  ready: OrderInfo;
}

const ip = (value: string) => ({ type: 'ip' as const, value });

async function keyPairOf(k: AcmeKey): Promise<CryptoKeyPair> {
  const publicKey = await crypto.subtle.importKey(
    'jwk',
    k.jwk as JsonWebKey,
    { name: 'ECDSA', namedCurve: 'P-256' },
    true,
    ['verify'],
  );
  return { publicKey, privateKey: k.privateKey };
}

async function setup(): Promise<World> {
  const http = await startHttp01(['127.0.0.1']);
  const signer = { ...(await softwareSigner()), revoke: async () => ({ status: 'revoked' as const }) };
  const edge = await startInprocEdge({ signer, config: { http01Port: http.port } });
  const a = await account(edge, await newKey('ES256'));
  const reported = await newKey('ES256');
  const done = await newOrder(a, [ip('127.0.0.1')]);
  await makeReady(a, done, http);
  const certUrl = await finalizeOk(
    a,
    done,
    b64uEncode(await customCsr({ ips: ['127.0.0.1'], keys: await keyPairOf(reported) })),
  );
  const pem = await (await postOk(a, certUrl, '')).text();
  const b64 = /-----BEGIN CERTIFICATE-----([^-]+)-----END/.exec(pem)?.[1] ?? '';
  const der = new Uint8Array(Buffer.from(b64.replace(/\s+/g, ''), 'base64'));
  // RFC 8555 §7.6: revocation signed by the certificate's key, with the JWK in the header
  const holder = await new TestAcme(edge.fetch, edge.directoryUrl, reported).init();
  const res = await holder.post(
    holder.dir.revokeCert,
    { certificate: b64uEncode(der), reason: 1 },
    { useJwk: true },
  );
  assert.equal(res.status, 200, await res.text());
  const adminBlocked = await rsaKey(2048);
  const digest = await jwkDigest(adminBlocked.jwk);
  await blockKeys(
    edge.svc,
    [
      {
        spkiSha256: digest!,
        source: 'admin-block',
        serial: null,
        accountId: null,
        note: '',
        createdAt: Date.now(),
      },
    ],
    { tokenId: 'test' },
  );
  const ready = await newOrder(a, [ip('127.0.0.1')]);
  await makeReady(a, ready, http);
  return { edge, http, a, reported, adminBlocked, ready };
}

/** keyChange of account A to `to`: inner JWS by the new key over {account, oldKey} (RFC 8555 §7.3.5). */
async function keyChangeTo(w: World, to: AcmeKey): Promise<Response> {
  return w.a.post(w.a.dir.keyChange, await w.a.keyChangeInner(to));
}

async function newAccountWith(
  w: World,
  key: AcmeKey,
  payload: Record<string, unknown> = { termsOfServiceAgreed: true },
) {
  const c = await new TestAcme(w.edge.fetch, w.edge.directoryUrl, key).init();
  return c.post(c.dir.newAccount, payload, { useJwk: true });
}

const COMPROMISED = /reported compromised/;

const cases: BadRequest<World>[] = [
  {
    name: 'rejects newAccount with a key reported compromised through revokeCert as badPublicKey',
    status: 400,
    type: 'badPublicKey',
    detail: COMPROMISED,
    send: (w) => newAccountWith(w, w.reported),
  },
  {
    name: 'rejects newAccount onlyReturnExisting with a key reported compromised as badPublicKey',
    status: 400,
    type: 'badPublicKey',
    detail: COMPROMISED,
    send: (w) => newAccountWith(w, w.reported, { onlyReturnExisting: true }),
  },
  {
    name: 'rejects newAccount with an RSA key an admin blocked as badPublicKey',
    status: 400,
    type: 'badPublicKey',
    detail: COMPROMISED,
    send: (w) => newAccountWith(w, w.adminBlocked),
  },
  {
    name: 'rejects a keyChange to a key reported compromised as badPublicKey',
    status: 400,
    type: 'badPublicKey',
    detail: COMPROMISED,
    send: (w) => keyChangeTo(w, w.reported),
  },
  {
    name: 'rejects finalize with a CSR for a key reported compromised as badCSR',
    status: 400,
    type: 'badCSR',
    detail: /CSR's public key cannot be certified: it was reported compromised/,
    send: async (w) =>
      w.a.post(w.ready.finalize, {
        csr: b64uEncode(await customCsr({ ips: ['127.0.0.1'], keys: await keyPairOf(w.reported) })),
      }),
  },
];

runTable(
  'keys reported compromised',
  setup,
  async (w) => {
    w.edge.close();
    await w.http.close();
  },
  cases,
);
