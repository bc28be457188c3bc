// The edge's validator client against answers crafted here: only an answer signed by the pinned
// validator key, for this request's jti, settles a challenge; everything else is `unavailable`.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CompactSign, exportJWK, generateKeyPair } from 'jose';
import {
  importRelayPrivateKey,
  importRelayPublicKey,
  RELAY_CONTENT_TYPE,
  signRelay,
  type ValidateAnswer,
  type ValidateRequest,
  verifyRelay,
} from '../../shared/relay.ts';
import type { ValidationInput } from '../../validation/validate.ts';
import { createValidatorClient } from './validator-client.ts';

async function jwk(kid: string) {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const priv = { ...(await exportJWK(privateKey)), kid };
  const { d: _d, ...pub } = priv;
  return { priv, pub };
}

const relay = await jwk('edge-1');
const validator = await jwk('validator-1');
const impostor = await jwk('validator-1');
const input: ValidationInput = {
  type: 'tls-alpn-01',
  identifier: { type: 'dns', value: 'db7.corp.internal' },
  token: 'tok_0123456789abcdefghijkl',
  keyAuthorization: 'tok_0123456789abcdefghijkl.thumb',
};

type Answerer = (req: ValidateRequest) => Promise<Response | string>;

/** A client whose fetch answers with `answer(request)` after checking the request it got. */
async function clientWith(answer: Answerer) {
  const relayPub = await importRelayPublicKey(relay.pub);
  return createValidatorClient({
    urls: ['http://validator.test:14200/'],
    relayKeyJwk: relay.priv,
    validatorKeyJwk: validator.pub,
    timeoutMs: 2000,
    fetch: (async (url: string, init: RequestInit) => {
      assert.equal(url, 'http://validator.test:14200/v1/validate');
      const { payload } = await verifyRelay<ValidateRequest>(String(init.body), {
        op: 'validate',
        keys: new Map([[relayPub.kid, relayPub]]),
      });
      assert.deepEqual(
        {
          type: payload.challengeType,
          identifier: payload.identifier,
          token: payload.token,
          keyAuthorization: payload.keyAuthorization,
        },
        input,
      );
      const out = await answer(payload);
      return typeof out === 'string'
        ? new Response(out, { headers: { 'content-type': RELAY_CONTENT_TYPE } })
        : out;
    }) as typeof fetch,
  });
}

const now = () => Math.floor(Date.now() / 1000);
const signAs = async (key: Record<string, unknown>, body: ValidateAnswer) =>
  signRelay<ValidateAnswer>(body, await importRelayPrivateKey(key as never));

describe('the validator client settles a challenge only on a signed answer to its own request', () => {
  test('valid: signed by the pinned key with the request jti', async () => {
    const c = await clientWith((r) =>
      signAs(validator.priv, { op: 'validate-answer', jti: r.jti, iat: now(), status: 'valid' }),
    );
    assert.deepEqual(await c.validate(input), { status: 'answered', result: { status: 'valid' } });
  });
  test('invalid: the signed problem, with its ACME type and the identifier', async () => {
    const c = await clientWith((r) =>
      signAs(validator.priv, {
        op: 'validate-answer',
        jti: r.jti,
        iat: now(),
        status: 'invalid',
        error: { type: 'urn:ietf:params:acme:error:tls', detail: 'Cannot negotiate ALPN' },
      }),
    );
    const out = await c.validate(input);
    assert.equal(out.status, 'answered');
    assert.ok(out.status === 'answered' && out.result.status === 'invalid');
    assert.equal(out.result.problem.kind, 'tls');
    assert.match(out.result.problem.message, /^on-prem validation: Cannot negotiate ALPN/);
    assert.deepEqual(out.result.problem.identifier, input.identifier);
  });

  const refused: { name: string; answer: Answerer; detail: RegExp }[] = [
    {
      name: 'a forged answer (another key under the pinned kid)',
      answer: (r) =>
        signAs(impostor.priv, { op: 'validate-answer', jti: r.jti, iat: now(), status: 'valid' }),
      detail: /signature does not verify/,
    },
    {
      name: 'a replayed answer (signed, but for another request jti)',
      answer: () =>
        signAs(validator.priv, {
          op: 'validate-answer',
          jti: 'an-older-request-jti',
          iat: now(),
          status: 'valid',
        }),
      detail: /another request/,
    },
    {
      name: 'a stale answer (iat too old)',
      answer: (r) =>
        signAs(validator.priv, { op: 'validate-answer', jti: r.jti, iat: now() - 3600, status: 'valid' }),
      detail: /too old/,
    },
    {
      name: 'the edge request echoed back (op validate, signed by the relay key)',
      answer: async (r) =>
        new CompactSign(new TextEncoder().encode(JSON.stringify({ ...r, status: 'valid' })))
          .setProtectedHeader({ alg: 'ES256', kid: 'validator-1' })
          .sign((await importRelayPrivateKey(relay.priv as never)).key),
      detail: /does not verify|not a "validate-answer"/,
    },
    {
      name: 'an unsigned JSON "valid"',
      answer: async (r) => JSON.stringify({ op: 'validate-answer', jti: r.jti, status: 'valid' }),
      detail: /compact JWS/,
    },
    {
      name: 'a signed answer with no status',
      answer: (r) =>
        signAs(validator.priv, { op: 'validate-answer', jti: r.jti, iat: now() } as ValidateAnswer),
      detail: /no valid status/,
    },
    {
      name: 'a problem document (HTTP 403)',
      answer: async () =>
        new Response('{"type":"urn:ietf:params:acme:error:unauthorized","detail":"x"}', { status: 403 }),
      detail: /HTTP 403/,
    },
    {
      name: 'a network failure',
      answer: async () => {
        throw new TypeError('fetch failed');
      },
      detail: /validator 0: unreachable/,
    },
  ];
  for (const c of refused) {
    test(`unavailable, never valid: ${c.name}`, async () => {
      const out = await (await clientWith(c.answer)).validate(input);
      assert.equal(out.status, 'unavailable');
      assert.match(out.status === 'unavailable' ? out.detail : '', c.detail);
    });
  }
});
