// CA bootstrap against real SoftHSM: initDev end to end (idempotent, secrets 0600, CA keys that
// never leave the token as pkcs11-tool sees them, an edge HTTPS certificate OpenSSL accepts,
// relay keys that work with the relay codec), and the offline-root path (CSR, then import).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { derToPem, pemToDers } from '../shared/encoding.ts';
import {
  importRelayPrivateKey,
  importRelayPublicKey,
  signAnswer,
  signRelay,
  verifyRelay,
} from '../shared/relay.ts';
import { makeTempTokens, sideDoor } from '../test/support/hsm-tokens.ts';
import { createSoftwareCaSigner } from '../test/support/software-ca-signer.ts';
import { openssl } from '../test/support/x509.ts';
import {
  DEV_TOKEN_LABEL,
  type DevInit,
  ISSUER_KEY_LABEL,
  importIssuerCert,
  initCa,
  initDev,
  ROOT_KEY_LABEL,
} from './bootstrap.ts';
import type { SignerConfig } from './config.ts';
import { openToken } from './hsm/token.ts';
import { buildCaCertificate } from './x509/ca.ts';
import { createLeafBuilder, randomSerial } from './x509/leaf.ts';

const DAY = 86_400_000;
let root: string;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'edgeca-bootstrap-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[p] = `${statSync(p).mtimeMs}:${readFileSync(p).toString('base64')}`;
    }
  };
  walk(dir);
  return out;
}

