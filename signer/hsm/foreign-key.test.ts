// A key another process makes in the token after this process logged in (what `edgeca signer
// rotate` does to running signers) is found by its label on the sessions already open: SoftHSM's
// object store re-reads the token on a search. pkcs11-tool (opensc) is the other process here.
import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { test } from 'node:test';
import { makeTempTokens } from '../../test/support/hsm-tokens.ts';
import { requireTool, runTool } from '../../test/support/tools.ts';
import { openToken } from './token.ts';

test('a key made by another process after login is found and signs on the sessions already open', async () => {
  const pkcs11Tool = requireTool('pkcs11-tool', 'opensc');
  const t = await makeTempTokens(['shared']);
  const token = await openToken({
    module: t.module,
    tokenLabel: 'shared',
    pin: t.pin,
    softhsmConf: t.conf,
    sessions: 2,
  });
  try {
    await token.generateKeyPair('first', 'EC-P256');
    await token.caSigner('first');
    await assert.rejects(token.caSigner('made-elsewhere'), /no private key labelled "made-elsewhere"/);
    const before = token.status();
    // The PIN on argv is acceptable for a throwaway test token only.
    const r = await runTool(
      pkcs11Tool,
      [
        '--module',
        t.module,
        '--token-label',
        'shared',
        '--login',
        '--pin',
        t.pin,
        '--keypairgen',
        '--key-type',
        'EC:prime256v1',
        '--label',
        'made-elsewhere',
        '--id',
        '0a',
      ],
      { env: { ...process.env, SOFTHSM2_CONF: t.conf } },
    );
    assert.equal(r.code, 0, r.stderr);
    const signer = await token.caSigner('made-elsewhere');
    const data = new TextEncoder().encode('signed with a key this process did not make');
    const sig = await signer.sign(data);
    const key = createPublicKey({ key: Buffer.from(signer.spki), format: 'der', type: 'spki' });
    assert.equal(verify('sha256', data, { key, dsaEncoding: 'der' }, sig), true);
    const after = token.status();
    assert.equal(after.loginAttempts, before.loginAttempts, 'no new login: the same sessions found it');
  } finally {
    await token.close();
    t.cleanup();
  }
});
