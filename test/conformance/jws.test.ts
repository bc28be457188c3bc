// Bad JWS envelopes (RFC 8555 §6.2–6.5, RFC 7515): structure, algorithm, key, signature, nonce,
// url, jwk/kid, media type, size. Every case must leave the database untouched.
import { b64uEncode } from '../../shared/encoding.ts';
import { newKey, type TestAcme } from '../support/acme.ts';
import { type InprocEdge, startInprocEdge } from '../support/edge-app.ts';
import {
  account,
  authzOf,
  type BadRequest,
  b64uJson,
  craftedJws,
  newOrder,
  type OrderInfo,
  postOk,
  postRaw,
  runTable,
  utf8,
} from './harness.ts';

interface World {
  edge: InprocEdge;
  a: TestAcme;
  dead: TestAcme;
  order: OrderInfo;
  /** the order's authorization and its http-01 challenge */
  authz: string;
  challenge: string;
}

async function setup(): Promise<World> {
  const edge = await startInprocEdge();
  const a = await account(edge, await newKey('ES256'));
  const dead = await account(edge, await newKey('ES256'));
  if (!dead.kid) throw new Error('no kid');
  await postOk(dead, dead.kid, { status: 'deactivated' });
  const order = await newOrder(a, [{ type: 'dns', value: 'jws.example.test' }]);
  const authz = order.authorizations[0] ?? '';
  const challenge = (await authzOf(a, authz)).challenges.find((ch) => ch.type === 'http-01')?.url ?? '';
  return { edge, a, dead, order, authz, challenge };
}

const ORDER = { identifiers: [{ type: 'dns', value: 'x.example.test' }] };

/** A JWS to newOrder by account A whose protected header is `hdr` (junk signature). */
async function withHeader(w: World, hdr: Record<string, unknown>): Promise<Response> {
  return postRaw(w.a, w.a.dir.newOrder, craftedJws({ protected: b64uJson(hdr), payload: b64uJson(ORDER) }));
}

const goodHeader = async (w: World) => ({
  alg: 'ES256',
  kid: w.a.kid,
  nonce: await w.a.nonce(),
  url: w.a.dir.newOrder,
});

/** A properly signed JWS to newOrder, with one part then replaced. */
async function tampered(w: World, part: 'protected' | 'payload' | 'signature', value: string) {
  return w.a.post(w.a.dir.newOrder, ORDER, { tamper: { [part]: value } });
}

const mal = (name: string, send: (w: World) => Promise<Response>): BadRequest<World> => ({
  name,
  status: 400,
  type: 'malformed',
  send,
});

const badAlg = (alg: string): BadRequest<World> => ({
  name: `rejects a JWS with alg ${alg} with badSignatureAlgorithm and the accepted algorithms`,
  status: 400,
  type: 'badSignatureAlgorithm',
  algorithms: true,
  send: async (w) => withHeader(w, { ...(await goodHeader(w)), alg }),
});

