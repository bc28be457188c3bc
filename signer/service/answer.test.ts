// The signer's signed answers (relay protocol v2) over real HTTP on 127.0.0.1, software CA: every
// answer to an authenticated sign or revoke request carries a JWS by the answer key that binds
// the request (jti, orderId or serial) and the response (status, body hash); a request that failed
// authentication gets none; a protocol version the signer does not serve is refused and audited.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createClient } from '@libsql/client';
import { b64uEncode, pemToDers } from '../../shared/encoding.ts';
import {
  answerBodyHash,
  importRelayPublicKey,
  RELAY_ANSWER_HEADER,
  RELAY_CONTENT_TYPE,
  RELAY_VERSION,
  type RelayAnswer,
  type RelayKey,
  signRelay,
  verifyRelay,
} from '../../shared/relay.ts';
import {
  edgeKeyPair,
  makeCsr,
  serialHex,
  softCa,
  softTools,
  testConfig,
  writeAnswerKey,
} from '../../test/support/signer-service.ts';
import { type RunningSigner, startSigner } from '../server.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgeca-answer-'));
let signer: RunningSigner;
let edge: RelayKey;
let answerKeys: Map<string, RelayKey>;

before(async () => {
  const ca = await softCa();
  writeFileSync(join(dir, 'issuer.pem'), ca.issuerPem);
  const e = await edgeKeyPair('edge-1');
  edge = e.priv;
  const pub = await importRelayPublicKey(await writeAnswerKey(dir, 'signer-answers'));
  answerKeys = new Map([[pub.kid, pub]]);
  signer = await startSigner({
    config: testConfig([e.pubJwk], 'file:signer.db'),
    baseDir: dir,
    deps: { signer: ca.signer, tools: await softTools(ca.issuerDer, ca.signer.spki), log: () => {} },
  });
});
after(async () => {
  await signer?.close();
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
async function signBody(over: Record<string, unknown> = {}) {
  const now = Date.now();
  return {
    op: 'sign' as const,
    orderId: `order-${++n}`,
    accountId: 'acct-1',
    profile: 'default',
    csr: b64uEncode(await makeCsr({ dns: ['a.internal.test'] })),
    identifiers: [{ type: 'dns' as const, value: 'a.internal.test' }],
    notBefore: new Date(now).toISOString(),
    notAfter: new Date(now + 86_400_000).toISOString(),
    ...over,
  };
}

async function post(path: string, jws: string): Promise<{ res: Response; body: Uint8Array }> {
  const res = await fetch(`${signer.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': RELAY_CONTENT_TYPE },
    body: jws,
  });
  return { res, body: new Uint8Array(await res.arrayBuffer()) };
}

/** The answer a response carries, verified against the answer key, checked against the response. */
async function answerOf(
  got: { res: Response; body: Uint8Array },
  op: RelayAnswer['op'],
): Promise<RelayAnswer> {
  const jws = got.res.headers.get(RELAY_ANSWER_HEADER);
  assert.ok(jws, `the answer is signed (HTTP ${got.res.status} ${new TextDecoder().decode(got.body)})`);
  const { payload } = await verifyRelay<RelayAnswer>(jws, { op, keys: answerKeys });
  assert.equal(payload.v, RELAY_VERSION);
  assert.equal(payload.status, got.res.status);
  assert.equal(payload.bodySha256, await answerBodyHash(got.body));
  return payload;
}

const jtiOf = (jws: string) =>
  (JSON.parse(Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString()) as { jti: string }).jti;

describe('the signer signs its answers to authenticated requests', () => {
  let issuedSerial = '';

  test('a certificate: bound to the jti and orderId, the chain hashed, the serial named', async () => {
    const body = await signBody();
    const jws = await signRelay(body, edge);
    const got = await post('/v1/sign', jws);
    assert.equal(got.res.status, 200);
    const a = await answerOf(got, 'sign-answer');
    assert.equal(a.jti, jtiOf(jws));
    assert.equal(a.orderId, body.orderId);
    const leaf = pemToDers(new TextDecoder().decode(got.body))[0]!;
    issuedSerial = serialHex(leaf);
    assert.equal(a.serial, issuedSerial);
  });

  test('a revocation: bound to the jti and serial, with revokedAt and the CRL number', async () => {
    const jws = await signRelay({ op: 'revoke' as const, serial: issuedSerial, reason: 1 }, edge);
    const got = await post('/v1/revoke', jws);
    assert.equal(got.res.status, 200);
    const a = await answerOf(got, 'revoke-answer');
    const doc = JSON.parse(new TextDecoder().decode(got.body)) as Record<string, string>;
    assert.deepEqual(
      { jti: a.jti, serial: a.serial, revokedAt: a.revokedAt, crlNumber: a.crlNumber },
      { jti: jtiOf(jws), serial: issuedSerial, revokedAt: doc.revokedAt, crlNumber: doc.crlNumber },
    );
  });

  test('a refusal (alreadyRevoked): signed, so the edge may trust that the revocation stands', async () => {
    const jws = await signRelay({ op: 'revoke' as const, serial: issuedSerial, reason: 1 }, edge);
    const got = await post('/v1/revoke', jws);
    assert.equal(got.res.status, 400);
    const a = await answerOf(got, 'revoke-answer');
    assert.equal(a.jti, jtiOf(jws));
    assert.equal(a.serial, issuedSerial);
    assert.match(new TextDecoder().decode(got.body), /alreadyRevoked/);
  });

  test('a ceiling refusal of a sign request: signed, bound to the order', async () => {
    const body = await signBody({ identifiers: [{ type: 'dns', value: 'other.internal.test' }] });
    const got = await post('/v1/sign', await signRelay(body, edge));
    assert.equal(got.res.status, 403);
    assert.equal((await answerOf(got, 'sign-answer')).orderId, body.orderId);
  });

  test('a request that fails authentication gets no signed answer', async () => {
    const stranger = (await edgeKeyPair('edge-1')).priv;
    const got = await post('/v1/sign', await signRelay(await signBody(), stranger));
    assert.equal(got.res.status, 403);
    assert.equal(got.res.headers.get(RELAY_ANSWER_HEADER), null);
  });

  test('a protocol version it does not serve is refused (signed, audited); version 1 is still served', async () => {
    const body = await signBody({ v: 99 });
    const got = await post('/v1/sign', await signRelay(body, edge));
    assert.equal(got.res.status, 400);
    assert.match(new TextDecoder().decode(got.body), /protocol version 99/);
    await answerOf(got, 'sign-answer');
    const db = createClient({ url: `file:${join(dir, 'signer.db')}` });
    try {
      const rows = (
        await db.execute("SELECT details FROM audit_log WHERE event = 'refuse' ORDER BY seq DESC LIMIT 1")
      ).rows;
      assert.match(String(rows[0]?.details), /protocolVersion/);
    } finally {
      db.close();
    }
    const v1 = await signBody({ v: 1 });
    assert.equal((await post('/v1/sign', await signRelay(v1, edge))).res.status, 200);
  });
});
