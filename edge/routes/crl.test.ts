// The edge's CRL routes in process, with a recording signer stand-in: /crl asks the signer for its
// first issuer's CRL, /crl/<issuer id> for that issuer's, each cached on its own; an issuer the
// signer does not know is a 404 naming it; a path that is no issuer id never reaches the signer.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AcmeProblem } from '../../shared/problems.ts';
import { BASE, type InprocEdge, startInprocEdge } from '../../test/support/edge-app.ts';
import type { SignerClient } from '../relay/signer-client.ts';

const A = 'a'.repeat(64);
const UNKNOWN = 'f'.repeat(64);
const asked: (string | undefined)[] = [];
const signer: SignerClient = {
  sign: async () => ({ status: 'unavailable', detail: 'not in this test' }),
  revoke: async () => ({ status: 'unavailable', detail: 'not in this test' }),
  crl: async (issuer) => {
    asked.push(issuer);
    if (issuer === UNKNOWN) throw new AcmeProblem('notFound', `no issuer ${UNKNOWN} is known to this signer`);
    return Uint8Array.of(0x30, 0, issuer === A ? 0xa : 0x1);
  },
};

describe('edge CRL routes', () => {
  let edge: InprocEdge;
  before(async () => {
    edge = await startInprocEdge({ signer });
  });
  after(() => edge.close());
  const get = (path: string) => edge.app.request(`${BASE}${path}`);

  it('serves the first issuer CRL at /crl and each issuer at /crl/<id>, each cached on its own', async () => {
    const bare = await get('/crl');
    assert.equal(bare.status, 200);
    assert.equal(bare.headers.get('content-type'), 'application/pkix-crl');
    assert.deepEqual([...new Uint8Array(await bare.arrayBuffer())], [0x30, 0, 1]);
    const a = await get(`/crl/${A}`);
    assert.equal(a.status, 200);
    assert.deepEqual([...new Uint8Array(await a.arrayBuffer())], [0x30, 0, 0xa]);
    await get('/crl');
    await get(`/crl/${A}`);
    assert.deepEqual(asked, [undefined, A], 'one signer call each, then the cache');
  });

  it('an issuer the signer does not know is a 404 naming it', async () => {
    const res = await get(`/crl/${UNKNOWN}`);
    assert.equal(res.status, 404);
    assert.match(((await res.json()) as { detail: string }).detail, new RegExp(`no issuer ${UNKNOWN}`));
  });

  it('a path that is not an issuer id is a 404 and never reaches the signer', async () => {
    const before = asked.length;
    const res = await get('/crl/not-an-id');
    assert.equal(res.status, 404);
    assert.match(((await res.json()) as { detail: string }).detail, /not an issuer id/);
    assert.equal(asked.length, before);
  });
});