const cases: BadRequest<World>[] = [
  // structure (RFC 8555 §6.2: flattened JSON serialization only, protected header only)
  mal('rejects a body that is not JSON as malformed', (w) => postRaw(w.a, w.a.dir.newOrder, '{"protected":')),
  mal('rejects a JSON array body as malformed', (w) => postRaw(w.a, w.a.dir.newOrder, '[]')),
  mal('rejects an empty body as malformed', (w) => postRaw(w.a, w.a.dir.newOrder, '')),
  mal('rejects the general JWS serialization as malformed', async (w) => {
    const jws = await w.a.signed(w.a.dir.newOrder, ORDER);
    const general = {
      payload: jws.payload,
      signatures: [{ protected: jws.protected, signature: jws.signature }],
    };
    return postRaw(w.a, w.a.dir.newOrder, JSON.stringify(general));
  }),
  mal('rejects a JWS with an unprotected header as malformed', async (w) => {
    const jws = await w.a.signed(w.a.dir.newOrder, ORDER);
    return postRaw(w.a, w.a.dir.newOrder, JSON.stringify({ ...jws, header: { kid: w.a.kid } }));
  }),
  mal('rejects a JWS without "signature" as malformed', async (w) => {
    const { signature: _, ...rest } = await w.a.signed(w.a.dir.newOrder, ORDER);
    return postRaw(w.a, w.a.dir.newOrder, JSON.stringify(rest));
  }),
  mal('rejects a JWS without "protected" as malformed', async (w) =>
    postRaw(w.a, w.a.dir.newOrder, JSON.stringify({ payload: b64uJson(ORDER), signature: 'AAAA' })),
  ),
  mal('rejects a JWS without "payload" as malformed', async (w) => {
    const { payload: _, ...rest } = await w.a.signed(w.a.dir.newOrder, ORDER);
    return postRaw(w.a, w.a.dir.newOrder, JSON.stringify(rest));
  }),
  mal('rejects a JWS whose "protected" is not a string as malformed', async (w) =>
    postRaw(w.a, w.a.dir.newOrder, craftedJws({ protected: await goodHeader(w), payload: b64uJson(ORDER) })),
  ),
  mal('rejects a protected header that is not base64url as malformed', (w) =>
    tampered(w, 'protected', 'eyJ+!*'),
  ),
  mal('rejects a protected header that is not JSON as malformed', (w) =>
    tampered(w, 'protected', b64uEncode(utf8.encode('{alg: ES256'))),
  ),
  mal('rejects a protected header that is a JSON array as malformed', (w) =>
    tampered(w, 'protected', b64uJson(['ES256'])),
  ),
  mal('rejects a payload that is not base64url as malformed', (w) => tampered(w, 'payload', 'e30=+/')),
  mal('rejects a signature that is not base64url as malformed', (w) => tampered(w, 'signature', '!!!!')),
  mal('rejects a protected header without "alg" as malformed', async (w) => {
    const { alg: _, ...hdr } = await goodHeader(w);
    return withHeader(w, hdr);
  }),
  mal('rejects a protected header without "url" as malformed (RFC 8555 §6.4)', async (w) => {
    const { url: _, ...hdr } = await goodHeader(w);
    return withHeader(w, hdr);
  }),
  mal('rejects a protected header with "b64": false as malformed', async (w) =>
    withHeader(w, { ...(await goodHeader(w)), b64: false, crit: ['b64'] }),
  ),
  mal('rejects a protected header with neither "jwk" nor "kid" as malformed', async (w) => {
    const { kid: _, ...hdr } = await goodHeader(w);
    return withHeader(w, hdr);
  }),
  mal('rejects a "kid" that is not a string as malformed', async (w) =>
    withHeader(w, { ...(await goodHeader(w)), kid: 42 }),
  ),
  mal('rejects a "jwk" that is not an object as malformed', async (w) => {
    const { kid: _, ...hdr } = await goodHeader(w);
    return postRaw(
      w.a,
      w.a.dir.newAccount,
      craftedJws({
        protected: b64uJson({ ...hdr, url: w.a.dir.newAccount, jwk: 'key' }),
        payload: b64uJson({}),
      }),
    );
  }),
  // signature and algorithm (RFC 8555 §6.2)
  mal('rejects a JWS whose signature does not verify as malformed', async (w) => {
    const other = await w.a.signed(w.a.dir.newOrder, {});
    return tampered(w, 'signature', other.signature);
  }),
  mal('rejects a JWS whose payload was changed after signing as malformed', (w) =>
    tampered(w, 'payload', b64uJson({ identifiers: [{ type: 'dns', value: 'evil.test' }] })),
  ),
  mal("rejects a JWS signed by another key than the account's as malformed", async (w) =>
    w.a.post(w.a.dir.newOrder, ORDER, { key: await newKey('ES256') }),
  ),
  badAlg('none'),
  badAlg('HS256'),
  badAlg('RS512'),
  badAlg('ES512'),
  {
    name: 'rejects alg ES384 for a P-256 account key with badSignatureAlgorithm',
    status: 400,
    type: 'badSignatureAlgorithm',
    algorithms: true,
    send: async (w) => withHeader(w, { ...(await goodHeader(w)), alg: 'ES384' }),
  },
  {
    name: 'rejects alg RS256 for an EC account key with badSignatureAlgorithm',
    status: 400,
    type: 'badSignatureAlgorithm',
    algorithms: true,
    send: async (w) => withHeader(w, { ...(await goodHeader(w)), alg: 'RS256' }),
  },
  // accounts named by kid (RFC 8555 §6.2, §7.3.6)
  {
    name: 'rejects a kid naming an account that does not exist with accountDoesNotExist',
    status: 400,
    type: 'accountDoesNotExist',
    send: (w) => w.a.post(w.a.dir.newOrder, ORDER, { kid: `${w.a.kid}nope` }),
  },
  {
    name: 'rejects a kid that is not an account URL of this server with accountDoesNotExist',
    status: 400,
    type: 'accountDoesNotExist',
    send: (w) => w.a.post(w.a.dir.newOrder, ORDER, { kid: 'https://elsewhere.test/acme/acct/abc' }),
  },
  {
    name: 'rejects a request by a deactivated account with 401 unauthorized (RFC 8555 §7.3.6)',
    status: 401,
    type: 'unauthorized',
    send: (w) => w.dead.post(w.dead.dir.newOrder, ORDER),
  },
  // nonces (RFC 8555 §6.5)
  {
    name: 'rejects a JWS without a nonce with badNonce',
    status: 400,
    type: 'badNonce',
    send: (w) => w.a.post(w.a.dir.newOrder, ORDER, { nonce: null }),
  },
  {
    name: 'rejects a reused nonce with badNonce',
    status: 400,
    type: 'badNonce',
    send: async (w) => {
      const nonce = await w.a.nonce();
      const first = await w.a.post(w.order.url, '', { nonce });
      if (first.status !== 200) throw new Error(`first use of the nonce failed: HTTP ${first.status}`);
      return w.a.post(w.a.dir.newOrder, ORDER, { nonce });
    },
  },
  {
    name: 'rejects a well-formed nonce this server never issued with badNonce',
    status: 400,
    type: 'badNonce',
    send: (w) => w.a.post(w.a.dir.newOrder, ORDER, { nonce: b64uEncode(new Uint8Array(32).fill(7)) }),
  },
  {
    name: 'rejects a nonce with a forged MAC with badNonce',
    status: 400,
    type: 'badNonce',
    send: async (w) => {
      // Change a character in the middle: its six bits all count, unlike the last one's.
      const n = await w.a.nonce();
      const i = n.length - 5;
      return w.a.post(w.a.dir.newOrder, ORDER, {
        nonce: n.slice(0, i) + (n[i] === 'A' ? 'B' : 'A') + n.slice(i + 1),
      });
    },
  },
  {
    name: 'rejects a used nonce re-encoded with other trailing bits as malformed (non-canonical base64url)',
    status: 400,
    type: 'malformed',
    send: async (w) => {
      const nonce = await w.a.nonce();
      const first = await w.a.post(w.order.url, '', { nonce });
      if (first.status !== 200) throw new Error(`first use of the nonce failed: HTTP ${first.status}`);
      // The last character of an unpadded base64url string carries unused low bits: flipping one
      // spells the same bytes differently (RFC 4648 §3.5). Such a spelling is not canonical base64url,
      // so it is refused as malformed (RFC 8555 §6.5.2) before it could ever count as a fresh nonce.
      const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const unused = [0, 0, 4, 2][nonce.length % 4] ?? 0;
      if (unused === 0) throw new Error('this nonce length has no unused bits; pick another case');
      const last = ALPHABET.indexOf(nonce.at(-1) ?? 'A');
      const respelt = nonce.slice(0, -1) + ALPHABET[last ^ 1];
      return w.a.post(w.a.dir.newOrder, ORDER, { nonce: respelt });
    },
  },
  mal('rejects a nonce that is not base64url as malformed (RFC 8555 §6.5.2)', (w) =>
    w.a.post(w.a.dir.newOrder, ORDER, { nonce: 'not a nonce!' }),
  ),
  mal('rejects a nonce that is not a string as malformed', async (w) =>
    withHeader(w, { ...(await goodHeader(w)), nonce: 12345 }),
  ),
  // url (RFC 8555 §6.4: a mismatch is unauthorized)
  {
    name: 'rejects a JWS whose url names another resource with unauthorized',
    status: 403,
    type: 'unauthorized',
    send: (w) => w.a.post(w.a.dir.newOrder, ORDER, { url: w.a.dir.newAccount }),
  },
  {
    name: 'rejects a JWS whose url names another host with unauthorized',
    status: 403,
    type: 'unauthorized',
    send: (w) =>
      w.a.post(w.a.dir.newOrder, ORDER, { url: w.a.dir.newOrder.replace('acme.test', 'evil.test') }),
  },
  {
    name: 'rejects a JWS whose url differs only by a query string with unauthorized',
    status: 403,
    type: 'unauthorized',
    send: (w) => w.a.post(w.a.dir.newOrder, ORDER, { url: `${w.a.dir.newOrder}?x=1` }),
  },
  // jwk versus kid (RFC 8555 §6.2)
  mal('rejects a JWS carrying both "jwk" and "kid" as malformed', (w) =>
    w.a.post(w.a.dir.newOrder, ORDER, { extraHeader: { jwk: w.a.key.jwk } }),
  ),
  mal('rejects a "jwk" on newOrder, a kid-only resource, as malformed', (w) =>
    w.a.post(w.a.dir.newOrder, ORDER, { useJwk: true }),
  ),
  mal('rejects a "jwk" on a POST-as-GET of an order as malformed', (w) =>
    w.a.post(w.order.url, '', { useJwk: true }),
  ),
  mal('rejects a "kid" on newAccount as malformed', (w) =>
    w.a.post(w.a.dir.newAccount, { termsOfServiceAgreed: true }),
  ),
  // media type and size (RFC 8555 §6.2; RFC 9110)
  {
    name: 'rejects Content-Type application/json with 415',
    status: 415,
    type: 'malformed',
    send: (w) => w.a.post(w.a.dir.newOrder, ORDER, { contentType: 'application/json' }),
  },
  {
    name: 'rejects a POST without Content-Type with 415',
    status: 415,
    type: 'malformed',
    send: async (w) => postRaw(w.a, w.a.dir.newOrder, await w.a.jws(w.a.dir.newOrder, ORDER), null),
  },
  {
    name: 'rejects a body larger than the limit with 413',
    status: 413,
    type: 'malformed',
    send: async (w) => {
      const big = { identifiers: [{ type: 'dns', value: 'x.example.test' }], pad: 'x'.repeat(80 * 1024) };
      return w.a.post(w.a.dir.newOrder, big);
    },
  },
  // payloads that are not what the resource takes
  mal('rejects a signed payload that is not JSON as malformed', async (w) =>
    postRaw(w.a, w.a.dir.newOrder, JSON.stringify(await w.a.signed(w.a.dir.newOrder, utf8.encode('{oops')))),
  ),
  mal('rejects a signed payload that is not UTF-8 as malformed', async (w) =>
    postRaw(
      w.a,
      w.a.dir.newOrder,
      JSON.stringify(await w.a.signed(w.a.dir.newOrder, new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]))),
    ),
  ),
  mal('rejects a newOrder payload that is a JSON array as malformed', (w) =>
    w.a.post(w.a.dir.newOrder, [ORDER]),
  ),
  mal('rejects a newOrder payload whose identifiers is a string as malformed', (w) =>
    w.a.post(w.a.dir.newOrder, { identifiers: 'x.example.test' }),
  ),
  mal('rejects an empty payload on newOrder, which needs a body, as malformed', (w) =>
    w.a.post(w.a.dir.newOrder, ''),
  ),
  mal('rejects a POST-as-GET of an order with a payload as malformed', (w) => w.a.post(w.order.url, {})),
  mal('rejects a POST-as-GET of the orders list with a payload as malformed', (w) =>
    w.a.post(`${w.a.kid}/orders`, {}),
  ),
  // RFC 8555 §6.3: POST-as-GET is a JWS whose payload is the empty string. The JSON text `null` is
  // not that, and no resource takes it as a body either.
  ...(
    [
      ['the account', (w: World) => w.a.kid ?? ''],
      ['an authorization', (w: World) => w.authz],
      ['a challenge', (w: World) => w.challenge],
      ['an order', (w: World) => w.order.url],
      ['the orders list', (w: World) => `${w.a.kid}/orders`],
      ['newOrder', (w: World) => w.a.dir.newOrder],
      ['finalize', (w: World) => w.order.finalize],
    ] as const
  ).map(
    ([what, url]): BadRequest<World> => ({
      name: `rejects a JSON null payload to ${what} as malformed, not as POST-as-GET`,
      status: 400,
      type: 'malformed',
      detail: /null|POST-as-GET|payload/,
      send: (w) => w.a.post(url(w), null),
    }),
  ),
];

runTable('JWS envelope', setup, (w) => w.edge.close(), cases);