describe('initDev', () => {
  let dir: string;
  let dev: DevInit;
  before(async () => {
    dir = join(root, 'dev');
    mkdirSync(dir);
    writeFileSync(join(dir, 'endpoints.json'), JSON.stringify({ edgeUrl: 'https://127.0.0.1:14000' }));
    dev = await initDev({ dir, signerPort: 14999 });
  });

  test('writes every file, secrets with mode 0600', () => {
    for (const f of [
      dev.signerConfigFile,
      dev.rootCertFile,
      dev.issuerCertFile,
      dev.relayKeyFile,
      dev.validatorKeyFile,
      dev.signerAnswerKeyFile,
      dev.signerAnswerPublicKeyFile,
      dev.signerTlsCaFile,
      dev.signerTlsCertFile,
      dev.signerTlsKeyFile,
      dev.edgeTlsCertFile,
      dev.edgeTlsKeyFile,
      dev.softhsmConf ?? 'softhsm2.conf (not written)',
      dev.pinFile,
    ]) {
      assert.ok(existsSync(f), f);
    }
    for (const f of [
      dev.pinFile,
      join(dir, 'hsm-so-pin'),
      dev.relayKeyFile,
      dev.validatorKeyFile,
      dev.signerAnswerKeyFile,
      dev.signerTlsKeyFile,
      dev.edgeTlsKeyFile,
    ]) {
      assert.equal(statSync(f).mode & 0o777, 0o600, f);
    }
    assert.equal(dev.tokenLabel, DEV_TOKEN_LABEL);
    assert.notEqual(
      readFileSync(dev.pinFile, 'utf8').trim(),
      readFileSync(join(dir, 'hsm-so-pin'), 'utf8').trim(),
    );
  });

  test('signer.json is a development SignerConfig with paths relative to its directory', () => {
    const cfg = JSON.parse(readFileSync(dev.signerConfigFile, 'utf8')) as SignerConfig;
    assert.deepEqual(cfg.listen, { host: '127.0.0.1', port: 14999 });
    assert.equal(cfg.database, 'file:signer.db');
    assert.deepEqual(cfg.pkcs11, {
      module: dev.pkcs11Module,
      tokenLabel: 'edgeca-dev',
      pinFile: 'hsm-pin',
      keyLabel: 'edgeca-intermediate',
      sessions: 4,
      softhsmConf: 'softhsm2.conf',
    });
    assert.deepEqual(cfg.ca, {
      keyType: 'EC-P256',
      issuerCertFile: 'intermediate.pem',
      rootCertFile: 'root.pem',
    });
    assert.equal(cfg.validatorKeyFile, 'validator-key.json');
    assert.equal(cfg.answerKeyFile, 'signer-answer-key.json');
    assert.equal(cfg.edgeKeys.length, 1);
    assert.match(cfg.edgeKeys[0]?.kid ?? '', /^edge-/);
    assert.equal(cfg.edgeKeys[0]?.d, undefined, 'only the public relay key is pinned');
    assert.deepEqual(cfg.ceiling.dnsSuffixes, ['.']);
    assert.deepEqual(cfg.ceiling.ipRanges, ['0.0.0.0/0', '::/0']);
    assert.equal(cfg.ceiling.keyTypes.length, 5);
    assert.equal(cfg.ceiling.allowWildcards, true);
    assert.equal(cfg.ceiling.maxLifetimeSeconds, 90 * 86400);
    assert.deepEqual(cfg.ceiling.profiles.tlsclient, {
      ekus: ['clientAuth'],
      maxLifetimeSeconds: 90 * 86400,
    });
    assert.deepEqual(Object.keys(cfg.ceiling.profiles).sort(), ['default', 'tlsclient', 'tlsserver']);
    assert.deepEqual(cfg.crl, { nextUpdateSeconds: 86400, refreshSeconds: 3600 });
  });

  test('endpoints.json is left to npm start, which writes it whole once the services are up', () => {
    const ep = JSON.parse(readFileSync(join(dir, 'endpoints.json'), 'utf8'));
    assert.deepEqual(ep, { edgeUrl: 'https://127.0.0.1:14000' });
  });

  test('a second initDev returns the same paths and changes nothing', async () => {
    const before = snapshot(dir);
    const again = await initDev({ dir, signerPort: 1 });
    assert.deepEqual(again, dev);
    assert.deepEqual(snapshot(dir), before);
  });

  test('the CA keys live in the token: sensitive, never extractable, unreadable', async () => {
    const pin = readFileSync(dev.pinFile, 'utf8').trim();
    const token = await openToken({
      module: dev.pkcs11Module,
      softhsmConf: dev.softhsmConf,
      tokenLabel: dev.tokenLabel,
      pin,
    });
    try {
      for (const label of [ROOT_KEY_LABEL, ISSUER_KEY_LABEL]) {
        const info = await token.keyInfo(label);
        assert.equal(info.sensitive, true);
        assert.equal(info.extractable, false);
        assert.equal(info.neverExtractable, true);
        assert.equal(info.alwaysSensitive, true);
        assert.equal(info.caKeyType, 'EC-P256');
        assert.equal(
          sideDoor(dev.pkcs11Module, dev.tokenLabel).readPrivateValue(label),
          'CKR_ATTRIBUTE_SENSITIVE',
        );
      }
      const issuerCert = new X509Certificate(readFileSync(dev.issuerCertFile));
      const spki = issuerCert.publicKey.export({ type: 'spki', format: 'der' });
      assert.deepEqual(new Uint8Array(spki), await token.publicKeySpki(ISSUER_KEY_LABEL));
    } finally {
      await token.close();
    }
    const pkcs11Tool = spawnSync(
      'pkcs11-tool',
      ['--module', dev.pkcs11Module, '--token-label', dev.tokenLabel, '-O', '--login', '--pin', pin],
      { encoding: 'utf8', env: { ...process.env, SOFTHSM2_CONF: dev.softhsmConf } },
    );
    assert.equal(pkcs11Tool.status, 0, pkcs11Tool.stderr);
    const privateObjects = pkcs11Tool.stdout
      .split(/(?=Private Key Object|Public Key Object)/)
      .filter((b) => b.startsWith('Private Key Object'));
    assert.equal(privateObjects.length, 2);
    for (const label of [ROOT_KEY_LABEL, ISSUER_KEY_LABEL]) {
      const block = privateObjects.find((b) => new RegExp(`label:\\s+${label}\\n`).test(b));
      assert.ok(block, `pkcs11-tool lists ${label}`);
      assert.match(block, /Usage:\s+sign\n/);
      assert.match(block, /Access:\s+sensitive, always sensitive, never extractable/);
    }
  });

  test('the edge HTTPS certificate (localhost, 127.0.0.1, ::1) verifies to the root and matches its key', () => {
    const chain = pemToDers(readFileSync(dev.edgeTlsCertFile, 'utf8'));
    assert.equal(chain.length, 2);
    const leafFile = join(root, 'edge-leaf.pem');
    writeFileSync(leafFile, derToPem(chain[0] as Uint8Array));
    const out = openssl([
      'verify',
      '-purpose',
      'sslserver',
      '-CAfile',
      dev.rootCertFile,
      '-untrusted',
      dev.issuerCertFile,
      leafFile,
    ]);
    assert.match(out, /edge-leaf\.pem: OK/);
    const leaf = new X509Certificate(chain[0] as Uint8Array);
    assert.equal(leaf.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    assert.ok(leaf.checkPrivateKey(createPrivateKey(readFileSync(dev.edgeTlsKeyFile))));
    const days = (Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)) / DAY;
    assert.equal(Math.round(days), 90);
    assert.deepEqual(
      new Uint8Array(chain[1] as Uint8Array),
      pemToDers(readFileSync(dev.issuerCertFile, 'utf8'))[0],
    );
    assert.match(openssl(['x509', '-in', dev.rootCertFile, '-noout', '-text']), /CA:TRUE/);
  });

  test('the relay key signs requests the pinned public key verifies; the validator key is a private ES256 JWK', async () => {
    const cfg = JSON.parse(readFileSync(dev.signerConfigFile, 'utf8')) as SignerConfig;
    const priv = await importRelayPrivateKey(JSON.parse(readFileSync(dev.relayKeyFile, 'utf8')));
    const pub = await importRelayPublicKey(cfg.edgeKeys[0] as SignerConfig['edgeKeys'][number]);
    const jws = await signRelay({ op: 'revoke', serial: '01', reason: 0 }, priv);
    const { payload } = await verifyRelay(jws, { op: 'revoke', keys: new Map([[pub.kid, pub]]) });
    assert.equal((payload as { serial: string }).serial, '01');
    const validator = JSON.parse(readFileSync(dev.validatorKeyFile, 'utf8'));
    assert.equal(validator.kty, 'EC');
    assert.equal(validator.crv, 'P-256');
    assert.ok(validator.d);
    assert.match(validator.kid, /^validator-/);
  });

  test('the signer answer key signs answers its public file verifies; the relay TLS certificate verifies to its own CA only', async () => {
    const priv = await importRelayPrivateKey(JSON.parse(readFileSync(dev.signerAnswerKeyFile, 'utf8')));
    const pubJwk = JSON.parse(readFileSync(dev.signerAnswerPublicKeyFile, 'utf8'));
    assert.equal(pubJwk.d, undefined);
    const pub = await importRelayPublicKey(pubJwk);
    const jws = await signAnswer(
      { op: 'revoke-answer', jti: 'jti-0123456789', status: 200, bodySha256: 'x', serial: '01' },
      priv,
    );
    await verifyRelay(jws, { op: 'revoke-answer', keys: new Map([[pub.kid, pub]]) });
    assert.match(
      openssl(['verify', '-purpose', 'sslserver', '-CAfile', dev.signerTlsCaFile, dev.signerTlsCertFile]),
      /: OK/,
    );
    assert.throws(() => openssl(['verify', '-CAfile', dev.rootCertFile, dev.signerTlsCertFile]));
    const leaf = new X509Certificate(readFileSync(dev.signerTlsCertFile));
    assert.equal(leaf.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    assert.ok(leaf.checkPrivateKey(createPrivateKey(readFileSync(dev.signerTlsKeyFile))));
  });

  test('a directory from before the answer key and relay TLS files gets them, and keeps the rest', async () => {
    const cfg = JSON.parse(readFileSync(dev.signerConfigFile, 'utf8')) as Partial<SignerConfig>;
    const relayKey = readFileSync(dev.relayKeyFile, 'utf8');
    delete cfg.answerKeyFile;
    writeFileSync(dev.signerConfigFile, JSON.stringify(cfg));
    for (const f of [dev.signerAnswerKeyFile, dev.signerAnswerPublicKeyFile, dev.signerTlsCaFile]) rmSync(f);
    await initDev({ dir });
    const after = JSON.parse(readFileSync(dev.signerConfigFile, 'utf8')) as SignerConfig;
    assert.equal(after.answerKeyFile, 'signer-answer-key.json');
    for (const f of [dev.signerAnswerKeyFile, dev.signerAnswerPublicKeyFile, dev.signerTlsCaFile])
      assert.ok(existsSync(f));
    assert.equal(readFileSync(dev.relayKeyFile, 'utf8'), relayKey);
  });

  test('a run that stopped half-way (no signer.json) is started again from scratch', async () => {
    const half = join(root, 'half');
    mkdirSync(half);
    writeFileSync(join(half, 'hsm-pin'), 'stale\n');
    mkdirSync(join(half, 'tokens'));
    writeFileSync(join(half, 'tokens', 'junk'), 'x');
    const d = await initDev({ dir: half });
    assert.notEqual(readFileSync(d.pinFile, 'utf8'), 'stale\n');
    assert.equal(existsSync(join(half, 'tokens', 'junk')), false);
    assert.ok(existsSync(d.signerConfigFile));
  });
});

describe('initCa with an offline root, then importIssuerCert', () => {
  test('writes a CSR for the token key, refuses a foreign or non-CA certificate, installs the right one', async () => {
    const t = await makeTempTokens(['offline']);
    const token = await openToken({
      module: t.module,
      softhsmConf: t.conf,
      tokenLabel: 'offline',
      pin: t.pin,
    });
    try {
      const outDir = join(t.dir, 'ca');
      const res = await initCa({
        token,
        keyType: 'EC-P384',
        mode: 'intermediate-csr',
        outDir,
        intermediateSubject: 'CN=Offline-Rooted Issuing CA',
      });
      assert.deepEqual(Object.keys(res), ['csrFile']);
      const req = openssl(['req', '-in', res.csrFile as string, '-noout', '-verify', '-subject']);
      assert.match(req, /verify OK/);
      assert.match(req, /subject=CN = Offline-Rooted Issuing CA/);
      await assert.rejects(token.keyInfo(ROOT_KEY_LABEL), /no private key labelled "edgeca-root"/);

      // The offline root signs a certificate for the CSR's key.
      const offlineRoot = await createSoftwareCaSigner('EC-P384');
      const notBefore = new Date(Date.now() - DAY);
      const rootDer = await buildCaCertificate({
        subject: 'CN=Offline Root',
        subjectSpki: offlineRoot.spki,
        signer: offlineRoot,
        notBefore,
        notAfter: new Date(notBefore.getTime() + 3650 * DAY),
      });
      const issued = (spki: Uint8Array, pathLen?: number) =>
        buildCaCertificate({
          subject: 'CN=Offline-Rooted Issuing CA',
          subjectSpki: spki,
          signer: offlineRoot,
          issuerCertDer: rootDer,
          notBefore,
          notAfter: new Date(notBefore.getTime() + 1000 * DAY),
          ...(pathLen === undefined ? {} : { pathLen }),
        });
      const tokenSpki = await token.publicKeySpki(ISSUER_KEY_LABEL);
      const foreign = await issued((await createSoftwareCaSigner('EC-P384')).spki, 0);
      await assert.rejects(
        importIssuerCert({ token, keyLabel: ISSUER_KEY_LABEL, certPem: derToPem(foreign), outDir }),
        /not the key "edgeca-intermediate"/,
      );
      await assert.rejects(
        importIssuerCert({ token, keyLabel: ISSUER_KEY_LABEL, certPem: 'nothing here', outDir }),
        /no CERTIFICATE/,
      );
      const leafBuilder = createLeafBuilder({ certDer: rootDer, keyType: 'EC-P384' });
      const leafTbs = leafBuilder.buildTbs({
        serial: randomSerial(),
        spki: tokenSpki,
        identifiers: [{ type: 'dns', value: 'not-a-ca.test' }],
        notBefore,
        notAfter: new Date(notBefore.getTime() + 10 * DAY),
        ekus: ['serverAuth'],
        leafKeyType: 'EC-P384',
      });
      const notCa = leafBuilder.assemble(leafTbs, await offlineRoot.sign(leafTbs));
      await assert.rejects(
        importIssuerCert({ token, keyLabel: ISSUER_KEY_LABEL, certPem: derToPem(notCa), outDir }),
        /not a CA certificate/,
      );
      const good = await issued(tokenSpki, 0);
      const file = await importIssuerCert({
        token,
        keyLabel: ISSUER_KEY_LABEL,
        certPem: derToPem(good) + derToPem(rootDer),
        outDir,
      });
      assert.equal(file, join(outDir, 'intermediate.pem'));
      assert.equal(readFileSync(file, 'utf8'), derToPem(good));
      writeFileSync(join(outDir, 'offline-root.pem'), derToPem(rootDer));
      assert.match(openssl(['verify', '-CAfile', join(outDir, 'offline-root.pem'), file]), /OK/);

      // initCa never replaces CA files.
      writeFileSync(join(outDir, 'root.pem'), 'x');
      await assert.rejects(
        initCa({ token, keyType: 'EC-P384', mode: 'root-and-intermediate', outDir }),
        /exists already/,
      );
    } finally {
      await token.close();
      t.cleanup();
    }
  });
});
