// The admin API driven in process by the tests of edge/admin/: a token stored the way the CLI stores
// an operator's first one, requests with it, an answer's JSON checked against its status, the change
// log of one action, and a signer stand-in that records each revocation and answers as the test
// scripts it.
import assert from 'node:assert/strict';
import type { RevokeOutcome, SignerClient } from '../../edge/relay/signer-client.ts';
import type { EdgeServices } from '../../edge/services.ts';
import { BASE, type InprocEdge } from './edge-app.ts';

/** A new admin token, written with its change-log entry as `edgeca admin token create` does. */
export async function adminToken(svc: EdgeServices, scope: 'read' | 'write', name = `test-${scope}`) {
  const { admin } = await svc.stores();
  const t = await admin.newToken(name, scope);
  await admin.commit([t.stmt], {
    tokenId: 'cli',
    action: 'token.create',
    target: `token:${t.row.id}`,
    before: null,
    after: t.row,
  });
  return t;
}

/** A request to `/admin<path>`, with the token when one is given and the body as JSON. */
export function adminCall(
  edge: InprocEdge,
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<Response> | Response {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  return edge.app.request(`${BASE}/admin${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** The answer's JSON, after checking its status (the body is in the message when it differs). */
export async function json(res: Response, status = 200) {
  const text = await res.text();
  assert.equal(res.status, status, text);
  return JSON.parse(text);
}

export interface Change {
  action: string;
  target: string;
  after: Record<string, unknown>;
}

/** The change-log entries of one action, newest first, through GET /admin/changes. */
export async function changesOf(edge: InprocEdge, token: string, action: string): Promise<Change[]> {
  const { changes } = await json(await adminCall(edge, token, 'GET', '/changes?limit=1000'));
  return (changes as Change[]).filter((x) => x.action === action);
}

/**
 * A signer stand-in for revocations: `calls` records each, `script` holds the answers to give, one a
 * call, in order (`revoked` once it runs out). It signs nothing.
 */
export function revocationSigner() {
  const calls: { serial: string; reason: number }[] = [];
  const script: ((serial: string) => RevokeOutcome)[] = [];
  const signer: SignerClient = {
    sign: async () => ({ status: 'unavailable', detail: 'not in this test' }),
    revoke: async (serial, reason) => {
      calls.push({ serial, reason });
      const next = script.shift();
      return next ? next(serial) : { status: 'revoked' };
    },
    crl: async () => new Uint8Array(),
  };
  return { signer, calls, script };
}
