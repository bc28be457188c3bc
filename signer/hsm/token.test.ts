// HsmToken against real SoftHSM: the shared token suite (test/support/hsm-token-suite.ts, also run
// against a TPM in tpm.test.ts) and what only SoftHSM has, its token directory and configuration file.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { MAIN, SECOND, tokenSuite } from '../../test/support/hsm-token-suite.ts';
import { makeTempTokens } from '../../test/support/hsm-tokens.ts';
import { HsmConfigError, openToken } from './token.ts';

describe('SoftHSM', () => {
  tokenSuite({
    shared: () => makeTempTokens([MAIN, SECOND]),
    fresh: (labels) => makeTempTokens(labels, 'edgeca-hsm-fresh-'),
  });

  test('a missing token directory (CKR_GENERAL_ERROR) points at directories.tokendir', async () => {
    const other = await makeTempTokens(['x'], 'edgeca-hsm-gone-');
    try {
      other.cleanup();
      // The conf must exist for SoftHSM to read it; only its token directory is gone.
      mkdirSync(other.dir, { recursive: true });
      writeFileSync(
        join(other.dir, 'softhsm2.conf'),
        `directories.tokendir = ${join(other.dir, 'tokens')}\n`,
      );
      assert.equal(existsSync(join(other.dir, 'tokens')), false);
      await assert.rejects(
        openToken({ module: other.module, softhsmConf: other.conf, tokenLabel: 'x', pin: other.pin }),
        (e: unknown) => {
          assert.ok(e instanceof HsmConfigError);
          assert.match(e.message, /CKR_GENERAL_ERROR/);
          assert.match(e.message, /tokendir/);
          assert.match(e.message, new RegExp(join(other.dir, 'tokens')));
          return true;
        },
      );
    } finally {
      other.cleanup();
    }
  });

  // SoftHSM's slots.mechanisms narrows what the token offers: a real module lacking a mechanism.
  for (const c of [
    {
      type: 'EC-P256',
      offered: 'CKM_EC_KEY_PAIR_GEN,CKM_ECDSA_SHA256,CKM_RSA_PKCS_KEY_PAIR_GEN,CKM_SHA256_RSA_PKCS',
      missing: 'CKM_ECDSA',
    },
    {
      type: 'RSA-3072',
      offered: 'CKM_EC_KEY_PAIR_GEN,CKM_ECDSA,CKM_RSA_PKCS_KEY_PAIR_GEN,CKM_RSA_PKCS',
      missing: 'CKM_SHA256_RSA_PKCS',
    },
  ] as const) {
    test(`a token without ${c.missing} cannot sign with its ${c.type} key: refused at open, naming it`, async () => {
      const t = await makeTempTokens([MAIN], 'edgeca-hsm-mech-');
      try {
        const full = await openToken({ module: t.module, softhsmConf: t.conf, tokenLabel: MAIN, pin: t.pin });
        await full.generateKeyPair('ca', c.type);
        await full.close();
        const narrowed = join(t.dir, 'narrowed.conf');
        writeFileSync(
          narrowed,
          `directories.tokendir = ${join(t.dir, 'tokens')}\nobjectstore.backend = file\nslots.mechanisms = ${c.offered}\n`,
        );
        const token = await openToken({
          module: t.module,
          softhsmConf: narrowed,
          tokenLabel: MAIN,
          pin: t.pin,
        });
        try {
          await assert.rejects(token.caSigner('ca', c.type), (e: unknown) => {
            assert.ok(e instanceof HsmConfigError);
            assert.match(
              e.message,
              new RegExp(
                `does not offer ${c.missing}, which the signer needs to sign with the ${c.type} key "ca"`,
              ),
            );
            assert.match(e.message, /it signs with: CKM_/);
            return true;
          });
          await assert.rejects(
            token.generateKeyPair('another', c.type),
            new RegExp(`does not offer ${c.missing}`),
          );
        } finally {
          await token.close();
        }
      } finally {
        t.cleanup();
      }
    });
  }

  test('a second SoftHSM config cannot be used while the first is initialised', async () => {
    const t = await makeTempTokens([MAIN], 'edgeca-hsm-conf-');
    try {
      const token = await openToken({ module: t.module, softhsmConf: t.conf, tokenLabel: MAIN, pin: t.pin });
      try {
        await assert.rejects(
          openToken({
            module: t.module,
            softhsmConf: '/etc/softhsm/softhsm2.conf',
            tokenLabel: MAIN,
            pin: t.pin,
          }),
          /already initialised/,
        );
      } finally {
        await token.close();
      }
    } finally {
      t.cleanup();
    }
  });
});
