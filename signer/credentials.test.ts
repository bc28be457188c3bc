// Secrets as systemd credentials: the HSM PIN (pkcs11.pinCredential) and the PostgreSQL password
// (databasePasswordCredential) read from $CREDENTIALS_DIRECTORY, refused with an error that says
// what to add to the unit when anything is missing, and a real signer on a SoftHSM token started
// that way (the PIN in no file beside the config, no variable).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { initDev } from './bootstrap.ts';
import type { SignerConfig } from './config.ts';
import { readCredential } from './credentials.ts';
import { startSigner } from './server.ts';
import { readPin } from './service/tools.ts';
import { databasePassword } from './store/configured.ts';

let root: string;
let creds: string;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'edgeca-credentials-'));
  creds = join(root, 'credentials');
  mkdirSync(creds, { mode: 0o700 });
  writeFileSync(join(creds, 'hsm-pin'), '123456\n', { mode: 0o400 });
  writeFileSync(join(creds, 'blank'), '\n');
  writeFileSync(join(root, 'hsm-pin'), 'outside\n');
});
after(() => rmSync(root, { recursive: true, force: true }));

/** Sets $CREDENTIALS_DIRECTORY for the rest of test `t` (Node 20's test mocks cannot). */
function credentialsDirectory(t: { after(fn: () => void): void }, dir: string): void {
  const was = process.env.CREDENTIALS_DIRECTORY;
  process.env.CREDENTIALS_DIRECTORY = dir;
  t.after(() => {
    if (was === undefined) delete process.env.CREDENTIALS_DIRECTORY;
    else process.env.CREDENTIALS_DIRECTORY = was;
  });
}

describe('readCredential', () => {
  test('reads $CREDENTIALS_DIRECTORY/<name> without its trailing newline', () => {
    assert.equal(
      readCredential('hsm-pin', 'pkcs11.pinCredential', { CREDENTIALS_DIRECTORY: creds }),
      '123456',
    );
  });

  const refusals: { name: string; cred: string; env: () => Record<string, string>; error: RegExp }[] = [
    {
      name: 'refuses when $CREDENTIALS_DIRECTORY is not set, naming LoadCredential=',
      cred: 'hsm-pin',
      env: () => ({}),
      error:
        /pkcs11\.pinCredential is "hsm-pin" but \$CREDENTIALS_DIRECTORY is not set.*LoadCredential=hsm-pin:/,
    },
    {
      name: 'refuses a credential missing from the directory, naming the directory and LoadCredential=',
      cred: 'absent-pin',
      env: () => ({ CREDENTIALS_DIRECTORY: creds }),
      error:
        /credential "absent-pin" \(pkcs11\.pinCredential\) is missing from .*credentials\).*LoadCredential=absent-pin:/,
    },
    {
      name: 'refuses an empty credential',
      cred: 'blank',
      env: () => ({ CREDENTIALS_DIRECTORY: creds }),
      error: /credential .*blank \(pkcs11\.pinCredential\) is empty/,
    },
    {
      name: 'refuses a name that would leave the directory',
      cred: '../hsm-pin',
      env: () => ({ CREDENTIALS_DIRECTORY: creds }),
      error: /must name a systemd credential/,
    },
    {
      name: 'refuses the name ".."',
      cred: '..',
      env: () => ({ CREDENTIALS_DIRECTORY: creds }),
      error: /must name a systemd credential/,
    },
  ];
  for (const c of refusals) {
    test(c.name, () => {
      assert.throws(() => readCredential(c.cred, 'pkcs11.pinCredential', c.env()), c.error);
    });
  }
});

describe('readPin with pkcs11.pinCredential', () => {
  const config = (pkcs11: Partial<SignerConfig['pkcs11']>) => ({ pkcs11 }) as SignerConfig;
  test('takes the PIN from the credential', (t) => {
    credentialsDirectory(t, creds);
    assert.equal(readPin(config({ pinCredential: 'hsm-pin' }), root), '123456');
  });
  test('refuses a config that also gives pinFile', (t) => {
    credentialsDirectory(t, creds);
    assert.throws(
      () => readPin(config({ pinCredential: 'hsm-pin', pinFile: 'hsm-pin' }), root),
      /pinCredential and pinFile\/pinEnv: keep only one/,
    );
  });
  test('names all three settings when none is given', () => {
    assert.throws(() => readPin(config({}), root), /pinCredential, pkcs11\.pinFile or pkcs11\.pinEnv/);
  });
});

describe('the PostgreSQL password with databasePasswordCredential', () => {
  const env = () => ({ CREDENTIALS_DIRECTORY: creds });
  test('takes the password from the credential, keeping inner and leading spaces', () => {
    writeFileSync(join(creds, 'db-password'), ' pass word\n', { mode: 0o400 });
    assert.equal(databasePassword({ databasePasswordCredential: 'db-password' }, root, env()), ' pass word');
  });
  test('refuses it together with databasePasswordFile', () => {
    assert.throws(
      () =>
        databasePassword(
          { databasePasswordCredential: 'db-password', databasePasswordFile: 'pw' },
          root,
          env(),
        ),
      /databasePasswordCredential and databasePasswordFile are both set/,
    );
  });
  test('refuses it together with EDGECA_SIGNER_DATABASE_PASSWORD', () => {
    assert.throws(
      () =>
        databasePassword({ databasePasswordCredential: 'db-password' }, root, {
          ...env(),
          EDGECA_SIGNER_DATABASE_PASSWORD: 'x',
        }),
      /databasePasswordCredential and EDGECA_SIGNER_DATABASE_PASSWORD are both set/,
    );
  });
  test('names LoadCredential= when the credential is missing', () => {
    assert.throws(
      () => databasePassword({ databasePasswordCredential: 'no-such' }, root, env()),
      /credential "no-such" \(databasePasswordCredential\) is missing .*LoadCredential=no-such:/,
    );
  });
});

describe('a signer on a SoftHSM token with its PIN from a credentials directory', () => {
  test('starts and answers /v1/health; without the credential it refuses to start', async (t) => {
    const dev = await initDev({ dir: join(root, 'dev') });
    const configFile = dev.signerConfigFile;
    const config = JSON.parse(readFileSync(configFile, 'utf8')) as SignerConfig;
    const pin = readFileSync(dev.pinFile, 'utf8');
    rmSync(dev.pinFile);
    const { pinFile: _pinFile, ...pkcs11 } = config.pkcs11;
    writeFileSync(
      configFile,
      JSON.stringify({
        ...config,
        listen: { host: '127.0.0.1', port: 0 },
        pkcs11: { ...pkcs11, pinCredential: 'token-pin' },
      }),
    );
    const credDir = join(root, 'signer-credentials');
    mkdirSync(credDir, { mode: 0o700 });

    credentialsDirectory(t, credDir);
    await assert.rejects(
      startSigner({ configFile }),
      /credential "token-pin" \(pkcs11\.pinCredential\) is missing/,
    );

    writeFileSync(join(credDir, 'token-pin'), pin, { mode: 0o400 });
    const signer = await startSigner({ configFile, deps: { log: () => {} } });
    try {
      const res = await fetch(`${signer.url}/v1/health`);
      const body = (await res.json()) as { status: string; hsm: string };
      assert.equal(res.status, 200);
      assert.equal(body.hsm, 'ok');
    } finally {
      await signer.close();
    }
  });
});
