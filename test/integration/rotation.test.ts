// CA key rotation across processes on one PostgreSQL store and one SoftHSM token: two running
// signers (`edgeca signer serve`) and a third process, the CLI, that runs `edgeca signer rotate`.
// The new key is made by the CLI after both signers logged in; signer A follows on SIGHUP, signer B
// (never signalled) by its periodic read of the store. Both then sign new orders with the new
// issuer; an order signed before keeps its certificate; each issuer has its own CRL, served by
// both; audit-verify checks the checkpoints signed in the HSM, the rotation's among them.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Child } from '../../harness/child.ts';
import { freePort } from '../../harness/ports.ts';
import { NotYet, waitFor } from '../../harness/wait.ts';
import { b64uEncode } from '../../shared/encoding.ts';
import { importRelayPrivateKey, type RelayKey, signRelay } from '../../shared/relay.ts';
import type { DevInit } from '../../signer/bootstrap.ts';
import type { SignerConfig } from '../../signer/config.ts';
import { type PgHarness, skipWithoutPostgres, startPostgres } from '../support/postgres.ts';
import { serveSigner } from '../support/signer-serve.ts';
import { makeCsr } from '../support/signer-service.ts';
import { runTool, splitPemChain, verifyChain } from '../support/tools.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const CLI = join(ROOT, 'bin', 'edgeca.mjs');
const DB = { name: 'edgeca', user: 'edgeca_signer', password: 'rotation-test-password' };
const skip = skipWithoutPostgres();

