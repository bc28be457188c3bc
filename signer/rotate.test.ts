// CA key rotation in one process against real SoftHSM and a real libSQL store: a running signer
// (startSigner, its own token session) follows a rotation made through another token handle
// (`rotate`, as the CLI does it) on reload; new orders get the new issuer, an order begun before
// keeps its own, each issuer has its own CRL; a rotation that fails anywhere leaves the issuer in
// use active; name constraints from the ceiling bind the new intermediate; a P-384 issuer beside
// the P-256 one serves the profile that asks for it. test/integration/rotation.test.ts does it
// with separate processes on PostgreSQL.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createClient } from '@libsql/client';
import {
  AuthorityKeyIdentifierExtension,
  CRLDistributionPointsExtension,
  SubjectKeyIdentifierExtension,
  X509Certificate,
} from '@peculiar/x509';
import { b64uEncode, derToPem, pemToDers } from '../shared/encoding.ts';
import { importRelayPrivateKey, type RelayKey, signRelay } from '../shared/relay.ts';
import { sideDoor } from '../test/support/hsm-tokens.ts';
import { makeCsr } from '../test/support/signer-service.ts';
import { createSoftwareCaSigner } from '../test/support/software-ca-signer.ts';
import { runTool, splitPemChain, verifyChain } from '../test/support/tools.ts';
import { verifyAudit } from './audit-verify.ts';
import { type DevInit, initDev } from './bootstrap.ts';
import type { SignerConfig } from './config.ts';
import { type HsmToken, openToken } from './hsm/token.ts';
import { installIssuerCert, rotate } from './rotate.ts';
import { type RunningSigner, startSigner } from './server.ts';
import { readPin } from './service/tools.ts';
import type { SignerStore } from './store/store.ts';
import { buildCaCertificate } from './x509/ca.ts';
import { createLeafBuilder, randomSerial } from './x509/leaf.ts';

let dir: string;
let dev: DevInit;
let config: SignerConfig;
let relay: RelayKey;
let signer: RunningSigner;
let token: HsmToken;
let rootDer: Uint8Array;
let first = '';
const firstId = () => first;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgeca-rotate-'));
  dev = await initDev({ dir });
  const base = JSON.parse(readFileSync(dev.signerConfigFile, 'utf8')) as SignerConfig;
  config = {
    ...base,
    listen: { host: '127.0.0.1', port: 0 },
    // Reloads are explicit here (what SIGHUP does); the timer is shown by the integration test.
    issuers: { refreshSeconds: 3600 },
    ceiling: {
      ...base.ceiling,
      profiles: {
        ...base.ceiling.profiles,
        p384: { ekus: ['serverAuth'], maxLifetimeSeconds: 86_400, issuerKeyType: 'EC-P384' },
        p256: { ekus: ['serverAuth'], maxLifetimeSeconds: 86_400, issuerKeyType: 'EC-P256' },
      },
    },
  };
  relay = await importRelayPrivateKey(JSON.parse(readFileSync(dev.relayKeyFile, 'utf8')));
  signer = await startSigner({ config, baseDir: dir, deps: { log: () => {} } });
  first = signer.issuers.newestActive()?.id ?? '';
  token = await openToken({
    module: dev.pkcs11Module,
    tokenLabel: dev.tokenLabel,
    pin: readPin(config, dir),
    softhsmConf: dev.softhsmConf,
    sessions: 1,
  });
  rootDer = pemToDers(readFileSync(dev.rootCertFile, 'utf8'))[0] as Uint8Array;
});

