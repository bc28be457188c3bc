// Bad external account bindings (RFC 8555 §7.3.4) on an edge that requires them: a wrong MAC,
// an unknown or already bound key id, a binding over another key or URL, a nonce, a public-key
// algorithm, no JWS at all. Nothing may change on any of them.
import { b64uEncode } from '../../shared/encoding.ts';
import { newKey } from '../support/acme.ts';
import {
  EAB_BOUND,
  EAB_KID,
  eabEdge,
  eabJws,
  innerJws,
  newAccountWith,
  setup,
  teardown,
  type World,
} from './account-world.ts';
import { type BadRequest, runTable } from './harness.ts';

const cases: BadRequest<World>[] = [
  // external account binding (RFC 8555 §7.3.4)
  {
    name: 'rejects newAccount without EAB when EAB is required with externalAccountRequired',
    status: 400,
    type: 'externalAccountRequired',
    edge: eabEdge,
    send: newAccountWith(eabEdge, async () => ({ termsOfServiceAgreed: true })),
  },
  {
    name: 'rejects an EAB whose MAC does not verify with unauthorized',
    status: 403,
    type: 'unauthorized',
    edge: eabEdge,
    send: newAccountWith(eabEdge, async (_w, s) => ({
      termsOfServiceAgreed: true,
      externalAccountBinding: await s.eab(EAB_KID, b64uEncode(crypto.getRandomValues(new Uint8Array(32)))),
    })),
  },
  {
    name: 'rejects an EAB with an unknown key id with unauthorized',
    status: 403,
    type: 'unauthorized',
    edge: eabEdge,
    send: newAccountWith(eabEdge, async (w, s) => ({
      termsOfServiceAgreed: true,
      externalAccountBinding: await s.eab('kid-unknown', w.hmac),
    })),
  },
  {
    name: 'rejects an EAB key already bound to another account with unauthorized',
    status: 403,
    type: 'unauthorized',
    edge: eabEdge,
    send: newAccountWith(eabEdge, async (w, s) => ({
      termsOfServiceAgreed: true,
      externalAccountBinding: await s.eab(EAB_BOUND, w.hmac),
    })),
  },
  {
    name: 'rejects an EAB over another key than the account key with unauthorized',
    status: 403,
    type: 'unauthorized',
    edge: eabEdge,
    send: newAccountWith(eabEdge, async (w, s) => ({
      termsOfServiceAgreed: true,
      externalAccountBinding: await eabJws(
        w.hmac,
        { alg: 'HS256', kid: EAB_KID, url: s.dir.newAccount },
        (await newKey()).jwk,
      ),
    })),
  },
  {
    name: 'rejects an EAB addressed to another URL with unauthorized',
    status: 403,
    type: 'unauthorized',
    edge: eabEdge,
    send: newAccountWith(eabEdge, async (w, s) => ({
      termsOfServiceAgreed: true,
      externalAccountBinding: await s.eab(EAB_KID, w.hmac, s.dir.newOrder),
    })),
  },
  {
    name: 'rejects an EAB carrying a nonce as malformed',
    status: 400,
    type: 'malformed',
    edge: eabEdge,
    send: newAccountWith(eabEdge, async (w, s) => ({
      termsOfServiceAgreed: true,
      externalAccountBinding: await eabJws(
        w.hmac,
        { alg: 'HS256', kid: EAB_KID, url: s.dir.newAccount, nonce: await s.nonce() },
        s.key.jwk,
      ),
    })),
  },
  {
    name: 'rejects an EAB signed with a public-key algorithm with badSignatureAlgorithm',
    status: 400,
    type: 'badSignatureAlgorithm',
    edge: eabEdge,
    send: newAccountWith(eabEdge, async (_w, s) => ({
      termsOfServiceAgreed: true,
      externalAccountBinding: await innerJws(
        s.key,
        { alg: 'ES256', kid: EAB_KID, url: s.dir.newAccount },
        s.key.jwk,
      ),
    })),
  },
  {
    name: 'rejects an EAB that is not a JWS as malformed',
    status: 400,
    type: 'malformed',
    edge: eabEdge,
    send: newAccountWith(eabEdge, async () => ({
      termsOfServiceAgreed: true,
      externalAccountBinding: 'hmac',
    })),
  },
];

runTable('external account binding', setup, teardown, cases);
