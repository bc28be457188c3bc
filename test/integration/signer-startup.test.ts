// `edgeca signer serve` (bin/edgeca.mjs, a child process) against an HSM set up wrongly, one
// mistake per case on a real SoftHSM token: each is one line on stderr naming the cause, exit 1,
// no stack trace, and the PIN never tried twice (pkcs11-spy, OpenSC's logging PKCS#11 module,
// sits between the signer and SoftHSM and records every call). The same on a TPM:
// test/integration/tpm.test.ts.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type DevInit, ISSUER_KEY_LABEL, initDev } from '../../signer/bootstrap.ts';
import type { SignerConfig } from '../../signer/config.ts';
import { openToken } from '../../signer/hsm/token.ts';
import { sideDoor } from '../support/hsm-tokens.ts';
import { assertOneLineError, serveUntilExit } from '../support/signer-serve.ts';

const SPY = [
  '/usr/lib/x86_64-linux-gnu/pkcs11/pkcs11-spy.so',
  '/usr/lib/aarch64-linux-gnu/pkcs11/pkcs11-spy.so',
].find((p) => existsSync(p));

let dir: string;
let init: DevInit;
let base: SignerConfig;
let pin: string;

/** Writes a variant of the dev signer.json and returns its path. */
function variant(name: string, change: (c: SignerConfig) => void): string {
  const c = structuredClone(base);
  c.listen.port = 0;
  change(c);
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(c, null, 2));
  return file;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edgeca-startup-'));
  init = await initDev({ dir });
  base = JSON.parse(readFileSync(init.signerConfigFile, 'utf8')) as SignerConfig;
  pin = readFileSync(init.pinFile, 'utf8').trim();
  // A certificate labelled like a key: what a wrong pkcs11.keyLabel often finds.
  const token = await openToken({
    module: init.pkcs11Module,
    softhsmConf: init.softhsmConf as string,
    tokenLabel: init.tokenLabel,
    pin,
  });
  try {
    sideDoor(init.pkcs11Module, init.tokenLabel).storeCertificate(
      'edgeca-intermediate-cert',
      pemBody(readFileSync(init.issuerCertFile, 'utf8')),
    );
  } finally {
    await token.close();
  }
});
after(() => rmSync(dir, { recursive: true, force: true }));

function pemBody(pem: string): Uint8Array {
  const b64 = /-----BEGIN CERTIFICATE-----([^-]+)-----END CERTIFICATE-----/.exec(pem)?.[1] ?? '';
  return new Uint8Array(Buffer.from(b64.replace(/\s+/g, ''), 'base64'));
}

describe('edgeca signer serve refuses a wrongly set-up HSM with one clear line', { concurrency: 3 }, () => {
  test('the dev config as written starts (the cases below differ from it in one setting)', async () => {
    // A config that starts does not exit: run it with a bad listen address to stop it right after the HSM.
    const file = variant('good', (c) => {
      c.listen.host = '203.0.113.1'; // TEST-NET-3: not an address of this machine, so listen fails
    });
    const r = await serveUntilExit(file);
    assertOneLineError(r, /EADDRNOTAVAIL|listen/);
  });

  const cases: { name: string; change: (c: SignerConfig) => void; cause: RegExp }[] = [
    {
      name: 'a token label that no slot has, listing the labels that exist',
      change: (c) => {
        c.pkcs11.tokenLabel = 'no-such-token';
      },
      cause:
        /no token labelled "no-such-token" in \S+libsofthsm2\.so; tokens seen: "edgeca-dev"\. Fix pkcs11\.tokenLabel/,
    },
    {
      name: 'a key found by label but of another type than ca.keyType',
      change: (c) => {
        c.ca.keyType = 'EC-P384';
      },
      cause: new RegExp(
        `the key labelled "${ISSUER_KEY_LABEL}" in token "edgeca-dev" is EC-P256, but ca\\.keyType is EC-P384`,
      ),
    },
    {
      name: 'a key label that names a certificate, not a private key',
      change: (c) => {
        c.pkcs11.keyLabel = 'edgeca-intermediate-cert';
      },
      cause:
        /no private key labelled "edgeca-intermediate-cert": that label names a certificate, not a private key/,
    },
    {
      name: 'a module that lacks the mechanism the key needs (CKM_ECDSA)',
      change: (c) => {
        const narrowed = join(dir, 'no-ecdsa.conf');
        writeFileSync(
          narrowed,
          `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\n` +
            'slots.mechanisms = CKM_EC_KEY_PAIR_GEN,CKM_ECDSA_SHA256,CKM_RSA_PKCS_KEY_PAIR_GEN,CKM_SHA256_RSA_PKCS\n',
        );
        c.pkcs11.softhsmConf = narrowed;
      },
      cause:
        /does not offer CKM_ECDSA, which the signer needs to sign with the EC-P256 key "edgeca-intermediate"/,
    },
    {
      name: 'a module path that does not exist',
      change: (c) => {
        c.pkcs11.module = '/usr/lib/nowhere/libpkcs11.so';
      },
      cause: /PKCS#11 module \/usr\/lib\/nowhere\/libpkcs11\.so does not exist/,
    },
    {
      name: 'a pkcs11.env that is not a map of strings',
      change: (c) => {
        (c.pkcs11 as { env?: unknown }).env = { TPM2_PKCS11_TCTI: 7 };
      },
      cause: /pkcs11\.env: the value of TPM2_PKCS11_TCTI must be a string/,
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      assertOneLineError(await serveUntilExit(variant(c.name.replace(/\W+/g, '-'), c.change)), c.cause);
    });
  }

  test('a wrong PIN: one line naming CKR_PIN_INCORRECT, never the PIN, and exactly one C_Login', async () => {
    assert.ok(SPY, 'pkcs11-spy.so comes with the Debian package opensc');
    const spyLog = join(dir, 'pkcs11-spy.log');
    writeFileSync(join(dir, 'wrong-pin'), 'not-the-pin\n', { mode: 0o600 });
    const file = variant('wrong-pin', (c) => {
      c.pkcs11.pinFile = join(dir, 'wrong-pin');
      c.pkcs11.module = SPY;
      c.pkcs11.env = { PKCS11SPY: init.pkcs11Module, PKCS11SPY_OUTPUT: spyLog };
    });
    const r = await serveUntilExit(file);
    assertOneLineError(r, /token "edgeca-dev" refused the PIN \(CKR_PIN_INCORRECT\); not retrying/);
    assert.match(
      r.stderr,
      /check the PIN in the file \S*wrong-pin \(pkcs11\.pinFile\)/,
      'names where the PIN came from',
    );
    assert.doesNotMatch(r.stderr + r.stdout, /not-the-pin/);
    const calls = readFileSync(spyLog, 'utf8').match(/^\d+: C_Login$/gm) ?? [];
    assert.equal(calls.length, 1, 'one login attempt');
  });
});