after(async () => {
  await token?.close();
  await signer?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let orders = 0;
async function signBody(profile = 'default', name = 'rot.internal.test') {
  const now = Date.now();
  return {
    op: 'sign' as const,
    orderId: `rot-${++orders}`,
    accountId: 'acct',
    profile,
    csr: b64uEncode(await makeCsr({ dns: [name] })),
    identifiers: [{ type: 'dns' as const, value: name }],
    notBefore: new Date(now).toISOString(),
    notAfter: new Date(now + 3600_000).toISOString(),
  };
}
const post = async (path: string, body: Parameters<typeof signRelay>[0]) =>
  fetch(`${signer.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/jose' },
    body: await signRelay(body, relay),
  });
async function sign(body: Awaited<ReturnType<typeof signBody>>): Promise<string> {
  const res = await post('/v1/sign', body);
  assert.equal(res.status, 200, await res.clone().text());
  return res.text();
}
const leafOf = (chain: string) => new X509Certificate(splitPemChain(chain)[0] as string);
const akiOf = (chain: string) => leafOf(chain).getExtension(AuthorityKeyIdentifierExtension)?.keyId ?? '';
const serialOf = (chain: string) => leafOf(chain).serialNumber.toLowerCase();
const store = (): SignerStore => signer.service.store;
const issuersNow = async () => Object.fromEntries((await store().issuers.list()).map((r) => [r.id, r.state]));

async function crlText(query: string, issuerPem: string): Promise<string> {
  const res = await fetch(`${signer.url}/v1/crl${query}`);
  assert.equal(res.status, 200, await res.clone().text());
  const f = join(dir, `crl-${Date.now()}.der`);
  writeFileSync(f, Buffer.from(await res.arrayBuffer()));
  writeFileSync(`${f}.ca.pem`, issuerPem);
  const r = await runTool('openssl', [
    'crl',
    '-inform',
    'DER',
    '-in',
    f,
    '-noout',
    '-text',
    '-CAfile',
    `${f}.ca.pem`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /verify OK/);
  return r.stdout;
}
const listed = (serial: string) => new RegExp(`Serial Number: 0*${serial.replace(/^0+/, '')}\\b`, 'i');

describe('rotation with online root, followed by a running signer', () => {
  let oldChain = '';
  let newId = '';
  let newPem = '';
  let pendingOrder: Awaited<ReturnType<typeof signBody>>;
  let pendingSerial = '';

  test('before: the first issuer signs, and an order stopped by the HSM keeps an intent', async () => {
    oldChain = await sign(await signBody());
    await verifyChain(oldChain, dev.rootCertFile);
    // Every session of this process closed under the signer: its next signature fails, after
    // the intent was recorded.
    pendingOrder = await signBody();
    sideDoor(dev.pkcs11Module, dev.tokenLabel).closeAllSessions();
    const res = await post('/v1/sign', pendingOrder);
    assert.equal(res.status, 503, await res.clone().text());
    // The other handle (rotate's, like the CLI's) lost its sessions too: it notices here.
    await token.keyInfo('edgeca-root').catch(() => undefined);
    pendingSerial = (await store().byOrder(pendingOrder.orderId))?.serial ?? '';
    assert.ok(pendingSerial);
    await new Promise((r) => setTimeout(r, 1100)); // the token reconnects at most once a second
  });

  test('rotate makes the key in the token, activates it and retires the first issuer; the running signer keeps the old one until it reloads', async () => {
    const made = await rotate({
      token,
      store: store(),
      config,
      baseDir: dir,
      keyType: 'EC-P256',
      mode: 'online-root',
    });
    assert.equal(made.state, 'active');
    assert.deepEqual(made.retired, [firstId()]);
    assert.equal(typeof made.checkpoint, 'number', String(made.checkpoint));
    newId = made.id;
    newPem = readFileSync(made.certFile as string, 'utf8');
    assert.match(
      (await runTool('openssl', ['verify', '-CAfile', dev.rootCertFile, made.certFile as string])).stdout,
      /OK/,
    );
    const info = await token.keyInfo(made.keyLabel);
    assert.equal(info.sensitive, true);
    assert.equal(info.extractable, false);
    assert.deepEqual(await issuersNow(), { [firstId()]: 'retiring', [newId]: 'active' });
    assert.equal(akiOf(await sign(await signBody())), akiOf(oldChain), 'not reloaded yet');
  });

  test('after reload: new orders from the new issuer, its CRL at its own URL; an order begun before keeps its issuer', async () => {
    await signer.reload();
    const chain = await sign(await signBody());
    await verifyChain(chain, dev.rootCertFile);
    assert.notEqual(akiOf(chain), akiOf(oldChain));
    assert.equal(splitPemChain(chain)[1]?.trim(), newPem.trim(), 'the chain carries the new intermediate');
    const cdp = leafOf(chain).getExtension(CRLDistributionPointsExtension);
    assert.match(JSON.stringify(cdp?.distributionPoints), new RegExp(`/crl/${newId}`));
    const otherCsr = await post('/v1/sign', { ...(await signBody()), orderId: 'rot-1' });
    assert.equal(otherCsr.status, 409, 'a new CSR for an order signed before is refused');
    const again = await post('/v1/sign', {
      ...(await signBody()),
      orderId: pendingOrder.orderId,
      csr: pendingOrder.csr,
    });
    assert.equal(again.status, 200, await again.clone().text());
    const completed = await again.text();
    assert.equal(serialOf(completed), pendingSerial, 'the intent recorded before the rotation');
    assert.equal(akiOf(completed), akiOf(oldChain), 'completed by the issuer it began with');
    await verifyChain(completed, dev.rootCertFile);
  });

  test('a revocation lands in its own issuer CRL only; the bare CRL stays the first issuer one', async () => {
    const serial = serialOf(oldChain);
    const res = await post('/v1/revoke', { op: 'revoke', serial, reason: 1 });
    assert.equal(res.status, 200, await res.clone().text());
    const oldPem = readFileSync(dev.issuerCertFile, 'utf8');
    assert.match(await crlText('', oldPem), listed(serial));
    assert.match(await crlText(`?issuer=${firstId()}`, oldPem), listed(serial));
    assert.doesNotMatch(await crlText(`?issuer=${newId}`, newPem), listed(serial));
    const unknown = 'e'.repeat(64);
    const nf = await fetch(`${signer.url}/v1/crl?issuer=${unknown}`);
    assert.equal(nf.status, 404);
    assert.match(((await nf.json()) as { detail: string }).detail, new RegExp(`no issuer ${unknown}`));
    const bad = await fetch(`${signer.url}/v1/crl?issuer=nope`);
    assert.equal(bad.status, 400);
    const list = (await (await fetch(`${signer.url}/v1/issuers`)).json()) as {
      issuers: { id: string; state: string; signsCrl: boolean; lastCertificateExpires: string | null }[];
      defaultCrlIssuer: string;
    };
    assert.equal(list.defaultCrlIssuer, firstId());
    const old = list.issuers.find((i) => i.id === firstId());
    assert.equal(old?.state, 'retiring');
    assert.equal(old?.signsCrl, true, 'a retiring issuer keeps signing its CRL');
    assert.ok(old?.lastCertificateExpires);
  });

  test('revoking a certificate whose issuer the store does not know is refused naming the issuer; nothing is recorded', async () => {
    const ghost = 'f'.repeat(64);
    const c = createClient({ url: `file:${join(dir, 'signer.db')}` });
    await c.execute({
      sql: `INSERT INTO issuance (order_id, serial, issuer, csr_hash, tbs, cert_der, chain_pem, status, identifiers,
              profile, account_id, not_before, not_after, created_at, issued_at)
            VALUES ('ghost-order', '7f01020304050607', ?, 'h', x'00', x'00', 'PEM', 'issued', '[]', 'default', 'a', 0, ?, 0, 0)`,
      args: [ghost, Date.now() + 3600_000],
    });
    c.close();
    const res = await post('/v1/revoke', { op: 'revoke', serial: '7f01020304050607', reason: 1 });
    assert.equal(res.status, 500);
    assert.match(
      ((await res.json()) as { detail: string }).detail,
      new RegExp(`issuer ${ghost}, which this signer's store does not know`),
    );
    assert.equal((await store().bySerial('7f01020304050607'))?.revokedAt, null);
  });

  test('an issuer row written into the store for a token key, with a certificate of their own, is not used', async () => {
    // Someone with write access to the store: the label of a real key in the token, and a
    // certificate for that very key that their own CA signed (it cannot chain to the root).
    const label = signer.issuers.byId(newId)?.keyLabel ?? '';
    const theirs = await createSoftwareCaSigner('EC-P256');
    const notBefore = new Date(Date.now() - 3600_000);
    const theirRoot = await buildCaCertificate({
      subject: 'CN=Their Root',
      subjectSpki: theirs.spki,
      signer: theirs,
      notBefore,
      notAfter: new Date(notBefore.getTime() + 86_400_000),
    });
    const forged = await buildCaCertificate({
      subject: 'CN=Forged Issuer',
      subjectSpki: (await token.caSigner(label)).spki,
      signer: theirs,
      issuerCertDer: theirRoot,
      notBefore,
      notAfter: new Date(notBefore.getTime() + 86_400_000),
      pathLen: 0,
    });
    const forgedId = 'd'.repeat(64);
    await store().issuers.register(
      {
        id: forgedId,
        keyLabel: label,
        keyType: 'EC-P256',
        state: 'active',
        certDer: forged,
        chainPem: derToPem(theirRoot),
        crlUrl: null,
      },
      {},
    );
    await signer.reload();
    const shown = signer.issuers.list().find((i) => i.id === forgedId);
    assert.equal(shown?.usableHere, false);
    assert.match(shown?.unusableReason ?? '', /does not chain to the root/);
    assert.equal(signer.issuers.newestActive()?.id, newId, 'new orders stay with the real issuer');
    assert.equal(akiOf(await sign(await signBody())), signer.issuers.byId(newId)?.keyId);
    const c = createClient({ url: `file:${join(dir, 'signer.db')}` });
    await c.execute({ sql: 'DELETE FROM issuers WHERE id = ?', args: [forgedId] });
    c.close();
    await signer.reload();
  });

  test('audit-verify passes with the checkpoints the start and the rotation signed in the HSM', async () => {
    const r = await verifyAudit(store(), { roots: [rootDer] });
    assert.equal(r.ok, true, r.reason);
    assert.ok(r.checkpoints >= 2, `${r.checkpoints} checkpoints`);
    const signedBy = await store().checkpoints.latest();
    assert.equal(signedBy?.issuer, newId, 'the newest checkpoint is signed by the new key');
  });
  test('once its last certificate has expired, the retiring issuer retires and its CRL is no longer signed', async () => {
    // Time passing, as the store sees it: every certificate of the first issuer has expired.
    const c = createClient({ url: `file:${join(dir, 'signer.db')}` });
    await c.execute({ sql: 'UPDATE issuance SET not_after = 1000 WHERE issuer = ?', args: [firstId()] });
    c.close();
    const lastOld = (await store().currentCrl(firstId()))?.crlNumber;
    const lastNew = (await store().currentCrl(newId))?.crlNumber ?? 0;
    await signer.service.crl.reissueAll('refresh');
    assert.equal((await store().issuers.get(firstId()))?.state, 'retired');
    assert.equal(
      (await store().currentCrl(firstId()))?.crlNumber,
      lastOld,
      'no new CRL for a retired issuer',
    );
    assert.ok(((await store().currentCrl(newId))?.crlNumber ?? 0) > lastNew, 'the active issuer signs on');
    await signer.service.crl.reissueAll('refresh');
    assert.equal((await store().currentCrl(firstId()))?.crlNumber, lastOld);
    const list = (await (await fetch(`${signer.url}/v1/issuers`)).json()) as {
      issuers: { id: string; state: string; signsCrl: boolean; retiredAt: string | null }[];
    };
    const old = list.issuers.find((i) => i.id === firstId());
    assert.equal(old?.state, 'retired');
    assert.equal(old?.signsCrl, false);
    assert.ok(old?.retiredAt);
    assert.equal((await fetch(`${signer.url}/v1/crl`)).status, 200, 'its last CRL is still served');
  });
});

