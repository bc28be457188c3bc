// The in-process rig of the admin incident tests (edge/admin/resources/incidents*.test.ts): an edge
// with a revocation signer stand-in, a write token, a test issuer, two ACME accounts (A with its
// client), and certificates stored for them with a chosen key.
import type { Identifier } from '../../shared/problems.ts';
import { newKey, TestAcme } from './acme.ts';
import { adminCall, adminToken, changesOf, revocationSigner } from './admin-api.ts';
import { issueLeaf, makeIssuer, storeCert, type TestIssuer } from './ari.ts';
import { type InprocEdge, startInprocEdge } from './edge-app.ts';

const H = 3_600_000;

export interface IncidentEdge {
  edge: InprocEdge;
  /** what the signer stand-in was asked, and the answers it is to give (admin-api.ts) */
  signer: ReturnType<typeof revocationSigner>;
  accountA: string;
  accountB: string;
  /** the ACME client of account A */
  clientA: TestAcme;
  call(method: string, path: string, body?: unknown): Promise<Response> | Response;
  changes(action: string): ReturnType<typeof changesOf>;
  /** a certificate valid for the next 23 hours, stored for `account` */
  cert(account: string, names: string[], keys?: CryptoKeyPair): ReturnType<typeof storeCert>;
  /** the serials not revoked */
  live(serials: string[]): Promise<string[]>;
}

export async function startIncidentEdge(): Promise<IncidentEdge> {
  const signer = revocationSigner();
  const edge = await startInprocEdge({ signer: signer.signer });
  const { token } = await adminToken(edge.svc, 'write', 'incident-test');
  const iss: TestIssuer = await makeIssuer('Incident');
  const clients: TestAcme[] = [];
  for (let i = 0; i < 2; i++) {
    const c = await new TestAcme(edge.fetch, edge.directoryUrl, await newKey()).init();
    await c.newAccount();
    clients.push(c);
  }
  const [accountA, accountB] = clients.map((c) => c.kid!.split('/').pop()!) as [string, string];
  return {
    edge,
    signer,
    accountA,
    accountB,
    clientA: clients[0]!,
    call: (method, path, body) => adminCall(edge, token, method, path, body),
    changes: (action) => changesOf(edge, token, action),
    async cert(account, names, keys) {
      const ids: Identifier[] = names.map((value) => ({ type: 'dns', value }));
      const pem = await issueLeaf(iss, ids, Date.now() - H, Date.now() + 23 * H, keys);
      return storeCert(edge.svc, account, pem, ids);
    },
    async live(serials) {
      const out: string[] = [];
      for (const s of serials) if (!(await edge.svc.certificates.bySerial(s))?.revokedAt) out.push(s);
      return out;
    },
  };
}

/** A fresh P-256 key pair for a certificate whose key a test blocks. */
export const ecKeys = () =>
  crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ]) as Promise<CryptoKeyPair>;
