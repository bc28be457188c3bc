// The world the account tables share (RFC 8555 §7.3): two edges (one with eabRequired), EAB keys,
// accounts A and B, and an account deactivated after it made an order; plus the helpers that send
// from a client with no account yet and sign inner JWSs (key rollover, EAB) by hand.
import assert from 'node:assert/strict';
import { signJws } from '../../harness/acme-jws.ts';
import { b64uDecode, b64uEncode } from '../../shared/encoding.ts';
import { type AcmeKey, newKey, TestAcme } from '../support/acme.ts';
import { type InprocEdge, startInprocEdge } from '../support/edge-app.ts';
import { account, newOrder, postOk } from './harness.ts';

export interface World {
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

export const EAB_KID = 'kid-free';
export const EAB_BOUND = 'kid-bound';

/** Closes both edges of the world. */
export function teardown(w: World): void {
  w.edge.close();
  w.eabEdge.close();
}

export async function setup(): Promise<World> {
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
export async function stranger(edge: InprocEdge, key?: AcmeKey): Promise<TestAcme> {
  return new TestAcme(edge.fetch, edge.directoryUrl, key ?? (await newKey())).init();
}

export const newAccountWith =
  (edge: (w: World) => InprocEdge, payload: (w: World, s: TestAcme) => Promise<unknown>) =>
  async (w: World): Promise<Response> => {
    const s = await stranger(edge(w));
    return s.post(s.dir.newAccount, await payload(w, s), { useJwk: true });
  };

export const main = (w: World) => w.edge;
export const eabEdge = (w: World) => w.eabEdge;

/** An EAB JWS with the header fields given (MAC by `hmac`), over `payload`. */
export const eabJws = (hmac: string, header: Record<string, unknown>, payload: unknown) =>
  signJws(header, payload, b64uDecode(hmac));

/** keyChange by account A whose inner JWS is built by `inner` from a fresh new key. */
export function keyChange(
  inner: (w: World, k: AcmeKey) => Promise<unknown>,
  newKeyOf: () => Promise<AcmeKey> = () => newKey(),
) {
  return async (w: World): Promise<Response> => w.a.post(w.a.dir.keyChange, await inner(w, await newKeyOf()));
}

/** An inner JWS (key rollover, RFC 8555 §7.3.5) signed by `k`, or by another key to break it. */
export const innerJws = (
  k: AcmeKey,
  header: Record<string, unknown>,
  payload: unknown,
  signWith: CryptoKey | Uint8Array = k.privateKey,
) => signJws(header, payload, signWith);

export const rollover = (w: World, k: AcmeKey) => ({
  hdr: { alg: k.alg, jwk: k.jwk, url: w.a.dir.keyChange },
  body: { account: w.a.kid, oldKey: w.a.key.jwk },
});

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** The same 32 octets with the lowest of the two unused trailing bits set. */
export const flipUnusedBit = (v: string) => v.slice(0, -1) + B64URL[B64URL.indexOf(v.slice(-1)) ^ 1];
export const leadingZero = (v: string) => b64uEncode(new Uint8Array([0, ...b64uDecode(v)]));

/** A client holding `key`'s private key whose jwk spells some members differently. */
export function respelled(edge: InprocEdge, key: AcmeKey, change: Record<string, (v: string) => string>) {
  const jwk = { ...key.jwk } as Record<string, unknown>;
  for (const [k, f] of Object.entries(change)) jwk[k] = f(String(jwk[k]));
  return stranger(edge, { ...key, jwk: jwk as AcmeKey['jwk'] });
}