describe('a rotation that fails half-way leaves the issuer in use active', () => {
  const activeBefore = async () =>
    (await store().issuers.list()).filter((r) => r.state === 'active').map((r) => r.id);

  test('online-root without the root key in the token: refused before any key is made', async () => {
    const before = await issuersNow();
    const active = await activeBefore();
    await assert.rejects(
      rotate({
        token,
        store: store(),
        config: { ...config, pkcs11: { ...config.pkcs11, rootKeyLabel: 'no-such-root' } },
        baseDir: dir,
        keyType: 'EC-P256',
        mode: 'online-root',
        label: 'never-made',
      }),
      /no private key labelled "no-such-root"/,
    );
    await assert.rejects(token.keyInfo('never-made'), /no private key labelled "never-made"/);
    assert.deepEqual(await issuersNow(), before);
    assert.deepEqual(await activeBefore(), active);
  });

  test('a label the token already holds: the HSM refuses, nothing is recorded', async () => {
    const before = await issuersNow();
    await assert.rejects(
      rotate({
        token,
        store: store(),
        config,
        baseDir: dir,
        keyType: 'EC-P256',
        mode: 'intermediate-csr',
        label: 'edgeca-root',
      }),
      /already holds an object labelled "edgeca-root"/,
    );
    assert.deepEqual(await issuersNow(), before);
  });

  test('offline root: pending until a matching certificate is installed; wrong certificates change nothing', async () => {
    const active = await activeBefore();
    const made = await rotate({
      token,
      store: store(),
      config,
      baseDir: dir,
      keyType: 'EC-P256',
      mode: 'intermediate-csr',
      label: 'offline-next',
      subject: 'CN=edgeca Offline-Rooted Next',
    });
    assert.equal(made.state, 'pending');
    const req = await runTool('openssl', [
      'req',
      '-in',
      made.csrFile as string,
      '-noout',
      '-verify',
      '-subject',
    ]);
    assert.match(req.stdout + req.stderr, /verify OK/);
    assert.match(req.stdout, /CN = edgeca Offline-Rooted Next/);
    assert.equal((await store().issuers.get(made.id))?.state, 'pending');
    await signer.reload();
    assert.equal(signer.issuers.byId(made.id), undefined, 'a pending issuer signs nothing');
    const root = await token.caSigner('edgeca-root');
    const csrKey = (await token.caSigner('offline-next')).spki;
    const notBefore = new Date(Date.now() - 3600_000);
    const certFor = (spki: Uint8Array, by = root, issuerCertDer = rootDer) =>
      buildCaCertificate({
        subject: 'CN=edgeca Offline-Rooted Next',
        subjectSpki: spki,
        signer: by,
        issuerCertDer,
        notBefore,
        notAfter: new Date(notBefore.getTime() + 365 * 86_400_000),
        pathLen: 0,
      });
    const install = (certDer: Uint8Array) =>
      installIssuerCert({
        token,
        store: store(),
        config,
        baseDir: dir,
        certDer,
        chainPem: '',
        root: rootDer,
      });
    const stranger = await createSoftwareCaSigner('EC-P256');
    await assert.rejects(
      install(await certFor(stranger.spki)),
      /no issuer in the store has this certificate's key/,
    );
    const otherRoot = await createSoftwareCaSigner('EC-P256');
    const otherRootDer = await buildCaCertificate({
      subject: 'CN=Some Other Root',
      subjectSpki: otherRoot.spki,
      signer: otherRoot,
      notBefore,
      notAfter: new Date(notBefore.getTime() + 3650 * 86_400_000),
    });
    await assert.rejects(
      install(await certFor(csrKey, otherRoot, otherRootDer)),
      /does not chain to the root/,
    );
    const leaf = createLeafBuilder({ certDer: rootDer, keyType: 'EC-P256' });
    const tbs = leaf.buildTbs({
      serial: randomSerial(),
      spki: csrKey,
      identifiers: [{ type: 'dns', value: 'not-a-ca.test' }],
      notBefore,
      notAfter: new Date(notBefore.getTime() + 86_400_000),
      ekus: ['serverAuth'],
      leafKeyType: 'EC-P256',
    });
    await assert.rejects(install(leaf.assemble(tbs, await root.sign(tbs))), /not a CA certificate/);
    assert.equal((await store().issuers.get(made.id))?.state, 'pending');
    assert.deepEqual(await activeBefore(), active, 'the issuer in use is still active');
    assert.equal((await verifyAudit(store(), { roots: [rootDer] })).ok, true);

    const good = await certFor(csrKey);
    writeFileSync(join(dir, 'offline-next-signed.pem'), derToPem(good));
    const done = await install(good);
    assert.equal(done.state, 'active');
    assert.deepEqual(done.retired, active);
    await assert.rejects(install(good), /is active already/);
    await signer.reload();
    const chain = await sign(await signBody());
    assert.equal(akiOf(chain), new X509Certificate(good).getExtension(SubjectKeyIdentifierExtension)?.keyId);
    await verifyChain(chain, dev.rootCertFile);
  });
});