describe('rotation by a third process under two running signers on PostgreSQL', { skip }, () => {
  let pg: PgHarness;
  let dir: string;
  let init: DevInit;
  let relay: RelayKey;
  const env = () => ({
    ...process.env,
    SOFTHSM2_CONF: init.softhsmConf,
    EDGECA_SIGNER_DATABASE_PASSWORD: DB.password,
  });
  const signers: Record<'a' | 'b', { child?: Child; url: string; config: string }> = {
    a: { url: '', config: '' },
    b: { url: '', config: '' },
  };

  before(async () => {
    pg = await startPostgres();
    await pg.createDatabase(DB.name, { user: DB.user, password: DB.password });
    dir = await mkdtemp(join(tmpdir(), 'edgeca-rotation-'));
    const { initDev } = await import('../../signer/bootstrap.ts');
    init = await initDev({ dir });
    relay = await importRelayPrivateKey(JSON.parse(readFileSync(init.relayKeyFile, 'utf8')));
    const base = JSON.parse(readFileSync(init.signerConfigFile, 'utf8')) as SignerConfig;
    for (const which of ['a', 'b'] as const) {
      const port = await freePort();
      const cfg: SignerConfig = {
        ...base,
        listen: { host: '127.0.0.1', port },
        database: pg.primary.url(DB.name, DB.user),
        // A follows on SIGHUP only; B by reading the store every second.
        issuers: { refreshSeconds: which === 'a' ? 3600 : 1 },
      };
      signers[which].config = join(dir, `signer-${which}.json`);
      signers[which].url = `http://127.0.0.1:${port}`;
      writeFileSync(signers[which].config, JSON.stringify(cfg, null, 2));
    }
    for (const which of ['a', 'b'] as const) {
      const s = signers[which];
      s.child = await serveSigner(`signer ${which}`, s.config, s.url, {
        ...(init.softhsmConf ? { SOFTHSM2_CONF: init.softhsmConf } : {}),
        EDGECA_SIGNER_DATABASE_PASSWORD: DB.password,
      });
    }
  });

  after(async () => {
    for (const s of Object.values(signers)) await s.child?.stop();
    await pg?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  let orders = 0;
  async function body(name = 'rot.example.test') {
    const now = Date.now();
    return {
      op: 'sign' as const,
      orderId: `rot-${++orders}`,
      accountId: 'acct',
      profile: 'default',
      csr: b64uEncode(await makeCsr({ dns: [name] })),
      identifiers: [{ type: 'dns' as const, value: name }],
      notBefore: new Date(now).toISOString(),
      notAfter: new Date(now + 86_400_000).toISOString(),
    };
  }
  const post = async (which: 'a' | 'b', path: string, payload: Parameters<typeof signRelay>[0]) =>
    fetch(`${signers[which].url}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/jose' },
      body: await signRelay(payload, relay),
    });
  async function sign(which: 'a' | 'b', b?: Awaited<ReturnType<typeof body>>): Promise<string> {
    const res = await post(which, '/v1/sign', b ?? (await body()));
    assert.equal(res.status, 200, await res.clone().text());
    return res.text();
  }
  /** The issuer certificate in a chain (its second certificate). */
  const issuerOf = (chain: string) => new X509Certificate(splitPemChain(chain)[1] as string);
  const serialOf = (chain: string) =>
    new X509Certificate(splitPemChain(chain)[0] as string).serialNumber.toLowerCase();
  const cli = (...args: string[]) =>
    runTool(process.execPath, [CLI, 'signer', ...args], { env: env(), cwd: ROOT, timeoutMs: 120_000 });
  const sql = (q: string) => pg.primary.psql(q, DB.name);

  let firstChain = '';
  let firstBody: Awaited<ReturnType<typeof body>>;
  let oldId = '';
  let newId = '';
  let newCertFile = '';

  test('before: both signers issue from the first issuer', async () => {
    firstBody = await body();
    firstChain = await sign('a', firstBody);
    await verifyChain(firstChain, init.rootCertFile);
    assert.equal(issuerOf(await sign('b')).fingerprint256, issuerOf(firstChain).fingerprint256);
    oldId = await sql(`SELECT id FROM issuers WHERE state = 'active'`);
    assert.match(oldId, /^[0-9a-f]{64}$/);
  });

  test('`edgeca signer rotate` in a third process makes the key and activates it', async () => {
    const r = await cli('rotate', '--config', signers.a.config, '--mode', 'online-root');
    assert.equal(r.code, 0, r.stderr);
    const made = JSON.parse(r.stdout) as {
      id: string;
      state: string;
      retired: string[];
      checkpoint: unknown;
      certFile: string;
    };
    newCertFile = made.certFile;
    assert.equal(made.state, 'active');
    assert.deepEqual(made.retired, [oldId]);
    assert.equal(typeof made.checkpoint, 'number');
    newId = made.id;
    assert.equal(await sql(`SELECT state FROM issuers WHERE id = '${oldId}'`), 'retiring');
  });

  test('signer A follows on SIGHUP, signer B by itself; both sign new orders with the new issuer', async () => {
    // A reads the store hourly: until it is told, it keeps the first issuer.
    assert.equal(issuerOf(await sign('a')).fingerprint256, issuerOf(firstChain).fingerprint256);
    process.kill(signers.a.child?.pid as number, 'SIGHUP');
    const follows = (which: 'a' | 'b') =>
      waitFor(
        `signer ${which} signing with the new issuer`,
        async () => {
          const chain = await sign(which);
          const fp = issuerOf(chain).fingerprint256;
          return fp !== issuerOf(firstChain).fingerprint256
            ? chain
            : new NotYet(`still the first issuer (${fp})`);
        },
        { timeoutMs: 15_000 },
      );
    const [atA, atB] = [await follows('a'), await follows('b')];
    for (const chain of [atA, atB]) await verifyChain(chain, init.rootCertFile);
    assert.equal(issuerOf(atA).fingerprint256, issuerOf(atB).fingerprint256, 'the same new issuer');
    assert.match(signers.a.child?.output() ?? '', /"event":"issuers-reloaded"/);
    assert.doesNotMatch(
      signers.b.child?.output() ?? '',
      /"event":"issuers-reloaded"/,
      'B was never signalled',
    );
    assert.match(signers.b.child?.output() ?? '', new RegExp(`"event":"issuer-loaded","issuer":"${newId}"`));
  });

  test('an order signed before keeps its certificate; its revocation is in its own issuer CRL at both signers', async () => {
    assert.equal(await sign('b', firstBody), firstChain, 'a retry after the rotation: the same certificate');
    const serial = serialOf(firstChain);
    const res = await post('b', '/v1/revoke', { op: 'revoke', serial, reason: 4 });
    assert.equal(res.status, 200, await res.clone().text());
    const crl = async (which: 'a' | 'b', query: string) => {
      const r = await fetch(`${signers[which].url}/v1/crl${query}`);
      assert.equal(r.status, 200);
      const f = join(dir, `crl-${which}-${Date.now()}.der`);
      writeFileSync(f, Buffer.from(await r.arrayBuffer()));
      return (await runTool('openssl', ['crl', '-inform', 'DER', '-in', f, '-noout', '-text'])).stdout;
    };
    const listed = new RegExp(`Serial Number: 0*${serial.replace(/^0+/, '')}\\b`, 'i');
    for (const which of ['a', 'b'] as const) {
      assert.match(await crl(which, `?issuer=${oldId}`), listed);
      assert.match(await crl(which, ''), listed, 'the bare CRL URL stays the first issuer');
      assert.doesNotMatch(await crl(which, `?issuer=${newId}`), listed);
    }
    const unknown = await fetch(`${signers.a.url}/v1/crl?issuer=${'0'.repeat(64)}`);
    assert.equal(unknown.status, 404);
    assert.match(
      ((await unknown.json()) as { detail: string }).detail,
      new RegExp(`no issuer ${'0'.repeat(64)}`),
    );
  });

  test('`edgeca signer issuers` lists both; `audit-verify` checks the checkpoints signed in the HSM', async () => {
    const list = await cli('issuers', '--config', signers.b.config);
    assert.equal(list.code, 0, list.stderr);
    const states = Object.fromEntries(
      (JSON.parse(list.stdout) as { id: string; state: string }[]).map((i) => [i.id, i.state]),
    );
    assert.deepEqual(states, { [oldId]: 'retiring', [newId]: 'active' });
    const v = await cli('audit-verify', '--config', signers.b.config);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    const report = JSON.parse(v.stdout) as {
      ok: boolean;
      checkpoints: number;
      newestCheckpoint: { issuer: string };
    };
    assert.equal(report.ok, true);
    assert.ok(report.checkpoints >= 2, `${report.checkpoints} checkpoints`);
    assert.equal(report.newestCheckpoint.issuer, newId);
    assert.equal(
      (await sql(`SELECT COUNT(*) FROM audit_checkpoint WHERE issuer = '${oldId}'`)) !== '0',
      true,
      'the starts signed with the first key',
    );
  });

  test('import-cert refuses a certificate that is no CA, and one for an issuer no longer pending; nothing changes', async () => {
    const r = await cli('import-cert', '--config', signers.a.config, '--cert', init.edgeTlsCertFile);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not a CA certificate/);
    const again = await cli('import-cert', '--config', signers.a.config, '--cert', newCertFile);
    assert.equal(again.code, 1);
    assert.match(again.stderr, new RegExp(`issuer ${newId} is active already`));
    assert.equal(await sql(`SELECT state FROM issuers WHERE id = '${newId}'`), 'active');
    await verifyChain(await sign('a'), init.rootCertFile);
  });
});
