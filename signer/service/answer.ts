// The signer's signed answers (relay protocol v2, docs/architecture.md): every response to an
// AUTHENTICATED sign or revoke request (the relay JWS verified, so its jti is the edge's) gets a
// JWS by the signer's answer key in the Edgeca-Relay-Answer header, binding the request (jti,
// orderId or serial) and the answer (status, body hash). The body is left as it was, so an edge
// that does not check answers yet (protocol v1) reads it unchanged. A request that failed
// authentication gets no signed answer: its jti may be anyone's, and signing it would hand a
// stranger a valid refusal for a request of the edge's.

import { createHash } from 'node:crypto';
import { problemResponse } from '../../onprem/http.ts';
import { AcmeProblem } from '../../shared/problems.ts';
import {
  type AnswerOp,
  RELAY_ANSWER_HEADER,
  type RelayAnswer,
  type RelayKey,
  signAnswer,
} from '../../shared/relay.ts';
import { nodeRelayCrypto } from '../relay-crypto.ts';
import type { RequestLog } from './types.ts';

/**
 * Runs a relay route and signs what it answers: its response, or the problem document of the
 * AcmeProblem it threw. Other errors go on to the app's error handler (500, unsigned: the edge
 * treats it as an outage and tries again).
 */
export async function answered(
  op: 'sign' | 'revoke',
  key: RelayKey,
  log: RequestLog,
  route: () => Promise<{ res: Response; result?: Pick<RelayAnswer, 'revokedAt' | 'crlNumber'> }>,
): Promise<Response> {
  let res: Response;
  let result: Pick<RelayAnswer, 'revokedAt' | 'crlNumber'> | undefined;
  try {
    ({ res, result } = await route());
  } catch (e) {
    if (!(e instanceof AcmeProblem) || log.jti === undefined) throw e;
    res = problemResponse(e);
  }
  if (log.jti === undefined) return res;
  const body = new Uint8Array(await res.arrayBuffer());
  const answerOp: AnswerOp = `${op}-answer`;
  const jws = await signAnswer(
    {
      op: answerOp,
      jti: log.jti,
      status: res.status,
      // as shared/relay.ts answerBodyHash, without a WebCrypto job
      bodySha256: createHash('sha256').update(body).digest('base64url'),
      ...(log.orderId !== undefined ? { orderId: log.orderId } : {}),
      ...(log.serial !== undefined ? { serial: log.serial } : {}),
      ...result,
    },
    key,
    nodeRelayCrypto,
  );
  const headers = new Headers(res.headers);
  headers.set(RELAY_ANSWER_HEADER, jws);
  return new Response(body, { status: res.status, headers });
}
