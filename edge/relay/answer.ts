// The edge's check of a signer's signed answer (relay protocol v2, docs/architecture.md). Only an
// answer that verifies against a PINNED signer answer key, is of this protocol version, answers
// THIS request (its jti, and its orderId or serial) and describes THIS response (status and body
// hash) settles a sign or revoke. Anything else is treated as no answer at all: the order stays
// processing, a revocation is not recorded, and the next signer is tried.
import { utf8 } from '../../shared/encoding.ts';
import {
  type AnswerOp,
  answerBodyHash,
  importRelayPublicKey,
  RELAY_ANSWER_HEADER,
  RELAY_VERSION,
  type RelayAnswer,
  type RelayKey,
  verifyRelay,
} from '../../shared/relay.ts';

export interface ExpectedAnswer {
  op: AnswerOp;
  jti: string;
  orderId?: string;
  serial?: string;
}

export type CheckedAnswer = { ok: true; answer: RelayAnswer } | { ok: false; detail: string };

/** The pinned signer answer keys: a public JWK, or a JWK set `{"keys": [...]}` (several while keys roll). */
export async function importSignerKeys(
  jwks: readonly Record<string, unknown>[],
): Promise<Map<string, RelayKey>> {
  const keys = new Map<string, RelayKey>();
  for (const jwk of jwks) {
    const k = await importRelayPublicKey(jwk);
    keys.set(k.kid, k);
  }
  return keys;
}

/** Reads EDGECA_SIGNER_KEY's value: one public JWK or a JWK set, as a list of JWKs. */
export function parseSignerKeys(text: string): Record<string, unknown>[] {
  const doc: unknown = JSON.parse(text);
  const list = doc && typeof doc === 'object' && 'keys' in doc ? (doc as { keys: unknown }).keys : [doc];
  if (!Array.isArray(list) || list.length === 0) throw new Error('no key in it');
  for (const k of list) {
    if (!k || typeof k !== 'object') throw new Error('a key is not a JSON object');
    if ('d' in k) throw new Error('it holds a private key ("d"): pin the public half only');
    if (typeof (k as { kid?: unknown }).kid !== 'string') throw new Error('a key has no "kid"');
  }
  return list as Record<string, unknown>[];
}

export async function checkSignerAnswer(
  res: { status: number; headers: Headers; body: Uint8Array },
  expected: ExpectedAnswer,
  keys: ReadonlyMap<string, RelayKey>,
): Promise<CheckedAnswer> {
  const jws = res.headers.get(RELAY_ANSWER_HEADER);
  if (!jws) return { ok: false, detail: 'the answer is not signed' };
  let answer: RelayAnswer;
  try {
    ({ payload: answer } = await verifyRelay<RelayAnswer>(jws, { op: expected.op, keys }));
  } catch (e) {
    return { ok: false, detail: `the answer signature is refused: ${(e as Error).message}` };
  }
  if (answer.v !== RELAY_VERSION)
    return { ok: false, detail: `the answer is of protocol version ${String(answer.v)}` };
  if (answer.jti !== expected.jti) return { ok: false, detail: 'the answer is for another request (jti)' };
  if (expected.orderId !== undefined && answer.orderId !== expected.orderId)
    return { ok: false, detail: 'the answer is for another order' };
  if (expected.serial !== undefined && answer.serial !== expected.serial)
    return { ok: false, detail: 'the answer is for another serial' };
  if (answer.status !== res.status) return { ok: false, detail: 'the answer names another HTTP status' };
  if (answer.bodySha256 !== (await answerBodyHash(res.body)))
    return { ok: false, detail: 'the answer does not match the body it came with' };
  return { ok: true, answer };
}

export const bodyText = (b: Uint8Array): string => utf8.decode(b);
