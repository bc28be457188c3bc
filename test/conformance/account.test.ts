// Bad account requests: newAccount (RFC 8555 §7.3), external account binding (§7.3.4), account
// update and deactivation (§7.3.2, §7.3.6), key rollover (§7.3.5). Nothing may change on any of them.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { exportJWK, FlattenedSign, generateKeyPair } from 'jose';
import { b64uDecode, b64uEncode } from '../../shared/encoding.ts';
import { type AcmeKey, newKey, TestAcme } from '../support/acme.ts';
import { type InprocEdge, startInprocEdge } from '../support/edge-app.ts';
import {
  account,
  type BadRequest,
  newOrder,
  postOk,
  postRaw,
  rsaKey,
  runTable,
  signDirect,
} from './harness.ts';

interface World {
  edge: InprocEdge;
  /** an edge with eabRequired: true */
  eabEdge: InprocEdge;
  a: TestAcme;
  b: TestAcme;
  /** an account deactivated in setup, and an order it made before */
  dead: TestAcme;
  deadOrder: string;
  hmac: string;
}

const EAB_KID = 'kid-free';
const EAB_BOUND = 'kid-bound';

async function setup(): Promise<World> {
  const edge = await startInprocEdge();
  const eabEdge = await startInprocEdge({ config: { eabRequired: true } });
  const hmac = b64uEncode(crypto.getRandomValues(new Uint8Array(32)));
  for (const e of [edge, eabEdge]) {
    await e.svc.eab.create({ kid: EAB_KID, hmacKey: hmac, name: 'free key' });
    await e.svc.eab.create({ kid: EAB_BOUND, hmacKey: hmac, name: 'bound key' });
  }
  const boundOwner = await new TestAcme(eabEdge.fetch, eabEdge.directoryUrl, await newKey()).init();
  const res = await boundOwner.newAccount({
    termsOfServiceAgreed: true,
    externalAccountBinding: await boundOwner.eab(EAB_BOUND, hmac),
  });
  assert.equal(res.status, 201, await res.text());
  const a = await account(edge, await newKey('ES256'));
  const b = await account(edge, await newKey('ES256'));
  const dead = await account(edge, await newKey('ES256'));
  const deadOrder = (await newOrder(dead, [{ type: 'dns', value: 'dead.example.test' }])).url;
  await postOk(dead, dead.kid ?? '', { status: 'deactivated' });
  return { edge, eabEdge, a, b, dead, deadOrder, hmac };
}

/** A client with a fresh key and no account, on the given edge. */
async function stranger(edge: InprocEdge, key?: AcmeKey): Promise<TestAcme> {
  return new TestAcme(edge.fetch, edge.directoryUrl, key ?? (await newKey())).init();
}

const newAccountWith =
  (edge: (w: World) => InprocEdge, payload: (w: World, s: TestAcme) => Promise<unknown>) =>
  async (w: World): Promise<Response> => {
    const s = await stranger(edge(w));
    return s.post(s.dir.newAccount, await payload(w, s), { useJwk: true });
  };

const main = (w: World) => w.edge;
const eabEdge = (w: World) => w.eabEdge;

/** An EAB JWS with the header fields given (MAC by `hmac`), over `payload`. */
async function eabJws(hmac: string, header: Record<string, unknown>, payload: unknown) {
  const { b64uDecode } = await import('../../shared/encoding.ts');
  return new FlattenedSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader(header as { alg: string })
    .sign(b64uDecode(hmac));
}

/** keyChange by account A whose inner JWS is built by `inner` from a fresh new key. */
function keyChange(
  inner: (w: World, k: AcmeKey) => Promise<unknown>,
  newKeyOf: () => Promise<AcmeKey> = () => newKey(),
) {
  return async (w: World): Promise<Response> => w.a.post(w.a.dir.keyChange, await inner(w, await newKeyOf()));
}

async function innerJws(
  k: AcmeKey,
  header: Record<string, unknown>,
  payload: unknown,
  signWith: CryptoKey = k.privateKey,
) {
  return new FlattenedSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader(header as { alg: string })
    .sign(signWith);
}

const rollover = (w: World, k: AcmeKey) => ({
  hdr: { alg: k.alg, jwk: k.jwk, url: w.a.dir.keyChange },
  body: { account: w.a.kid, oldKey: w.a.key.jwk },
});

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
      return postRaw(
        s,
        s.dir.newAccount,
        JSON.stringify(await signDirect(hdr, { termsOfServiceAgreed: true }, key)),
      );
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
      return new FlattenedSign(new TextEncoder().encode(JSON.stringify(r.body)))
        .setProtectedHeader({ ...r.hdr, alg: 'HS256' })
        .sign(new Uint8Array(32));
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
        return signDirect({ ...r.hdr, alg: 'RS256' }, r.body, k);
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

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** The same 32 octets with the lowest of the two unused trailing bits set. */
const flipUnusedBit = (v: string) => v.slice(0, -1) + B64URL[B64URL.indexOf(v.slice(-1)) ^ 1];
const leadingZero = (v: string) => b64uEncode(new Uint8Array([0, ...b64uDecode(v)]));

/** A client holding `key`'s private key whose jwk spells some members differently. */
function respelled(edge: InprocEdge, key: AcmeKey, change: Record<string, (v: string) => string>) {
  const jwk = { ...key.jwk } as Record<string, unknown>;
  for (const [k, f] of Object.entries(change)) jwk[k] = f(String(jwk[k]));
  return stranger(edge, { ...key, jwk: jwk as AcmeKey['jwk'] });
}

runTable(
  'accounts',
  setup,
  (w) => {
    w.edge.close();
    w.eabEdge.close();
  },
  cases,
);

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
