// Bad key rollovers (RFC 8555 §7.3.5): the inner JWS malformed, unsigned, by the wrong key or
// algorithm, for another account or to a key already in use. Nothing may change on any of them.
import assert from 'node:assert/strict';
import { newKey } from '../support/acme.ts';
import { innerJws, keyChange, rollover, setup, teardown, type World } from './account-world.ts';
import { type BadRequest, rsaKey, runTable } from './harness.ts';

const cases: BadRequest<World>[] = [
  // key rollover (RFC 8555 §7.3.5)
  {
    name: 'rejects a keyChange whose oldKey is an array as malformed',
    status: 400,
    type: 'malformed',
    detail: /oldKey/,
    send: keyChange(async (w, k) => {
      const r = rollover(w, k);
      return innerJws(k, r.hdr, { ...r.body, oldKey: [w.a.key.jwk] });
    }),
  },
  {
    name: 'rejects a keyChange whose payload is not a JWS as malformed',
    status: 400,
    type: 'malformed',
    send: keyChange(async (w) => ({ account: w.a.kid, oldKey: w.a.key.jwk })),
  },
  {
    name: 'rejects a keyChange whose inner JWS has no jwk as malformed',
    status: 400,
    type: 'malformed',
    send: keyChange(async (w, k) => {
      const r = rollover(w, k);
      return innerJws(k, { alg: k.alg, kid: w.a.kid, url: w.a.dir.keyChange }, r.body);
    }),
  },
  {
    name: 'rejects a keyChange whose inner url differs from the outer as malformed',
    status: 400,
    type: 'malformed',
    send: keyChange(async (w, k) => {
      const r = rollover(w, k);
      return innerJws(k, { ...r.hdr, url: w.a.dir.newAccount }, r.body);
    }),
  },
  {
    name: 'rejects a keyChange whose inner signature does not verify as malformed',
    status: 400,
    type: 'malformed',
    send: keyChange(async (w, k) => {
      const r = rollover(w, k);
      return innerJws(k, r.hdr, r.body, (await newKey()).privateKey);
    }),
  },
  {
    name: 'rejects a keyChange whose inner JWS uses alg HS256 with badSignatureAlgorithm',
    status: 400,
    type: 'badSignatureAlgorithm',
    algorithms: true,
    send: keyChange(async (w, k) => {
      const r = rollover(w, k);
      return innerJws(k, { ...r.hdr, alg: 'HS256' }, r.body, new Uint8Array(32));
    }),
  },
  {
    name: 'rejects a keyChange to an RSA-1024 key with badPublicKey',
    status: 400,
    type: 'badPublicKey',
    detail: /1024/,
    send: keyChange(
      async (w, k) => {
        const r = rollover(w, k);
        return innerJws(k, { ...r.hdr, alg: 'RS256' }, r.body);
      },
      () => rsaKey(1024),
    ),
  },
  {
    name: 'rejects a keyChange naming another account as malformed',
    status: 400,
    type: 'malformed',
    send: keyChange(async (w, k) => {
      const r = rollover(w, k);
      return innerJws(k, r.hdr, { ...r.body, account: w.b.kid });
    }),
  },
  {
    name: "rejects a keyChange whose oldKey is not the account's key with unauthorized",
    status: 403,
    type: 'unauthorized',
    send: keyChange(async (w, k) => {
      const r = rollover(w, k);
      return innerJws(k, r.hdr, { ...r.body, oldKey: (await newKey()).jwk });
    }),
  },
  {
    name: "rejects a keyChange to another account's key with 409 and that account's Location",
    status: 409,
    type: 'malformed',
    send: keyChange(
      async (w, k) => {
        const r = rollover(w, k);
        return innerJws(k, { ...r.hdr, jwk: w.b.key.jwk }, r.body, w.b.key.privateKey);
      },
      async () => newKey(),
    ),
    check: (_doc, res, w) => assert.equal(res.headers.get('location'), w.b.kid),
  },
];

runTable('key rollover', setup, teardown, cases);
