// Bad account requests: newAccount (RFC 8555 §7.3), account update and deactivation (§7.3.2,
// §7.3.6), and other spellings of one key. Nothing may change on any of them. External account
// binding is in account-eab.test.ts, key rollover in key-change.test.ts.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { exportJWK, generateKeyPair } from 'jose';
import { signJws } from '../../harness/acme-jws.ts';
import { type AcmeKey, newKey } from '../support/acme.ts';
import { type InprocEdge, startInprocEdge } from '../support/edge-app.ts';
import {
  flipUnusedBit,
  innerJws,
  leadingZero,
  main,
  newAccountWith,
  respelled,
  setup,
  stranger,
  teardown,
  type World,
} from './account-world.ts';
import { account, type BadRequest, postRaw, rsaKey, runTable } from './harness.ts';

const cases: BadRequest<World>[] = [
  // newAccount payload and contacts (RFC 8555 §7.3)
  {
    name: 'rejects a non-mailto contact with unsupportedContact',
    status: 400,
    type: 'unsupportedContact',
    send: newAccountWith(main, async () => ({ contact: ['tel:+15555550100'], termsOfServiceAgreed: true })),
  },
  {
    name: 'rejects a mailto contact that is not an address with invalidContact',
    status: 400,
    type: 'invalidContact',
    send: newAccountWith(main, async () => ({
      contact: ['mailto:not-an-address'],
      termsOfServiceAgreed: true,
    })),
  },
  {
    name: 'rejects a mailto contact with hfields with invalidContact',
    status: 400,
    type: 'invalidContact',
    send: newAccountWith(main, async () => ({
      contact: ['mailto:admin@example.test?subject=hi'],
      termsOfServiceAgreed: true,
    })),
  },
  {
    name: 'rejects a mailto contact with two addresses with invalidContact',
    status: 400,
    type: 'invalidContact',
    send: newAccountWith(main, async () => ({
      contact: ['mailto:a@example.test,b@example.test'],
      termsOfServiceAgreed: true,
    })),
  },
  {
    name: 'rejects termsOfServiceAgreed that is not a boolean as malformed',
    status: 400,
    type: 'malformed',
    send: newAccountWith(main, async () => ({ termsOfServiceAgreed: 'yes' })),
  },
  {
    name: 'rejects a newAccount payload that is an array as malformed',
    status: 400,
    type: 'malformed',
    send: newAccountWith(main, async () => [{ termsOfServiceAgreed: true }]),
  },
  {
    name: 'rejects a mailto contact longer than an address can be (254 octets) with invalidContact',
    status: 400,
    type: 'invalidContact',
    detail: /255 octets/,
    send: newAccountWith(main, async () => ({
      contact: [
        `mailto:${'a'.repeat(60)}@${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.${'e'.repeat(11)}`,
      ],
      termsOfServiceAgreed: true,
    })),
  },
  {
    name: 'rejects a mailto contact whose local part is over 64 octets with invalidContact',
    status: 400,
    type: 'invalidContact',
    detail: /local part of 65 octets/,
    send: newAccountWith(main, async () => ({
      contact: [`mailto:${'a'.repeat(65)}@example.test`],
      termsOfServiceAgreed: true,
    })),
  },
  {
    name: 'rejects an account update to a contact longer than 254 octets with invalidContact',
    status: 400,
    type: 'invalidContact',
    send: (w) =>
      w.a.post(w.a.kid ?? '', {
        contact: [`mailto:x@${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`],
      }),
  },
  // every field's type (RFC 8555 §7.1.2, §7.3): a wrong type is malformed, and creates nothing
  {
    name: 'rejects onlyReturnExisting "true" (a string) as malformed instead of creating an account',
    status: 400,
    type: 'malformed',
    detail: /onlyReturnExisting/,
    send: newAccountWith(main, async () => ({ onlyReturnExisting: 'true', termsOfServiceAgreed: true })),
  },
  {
    name: 'rejects onlyReturnExisting 1 as malformed',
    status: 400,
    type: 'malformed',
    detail: /onlyReturnExisting/,
    send: newAccountWith(main, async () => ({ onlyReturnExisting: 1 })),
  },
  {
    name: 'rejects onlyReturnExisting "false" for a key with an account as malformed',
    status: 400,
    type: 'malformed',
    detail: /onlyReturnExisting/,
    send: (w) => w.a.post(w.a.dir.newAccount, { onlyReturnExisting: 'false' }, { useJwk: true }),
  },
  {
    name: 'rejects termsOfServiceAgreed that is not a boolean in an account update as malformed',
    status: 400,
    type: 'malformed',
    detail: /termsOfServiceAgreed/,
    send: (w) => w.a.post(w.a.kid ?? '', { termsOfServiceAgreed: 'yes' }),
  },
  {
    name: 'rejects an externalAccountBinding that is an array as malformed',
    status: 400,
    type: 'malformed',
    detail: /externalAccountBinding/,
    send: newAccountWith(main, async () => ({ termsOfServiceAgreed: true, externalAccountBinding: [] })),
  },
  {
    name: 'rejects onlyReturnExisting for an unknown key with accountDoesNotExist',
    status: 400,
    type: 'accountDoesNotExist',
    send: newAccountWith(main, async () => ({ onlyReturnExisting: true })),
  },
  // account keys (RFC 8555 §6.2; RFC 7518 §6.3.1)
  {
    name: 'rejects an RSA-1024 account key with badPublicKey',
    status: 400,
    type: 'badPublicKey',
    detail: /1024/,
    send: async (w) => {
      const key = await rsaKey(1024);
      const s = await stranger(w.edge, key);
      const hdr = { alg: 'RS256', jwk: key.jwk, nonce: await s.nonce(), url: s.dir.newAccount };
      const jws = await signJws(hdr, { termsOfServiceAgreed: true }, key.privateKey);
      return postRaw(s, s.dir.newAccount, JSON.stringify(jws));
    },
  },
  {
    name: 'rejects a jwk that carries the private key with badPublicKey',
    status: 400,
    type: 'badPublicKey',
    detail: /private/,
    send: async (w) => {
      const { privateKey } = await generateKeyPair('ES256', { extractable: true });
      const key = await newKey();
      const s = await stranger(w.edge, {
        ...key,
        jwk: await exportJWK(privateKey),
        privateKey: privateKey as CryptoKey,
      });
      return s.post(s.dir.newAccount, { termsOfServiceAgreed: true }, { useJwk: true });
    },
  },
  // account update (RFC 8555 §7.3.2, §7.3.6)
  {
    name: 'rejects an account update to status "valid" as malformed',
    status: 400,
    type: 'malformed',
    send: (w) => w.a.post(w.a.kid ?? '', { status: 'valid' }),
  },
  {
    name: 'rejects an account update to status "revoked" as malformed',
    status: 400,
    type: 'malformed',
    send: (w) => w.a.post(w.a.kid ?? '', { status: 'revoked' }),
  },
  {
    name: 'rejects an account update with a non-mailto contact with unsupportedContact',
    status: 400,
    type: 'unsupportedContact',
    send: (w) => w.a.post(w.a.kid ?? '', { contact: ['https://example.test/me'] }),
  },
  {
    name: 'rejects an update of another account with unauthorized',
    status: 403,
    type: 'unauthorized',
    send: (w) => w.a.post(w.b.kid ?? '', { status: 'deactivated' }),
  },
  {
    name: "rejects reading another account's orders list with unauthorized",
    status: 403,
    type: 'unauthorized',
    send: (w) => w.a.post(`${w.b.kid}/orders`, ''),
  },
  // a deactivated account (RFC 8555 §7.3.6: every request from it MUST get 401 unauthorized)
  ...(
    [
      [
        'a newOrder',
        (w: World) => w.dead.post(w.dead.dir.newOrder, { identifiers: [{ type: 'dns', value: 'x.test' }] }),
      ],
      ['a POST-as-GET of its account', (w: World) => w.dead.post(w.dead.kid ?? '', '')],
      ['a POST-as-GET of an order it made before', (w: World) => w.dead.post(w.deadOrder, '')],
      ['a POST-as-GET of its orders list', (w: World) => w.dead.post(`${w.dead.kid}/orders`, '')],
      [
        'a contact update',
        (w: World) => w.dead.post(w.dead.kid ?? '', { contact: ['mailto:new@example.test'] }),
      ],
      ['a reactivation', (w: World) => w.dead.post(w.dead.kid ?? '', { status: 'valid' })],
      [
        'a keyChange',
        async (w: World) => {
          const k = await newKey();
          const inner = await innerJws(
            k,
            { alg: k.alg, jwk: k.jwk, url: w.dead.dir.keyChange },
            { account: w.dead.kid, oldKey: w.dead.key.jwk },
          );
          return w.dead.post(w.dead.dir.keyChange, inner);
        },
      ],
      [
        'a newAccount with its key',
        (w: World) => w.dead.post(w.dead.dir.newAccount, { termsOfServiceAgreed: true }, { useJwk: true }),
      ],
      [
        'an onlyReturnExisting lookup with its key',
        (w: World) => w.dead.post(w.dead.dir.newAccount, { onlyReturnExisting: true }, { useJwk: true }),
      ],
    ] as const
  ).map(
    ([what, send]): BadRequest<World> => ({
      name: `rejects ${what} from a deactivated account with 401 unauthorized`,
      status: 401,
      type: 'unauthorized',
      detail: /deactivated/,
      send,
    }),
  ),
  // one key, one thumbprint (RFC 7638 §3.2: members are canonical; RFC 7518 §6.2.1.2: fixed-size
  // coordinates): another spelling of account A's key must not open a second account or move one
  {
    name: "rejects account A's key with a non-zero unused bit in x (a second spelling) with badPublicKey",
    status: 400,
    type: 'badPublicKey',
    detail: /"x"/,
    send: async (w) => (await respelled(w.edge, w.a.key, { x: flipUnusedBit })).newAccount(),
  },
  {
    name: "rejects account A's key with a leading zero octet in y with badPublicKey",
    status: 400,
    type: 'badPublicKey',
    detail: /"y".*32 octets/,
    send: async (w) => (await respelled(w.edge, w.a.key, { y: leadingZero })).newAccount(),
  },
  {
    name: "rejects account A's key with base64 padding in x with badPublicKey",
    status: 400,
    type: 'badPublicKey',
    detail: /"x"/,
    send: async (w) => (await respelled(w.edge, w.a.key, { x: (v) => `${v}=` })).newAccount(),
  },
  {
    name: "rejects a keyChange of B to A's key spelled with a non-zero unused bit with badPublicKey",
    status: 400,
    type: 'badPublicKey',
    send: async (w) => {
      const other: AcmeKey = { ...w.a.key, jwk: { ...w.a.key.jwk, x: flipUnusedBit(w.a.key.jwk.x ?? '') } };
      const hdr = { alg: other.alg, jwk: other.jwk, url: w.b.dir.keyChange };
      return w.b.post(
        w.b.dir.keyChange,
        await innerJws(other, hdr, { account: w.b.kid, oldKey: w.b.key.jwk }),
      );
    },
  },
];

runTable('accounts', setup, teardown, cases);

describe('an RSA key whose modulus has a leading zero octet is the same key', () => {
  let edge: InprocEdge;
  after(() => edge?.close());
  it('answers the existing account (200, same Location) and creates no second one', async () => {
    edge = await startInprocEdge();
    const key = await rsaKey(2048);
    const first = await account(edge, key);
    const before = await edge.snapshot();
    const again = await respelled(edge, key, { n: leadingZero });
    const res = await again.newAccount();
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(res.headers.get('location'), first.kid);
    assert.equal(await edge.snapshot(), before, 'no row changed');
  });
});