describe('issuers of two key types, and name constraints', () => {
  test('a P-384 issuer beside the P-256 one: each profile that names a key type gets its issuer, the others the newest', async () => {
    const p256 = akiOf(await sign(await signBody()));
    const made = await rotate({
      token,
      store: store(),
      config,
      baseDir: dir,
      keyType: 'EC-P384',
      mode: 'online-root',
    });
    assert.deepEqual(made.retired, [], 'another key type retires nothing');
    await signer.reload();
    const p384Chain = await sign(await signBody('p384'));
    await verifyChain(p384Chain, dev.rootCertFile);
    const p384Cert = new X509Certificate(splitPemChain(p384Chain)[1] as string);
    assert.equal((p384Cert.publicKey.algorithm as EcKeyAlgorithm).namedCurve, 'P-384');
    assert.equal(akiOf(await sign(await signBody('p256'))), p256, 'the profile that names EC-P256');
    assert.equal(
      akiOf(await sign(await signBody())),
      akiOf(p384Chain),
      'the default profile names no key type: the newest active issuer',
    );
  });

  test('--name-constraints: the new intermediate carries the ceiling; openssl refuses a leaf outside it', async () => {
    const narrow: SignerConfig = {
      ...config,
      ceiling: { ...config.ceiling, dnsSuffixes: ['internal.test'], ipRanges: ['10.0.0.0/8'] },
    };
    const made = await rotate({
      token,
      store: store(),
      config: narrow,
      baseDir: dir,
      keyType: 'EC-P256',
      mode: 'online-root',
      nameConstraints: true,
      label: 'constrained',
    });
    const text = (await runTool('openssl', ['x509', '-in', made.certFile as string, '-noout', '-text']))
      .stdout;
    assert.match(
      text,
      /X509v3 Name Constraints: critical\s+Permitted:\s+DNS:internal.test\s+IP:10.0.0.0\/255.0.0.0/,
    );
    const issuerDer = pemToDers(readFileSync(made.certFile as string, 'utf8'))[0] as Uint8Array;
    const builder = createLeafBuilder({ certDer: issuerDer, keyType: 'EC-P256' });
    const key = await token.caSigner('constrained');
    const leafFor = async (dns: string) => {
      const tbs = builder.buildTbs({
        serial: randomSerial(),
        spki: (await createSoftwareCaSigner('EC-P256')).spki,
        identifiers: [{ type: 'dns', value: dns }],
        notBefore: new Date(Date.now() - 60_000),
        notAfter: new Date(Date.now() + 3600_000),
        ekus: ['serverAuth'],
        leafKeyType: 'EC-P256',
      });
      return derToPem(builder.assemble(tbs, await key.sign(tbs))) + derToPem(issuerDer);
    };
    await verifyChain(await leafFor('a.internal.test'), dev.rootCertFile);
    await assert.rejects(
      verifyChain(await leafFor('www.example.com'), dev.rootCertFile),
      /permitted subtree violation/,
    );
  });
});
