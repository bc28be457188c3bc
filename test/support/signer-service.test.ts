// The test CA's software signer must produce what a real token's path produces: DER signatures
// that OpenSSL accepts. OpenSSL refuses an ECDSA signature whose INTEGERs are not minimal, which
// a raw r or s starting with a zero byte gives when copied as-is (about 1 signature in 128).
import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { test } from 'node:test';
import { softCa } from './signer-service.ts';

test('the test CA signs in DER that OpenSSL verifies, whatever the leading bytes of r and s', async () => {
  const { signer } = await softCa();
  const key = createPublicKey({ key: Buffer.from(signer.spki), format: 'der', type: 'spki' });
  // 1500 signatures: the chance that none has a leading zero byte in r or s is below 1e-5
  for (let i = 0; i < 1500; i++) {
    const data = new TextEncoder().encode(`tbs ${i}`);
    const sig = await signer.sign(data);
    assert.ok(verify('sha256', data, { key, dsaEncoding: 'der' }, sig), `signature ${i} verifies`);
  }
});
