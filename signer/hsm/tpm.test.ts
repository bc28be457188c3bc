// HsmToken and the certificate builders against a second, independent PKCS#11 module: a TPM 2.0
// through tpm2-pkcs11, simulated by swtpm (test/support/tpm.ts). The shared suites run behind the
// tpm2-abrmd resource manager; then what only a TPM shows: its session limit, the RSA sizes it
// generates, and, without a resource manager, the three objects it can hold loaded at once.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAIN, SECOND, tokenSuite, verifies } from '../../test/support/hsm-token-suite.ts';
import { x509HsmSuite } from '../../test/support/hsm-x509-suite.ts';
import { makeTpmTokens, startTpm } from '../../test/support/tpm.ts';
import { HsmConfigError, openToken } from './token.ts';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('TPM 2.0 (swtpm, tpm2-abrmd): the token suite', () => {
  tokenSuite({
    shared: () => makeTpmTokens([MAIN, SECOND], { abrmd: true }),
    // Every refused PIN counts towards the TPM's lockout: each such test gets a TPM of its own.
    fresh: (labels) => makeTpmTokens(labels, { abrmd: true }),
  });
});

describe('TPM 2.0 (swtpm, tpm2-abrmd): certificates and CRLs', () => {
  x509HsmSuite(() => makeTpmTokens(['edgeca-x509'], { abrmd: true }));
});

describe('TPM 2.0: what differs from SoftHSM', () => {
  test('asked for more sessions than the TPM allows, the pool opens only as many as it states (1024)', async () => {
    const t = await makeTpmTokens([MAIN]);
    try {
      const token = await openToken({
        module: t.module,
        ...t.settings,
        tokenLabel: MAIN,
        pin: t.pin,
        sessions: 1100,
      });
      try {
        assert.equal(token.status().sessionLimit, 1024);
        assert.equal(token.status().sessions, 1024);
        await token.generateKeyPair('k', 'EC-P256');
        const signer = await token.caSigner('k', 'EC-P256');
        assert.ok(await verifies(signer, bytes('d'), await signer.sign(bytes('d'))));
      } finally {
        await token.close();
      }
    } finally {
      await t.cleanup();
    }
  });

  test('an RSA size the TPM cannot generate is refused before generating, naming the range it can', async () => {
    const t = await makeTpmTokens([MAIN]);
    try {
      const token = await openToken({ module: t.module, ...t.settings, tokenLabel: MAIN, pin: t.pin });
      try {
        await assert.rejects(token.generateKeyPair('big', 'RSA-4096'), (e: unknown) => {
          assert.ok(e instanceof HsmConfigError);
          assert.match(e.message, /generates RSA keys of 1024 to 3072 bits, not 4096 \(RSA-4096\)/);
          return true;
        });
      } finally {
        await token.close();
      }
    } finally {
      await t.cleanup();
    }
  });

  test('without a resource manager: the one CA key signs 200 concurrent requests over 4 sessions', async () => {
    // The signer's shape in production: one process, one key, a pool of sessions.
    const t = await makeTpmTokens([MAIN]);
    try {
      const token = await openToken({
        module: t.module,
        ...t.settings,
        tokenLabel: MAIN,
        pin: t.pin,
        sessions: 4,
      });
      try {
        await token.generateKeyPair('issuer', 'EC-P256');
        const signer = await token.caSigner('issuer', 'EC-P256');
        const inputs = Array.from({ length: 200 }, (_, i) => bytes(`tbs ${i}`));
        const sigs = await Promise.all(inputs.map((d) => signer.sign(d)));
        const ok = await Promise.all(sigs.map((s, i) => verifies(signer, inputs[i] as Uint8Array, s)));
        assert.ok(ok.every(Boolean));
        assert.deepEqual(
          { state: token.status().state, loginAttempts: token.status().loginAttempts },
          { state: 'ready', loginAttempts: 1 },
        );
      } finally {
        await token.close();
      }
    } finally {
      await t.cleanup();
    }
  });

  test('without a resource manager a second key in one login exhausts the TPM; the error names the cure', async () => {
    const t = await makeTpmTokens([MAIN]);
    try {
      const token = await openToken({
        module: t.module,
        ...t.settings,
        tokenLabel: MAIN,
        pin: t.pin,
        reconnectIntervalMs: 0,
      });
      try {
        await token.generateKeyPair('first', 'EC-P256');
        await (await token.caSigner('first')).sign(bytes('a'));
        // tpm2-pkcs11 keeps the token's primary key and each key it generated or used loaded until
        // logout: swtpm holds 3 objects, so the next generation fails inside the TPM.
        await assert.rejects(token.generateKeyPair('second', 'EC-P256'), /tpm2-abrmd/);
        // The failure dropped the login; the next call logs in again, and the loaded objects are gone.
        const signer = await token.caSigner('first', 'EC-P256');
        assert.ok(await verifies(signer, bytes('b'), await signer.sign(bytes('b'))));
        assert.equal(token.status().loginAttempts, 2);
      } finally {
        await token.close();
      }
    } finally {
      await t.cleanup();
    }
  });

  test('a TPM that does not answer is a C_Initialize error naming the TCTI to check', async () => {
    const tpm = await startTpm();
    const { module, env } = tpm;
    await tpm.stop(); // nothing listens on its port any more
    await assert.rejects(openToken({ module, env, tokenLabel: MAIN, pin: 'x' }), (e: unknown) => {
      assert.ok(e instanceof HsmConfigError);
      assert.match(e.message, /C_Initialize of .*libtpm2_pkcs11\.so failed with CKR_GENERAL_ERROR/);
      assert.match(e.message, new RegExp(`TCTI "${env.TPM2_PKCS11_TCTI}"`));
      return true;
    });
  });
});
