// The signer's node:crypto relay primitive against jose's: requests jose signs verify with it, and
// answers it signs verify with jose; a tampered or extended JWS is refused by both.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CompactSign, exportJWK, generateKeyPair } from 'jose';
import { b64uEncode, utf8 } from '../shared/encoding.ts';
import { AcmeProblem } from '../shared/problems.ts';
import {
  importRelayPrivateKey,
  importRelayPublicKey,
  type RelayAlg,
  type RelayAnswer,
  type RelayKey,
  type RevokeRequest,
  signAnswer,
  signRelay,
  verifyRelay,
} from '../shared/relay.ts';
import { nodeRelayCrypto } from './relay-crypto.ts';

async function keys(alg: RelayAlg): Promise<{ priv: RelayKey; pub: RelayKey }> {
  const pair = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}),
  });
  const jwk = { ...(await exportJWK(pair.privateKey)), kid: `k-${alg}` };
  return { priv: await importRelayPrivateKey(jwk), pub: await importRelayPublicKey(jwk) };
}

const revoke = { op: 'revoke' as const, serial: '01', reason: 0 };

/** [jose's answer, node:crypto's answer]: the payload's jti, or the problem's message. */
async function both(jws: string, pub: RelayKey): Promise<[string, string]> {
  const keysByKid = new Map([[pub.kid, pub]]);
  const one = async (withNode: boolean) => {
    try {
      const { payload } = await verifyRelay<RevokeRequest>(jws, {
        op: 'revoke',
        keys: keysByKid,
        ...(withNode ? { crypto: nodeRelayCrypto } : {}),
      });
      return payload.jti;
    } catch (e) {
      assert.ok(e instanceof AcmeProblem, String(e));
      return e.message;
    }
  };
  return [await one(false), await one(true)];
}

describe('node:crypto relay primitive', () => {
  for (const alg of ['ES256', 'EdDSA'] as const) {
    test(`${alg}: a request verifies as with jose; tampered, crit or b64 headers do not`, async () => {
      const { priv, pub } = await keys(alg);
      const jws = await signRelay(revoke, priv);
      const [web, node] = await both(jws, pub);
      assert.equal(node, web);
      assert.ok(web.length >= 8 && !web.includes(' '), web);

      const [h, p, s] = jws.split('.') as [string, string, string];
      const flipped = `${h}.${p}.${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`;
      assert.deepEqual(await both(flipped, pub), [
        'relay JWS signature does not verify',
        'relay JWS signature does not verify',
      ]);
      const otherPayload = b64uEncode(utf8.encode(JSON.stringify({ ...revoke, jti: 'x'.repeat(20) })));
      assert.deepEqual(await both(`${h}.${otherPayload}.${s}`, pub), [
        'relay JWS signature does not verify',
        'relay JWS signature does not verify',
      ]);
      assert.deepEqual(await both(`${h}.${p}.${s}!`, pub), [
        'relay JWS signature does not verify',
        'relay JWS signature does not verify',
      ]);
      const now = Math.floor(Date.now() / 1000);
      const claims = utf8.encode(
        JSON.stringify({ v: 2, ...revoke, jti: 'j'.repeat(20), iat: now, exp: now + 60 }),
      );
      for (const extra of [
        { crit: ['x-unknown'], 'x-unknown': 1 },
        { b64: false, crit: ['b64'] },
      ]) {
        let signed: string;
        try {
          signed = await new CompactSign(claims)
            .setProtectedHeader({ alg, kid: pub.kid, typ: 'edgeca-relay+jws', ...extra })
            .sign(priv.key);
        } catch {
          continue; // jose will not even make it
        }
        const [web2, node2] = await both(signed, pub);
        assert.equal(node2, 'relay JWS signature does not verify');
        assert.equal(web2, node2);
      }
    });

    test(`${alg}: an answer signed with it verifies with jose`, async () => {
      const { priv, pub } = await keys(alg);
      const answer = { op: 'sign-answer' as const, jti: 'j'.repeat(20), status: 200, bodySha256: 'x' };
      const jws = await signAnswer(answer, priv, nodeRelayCrypto);
      const { payload } = await verifyRelay<RelayAnswer>(jws, {
        op: 'sign-answer',
        keys: new Map([[pub.kid, pub]]),
      });
      assert.equal(payload.jti, answer.jti);
      assert.equal(payload.status, 200);
    });
  }
});
