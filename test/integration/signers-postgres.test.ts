// N signers, one CA: two real signer processes (`edgeca signer serve`, as an operator runs them)
// on the same SoftHSM token and the same PostgreSQL store (a throwaway server on 127.0.0.1,
// test/support/postgres.ts). Whichever signer a request reaches: one certificate per order, a jti
// used once anywhere, one audit chain, CRL numbers that only grow, unique serials. Then the
// failures: an unreachable store at start, a store outage under running signers, and a restore of
// the store from a backup taken earlier (docs/ha.md, "Backup and restore").
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Child } from '../../harness/child.ts';
import { freePort } from '../../harness/ports.ts';
import { httpAnswers, waitFor } from '../../harness/wait.ts';
import { postgresBinDir } from '../../scripts/lib/ensure.ts';
import { fromHex, pemToDers } from '../../shared/encoding.ts';
import { importRelayPrivateKey, type RelayKey, signRelay } from '../../shared/relay.ts';
import type { DevInit } from '../../signer/bootstrap.ts';
import { HsmUnavailableError } from '../../signer/ca-signer.ts';
import type { SignerConfig } from '../../signer/config.ts';
import { type RunningSigner, startSigner } from '../../signer/server.ts';
import { issuerId, loadCertTools } from '../../signer/service/tools.ts';
import { type PgHarness, skipWithoutPostgres, startPostgres } from '../support/postgres.ts';
import { fetchSignerCrl, listed, revokeBody, serialOf, signBody } from '../support/signer-relay.ts';
import { serveSigner } from '../support/signer-serve.ts';
import { softCa, softTools, testConfig, writeAnswerKey } from '../support/signer-service.ts';
import { runTool, verifyChain } from '../support/tools.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const CLI = join(ROOT, 'bin', 'edgeca.mjs');
const DB = { name: 'edgeca', user: 'edgeca_signer', password: 'ha-test-password' };

const skip = skipWithoutPostgres();

describe('two signers on one PostgreSQL store and one HSM token', { skip }, () => {
  let pg: PgHarness;
  let dir: string;
  let init: DevInit;
  let relayKey: RelayKey;
  let base: SignerConfig;
  const signers: Record<
    'a' | 'b',
    { child?: Child; url: string; config: string; env: Record<string, string> }
  > = {
    a: { url: '', config: '', env: {} },
    b: { url: '', config: '', env: {} },
  };

  /** Starts signer `which` as a child process and waits until it answers /v1/health. */
  async function start(which: 'a' | 'b'): Promise<void> {
    const s = signers[which];
    s.child = await serveSigner(`signer ${which}`, s.config, s.url, {
      ...(init.softhsmConf ? { SOFTHSM2_CONF: init.softhsmConf } : {}),
      ...s.env,
    });
  }

  before(async () => {
    pg = await startPostgres();
    await pg.createDatabase(DB.name, { user: DB.user, password: DB.password });
    dir = await mkdtemp(join(tmpdir(), 'edgeca-ha-'));
    const { initDev } = await import('../../signer/bootstrap.ts');
    init = await initDev({ dir });
    relayKey = await importRelayPrivateKey(JSON.parse(readFileSync(init.relayKeyFile, 'utf8')));
    base = JSON.parse(readFileSync(init.signerConfigFile, 'utf8')) as SignerConfig;
    const database = pg.primary.url(DB.name, DB.user);
    // Signer A reads the store password from a 0600 file, signer B from the environment.
    writeFileSync(join(dir, 'db-password'), `${DB.password}\n`, { mode: 0o600 });
    for (const which of ['a', 'b'] as const) {
      const port = await freePort();
      const cfg: SignerConfig = {
        ...base,
        listen: { host: '127.0.0.1', port },
        database,
        ...(which === 'a' ? { databasePasswordFile: 'db-password' } : {}),
      };
      signers[which].config = join(dir, `signer-${which}.json`);
      signers[which].url = `http://127.0.0.1:${port}`;
      signers[which].env = which === 'b' ? { EDGECA_SIGNER_DATABASE_PASSWORD: DB.password } : {};
      writeFileSync(signers[which].config, JSON.stringify(cfg, null, 2));
    }
    await Promise.all([start('a'), start('b')]);
  });

  after(async () => {
    for (const s of Object.values(signers)) await s.child?.stop();
    await pg?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const postJws = (url: string, path: string, jws: string) =>
    fetch(`${url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/jose' }, body: jws });
  /** A fresh relay request (new jti) to one signer. */
  const post = async (which: 'a' | 'b', path: string, body: Parameters<typeof signRelay>[0]) =>
    postJws(signers[which].url, path, await signRelay(body, relayKey));

  const fetchCrl = (which: 'a' | 'b') => fetchSignerCrl(signers[which].url, dir, init.issuerCertFile);

  const sql = (q: string) => pg.primary.psql(q, DB.name);

  test('a signer whose store is unreachable at start says so in one line and exits non-zero', async () => {
    const cfg = {
      ...base,
      listen: { host: '127.0.0.1', port: 0 },
      database: `postgres://${DB.user}@127.0.0.1:1/${DB.name}`,
    };
    const file = join(dir, 'signer-unreachable.json');
    writeFileSync(file, JSON.stringify(cfg));
    const r = await runTool(process.execPath, [CLI, 'signer', 'serve', '--config', file], {
      env: { ...process.env, SOFTHSM2_CONF: init.softhsmConf, EDGECA_SIGNER_DATABASE_PASSWORD: 'x' },
      timeoutMs: 60_000,
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^edgeca signer serve: cannot connect to the signer's store postgres:\/\/.*ECONNREFUSED.*\n$/,
    );
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  });

  test('a signer refuses a store URL with a password in it, before connecting', async () => {
    const cfg = {
      ...base,
      database: `postgres://${DB.user}:${DB.password}@127.0.0.1:${pg.primary.port}/${DB.name}`,
    };
    const file = join(dir, 'signer-password-in-url.json');
    writeFileSync(file, JSON.stringify(cfg));
    const r = await runTool(process.execPath, [CLI, 'signer', 'serve', '--config', file], {
      env: { ...process.env, SOFTHSM2_CONF: init.softhsmConf },
      timeoutMs: 60_000,
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /contains a password.*EDGECA_SIGNER_DATABASE_PASSWORD/);
    assert.doesNotMatch(r.stderr, new RegExp(DB.password));
  });

  let firstChain = '';
  test('a retry at signer B returns the certificate signer A issued; a jti used at A is refused at B', async () => {
    const body = await signBody();
    const jws = await signRelay(body, relayKey);
    const atA = await postJws(signers.a.url, '/v1/sign', jws);
    assert.equal(atA.status, 200, await atA.clone().text());
    firstChain = await atA.text();
    await verifyChain(firstChain, init.rootCertFile);
    const retry = await post('b', '/v1/sign', body);
    assert.equal(retry.status, 200);
    assert.equal(await retry.text(), firstChain, 'B answered with A certificate');
    const replay = await postJws(signers.b.url, '/v1/sign', jws);
    assert.equal(replay.status, 403);
    assert.match(((await replay.json()) as { detail: string }).detail, /replayed/);
    assert.equal(await sql(`SELECT COUNT(*) FROM issuance WHERE order_id = '${body.orderId}'`), '1');
  });

  const issued: string[] = [];
  test('orders spread over both signers get distinct serials and chains that verify', async () => {
    const chains = await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const res = await post(i % 2 ? 'a' : 'b', '/v1/sign', await signBody(`n${i}.example.test`));
        assert.equal(res.status, 200);
        return res.text();
      }),
    );
    for (const c of chains) await verifyChain(c, init.rootCertFile);
    issued.push(...(await Promise.all(chains.map(serialOf))));
    assert.equal(new Set(issued).size, 12);
  });

  test('a serial another signer already used is drawn again, not answered with an error', async () => {
    // Signer D, in this process, on the real token: its first random serial is one signer A or B
    // issued; the unique serial refuses the intent and D draws a fresh one.
    const cfg: SignerConfig = JSON.parse(readFileSync(signers.a.config, 'utf8'));
    const [issuerDer] = pemToDers(readFileSync(init.issuerCertFile, 'utf8'));
    if (!issuerDer) throw new Error('no issuer certificate');
    const tools = await loadCertTools(cfg, issuerDer);
    const taken = issued[1] ?? '';
    let draws = 0;
    const d = await startSigner({
      config: { ...cfg, listen: { host: '127.0.0.1', port: 0 } },
      baseDir: dir,
      deps: {
        tools: {
          ...tools,
          randomSerial: () =>
            draws++ === 0 ? fromHex(taken.length % 2 ? `0${taken}` : taken) : tools.randomSerial(),
        },
        log: () => {},
      },
    });
    try {
      const res = await postJws(
        d.url,
        '/v1/sign',
        await signRelay(await signBody('clash.example.test'), relayKey),
      );
      assert.equal(res.status, 200, await res.clone().text());
      assert.equal(draws, 2);
      const serial = await serialOf(await res.text());
      assert.notEqual(serial, taken);
      assert.equal(await sql(`SELECT COUNT(*) FROM issuance WHERE serial = '${taken}'`), '1');
    } finally {
      await d.close();
    }
  });

  test('an intent a signer recorded before its HSM failed is signed by the other signer, same serial', async () => {
    // Signer C, in this process: the same store and issuer, an HSM that fails on every signature,
    // so it stops between "intent recorded" and "signed" as a signer dying there would.
    const [issuerDer] = pemToDers(readFileSync(init.issuerCertFile, 'utf8'));
    if (!issuerDer) throw new Error('no issuer certificate');
    const { X509Certificate } = await import('@peculiar/x509');
    const cfg: SignerConfig = JSON.parse(readFileSync(signers.a.config, 'utf8'));
    const c: RunningSigner = await startSigner({
      config: { ...cfg, listen: { host: '127.0.0.1', port: 0 } },
      baseDir: dir,
      deps: {
        signer: {
          keyType: base.ca.keyType,
          spki: new Uint8Array(new X509Certificate(issuerDer as BufferSource).publicKey.rawData),
          sign: async () => {
            throw new HsmUnavailableError('test: the HSM went away after the intent');
          },
        },
        tools: await loadCertTools(cfg, issuerDer),
        log: () => {},
      },
    });
    try {
      const body = await signBody('intent.example.test');
      const atC = await postJws(c.url, '/v1/sign', await signRelay(body, relayKey));
      assert.equal(atC.status, 503);
      assert.ok(atC.headers.get('retry-after'));
      const recorded = await sql(
        `SELECT serial, status, issuer FROM issuance WHERE order_id = '${body.orderId}'`,
      );
      const [serial, status, issuer] = recorded.split('|');
      assert.equal(status, 'intent');
      assert.equal(issuer, issuerId(issuerDer));
      const atB = await post('b', '/v1/sign', body);
      assert.equal(atB.status, 200);
      const chain = await atB.text();
      await verifyChain(chain, init.rootCertFile);
      assert.equal(await serialOf(chain), serial);
    } finally {
      await c.close();
    }
  });

  test('CRL numbers grow whichever signer signs, and both serve the newest CRL', async () => {
    const first = await serialOf(firstChain);
    const r1 = await post('a', '/v1/revoke', revokeBody(first));
    assert.equal(r1.status, 200, await r1.clone().text());
    const n1 = BigInt(((await r1.json()) as { crlNumber: string }).crlNumber);
    const second = issued[0] ?? '';
    const r2 = await post('b', '/v1/revoke', revokeBody(second, 4));
    assert.equal(r2.status, 200, await r2.clone().text());
    const n2 = BigInt(((await r2.json()) as { crlNumber: string }).crlNumber);
    assert.ok(n2 > n1, `${n2} > ${n1}`);
    const [atA, atB] = [await fetchCrl('a'), await fetchCrl('b')];
    assert.deepEqual(Buffer.from(atA.der), Buffer.from(atB.der), 'one CRL, whoever serves it');
    assert.equal(atA.number, n2);
    for (const s of [first, second]) assert.match(atA.text, listed(s));
    const again = await post('a', '/v1/revoke', revokeBody(second));
    assert.equal(again.status, 400, 'revoked at B, known as revoked at A');
  });

  test('audit-verify checks the one chain both signers wrote', async () => {
    const r = await runTool(process.execPath, [CLI, 'signer', 'audit-verify', '--config', signers.b.config], {
      env: { ...process.env, EDGECA_SIGNER_DATABASE_PASSWORD: DB.password },
    });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { ok: boolean; rows: number };
    assert.equal(out.ok, true);
    assert.equal(String(out.rows), await sql('SELECT COUNT(*) FROM audit_log'));
    assert.ok(out.rows >= 17, `${out.rows} rows`);
  });

  /** The root of signer E's second issuer: its signed audit checkpoints chain to it. */
  let softRootPem = '';
  test('a store outage: 503 with Retry-After and nothing signed, then both signers recover by themselves', async () => {
    // Signer E, in this process, with a second issuer (a software CA whose signatures are counted)
    // on the same store: it shows the HSM is never asked while the intent cannot be recorded.
    const soft = await softCa();
    softRootPem = soft.rootPem;
    mkdirSync(join(dir, 'soft'));
    writeFileSync(join(dir, 'soft', 'issuer.pem'), soft.issuerPem);
    await writeAnswerKey(join(dir, 'soft'));
    const e = await startSigner({
      config: {
        ...testConfig(base.edgeKeys, pg.primary.url(DB.name, DB.user)),
        databasePasswordFile: '../db-password',
      },
      baseDir: join(dir, 'soft'),
      deps: { signer: soft.signer, tools: await softTools(soft.issuerDer, soft.signer.spki), log: () => {} },
    });
    try {
      const eBody = { ...(await signBody('outage.internal.test')) };
      await pg.primary.stop();
      const body = await signBody('outage.example.test');
      const down = await post('a', '/v1/sign', body);
      assert.equal(down.status, 503, await down.clone().text());
      assert.ok(Number(down.headers.get('retry-after')) > 0);
      assert.equal((await fetch(`${signers.b.url}/ready`)).status, 503);
      const signaturesBefore = soft.signer.calls;
      const eDown = await postJws(e.url, '/v1/sign', await signRelay(eBody, relayKey));
      assert.equal(eDown.status, 503);
      assert.equal(soft.signer.calls, signaturesBefore, 'nothing signed while the intent cannot be recorded');
      await pg.primary.start();
      await outageOver(body);
      const eBack = await postJws(e.url, '/v1/sign', await signRelay(eBody, relayKey));
      assert.equal(eBack.status, 200, await eBack.clone().text());
      assert.equal(soft.signer.calls, signaturesBefore + 1);
      const issuers = await sql(`SELECT COUNT(DISTINCT issuer) FROM issuance`);
      assert.equal(issuers, '2', 'two issuers share the store');
    } finally {
      await e.close();
    }
  });

  async function outageOver(body: Awaited<ReturnType<typeof signBody>>): Promise<void> {
    for (const which of ['a', 'b'] as const) {
      const url = `${signers[which].url}/ready`;
      await waitFor(`signer ${which} ready again`, httpAnswers(url), { timeoutMs: 10_000 }).then((r) =>
        r.body?.cancel(),
      );
    }
    const retry = await post('a', '/v1/sign', body);
    assert.equal(retry.status, 200);
    assert.equal(await sql(`SELECT COUNT(*) FROM issuance WHERE order_id = '${body.orderId}'`), '1');
    assert.equal(
      await sql(`SELECT COUNT(*) FROM audit_log WHERE event = 'sign' AND details LIKE '%${body.orderId}"%'`),
      '1',
    );
    const log = signers.a.child?.output() ?? '';
    assert.match(log, /"event":"store-unavailable"/);
    assert.match(log, /"event":"store-reachable"/);
  }

  test('restored from an earlier backup: CRL numbers still grow; what came after the backup is gone', async () => {
    const dump = join(dir, 'store.dump');
    const pgTool = async (name: string, args: string[]) => {
      const r = await runTool(
        join(postgresBinDir() ?? '', name),
        ['-h', '127.0.0.1', '-p', String(pg.primary.port), '-U', 'postgres', ...args],
        { timeoutMs: 120_000 },
      );
      assert.equal(r.code, 0, r.stderr);
    };
    await pgTool('pg_dump', ['-Fc', '-f', dump, DB.name]);
    const auditAtBackup = Number(await sql('SELECT COUNT(*) FROM audit_log'));

    // After the backup: a certificate issued and revoked, and a CRL that lists it.
    const later = await signBody('after-backup.example.test');
    const laterRes = await post('a', '/v1/sign', later);
    assert.equal(laterRes.status, 200);
    const laterSerial = await serialOf(await laterRes.text());
    assert.equal((await post('a', '/v1/revoke', revokeBody(laterSerial))).status, 200);
    const published = (await fetchCrl('b')).number;

    // The drill: stop every signer, restore, start them again.
    await Promise.all([signers.a.child?.stop(), signers.b.child?.stop()]);
    await pg.primary.psql(`DROP DATABASE ${DB.name} WITH (FORCE)`);
    await pg.primary.psql(`CREATE DATABASE ${DB.name} OWNER ${DB.user}`);
    await pgTool('pg_restore', ['--no-owner', '--role', DB.user, '-d', DB.name, dump]);
    await Promise.all([start('a'), start('b')]);

    const crl = await fetchCrl('a');
    assert.ok(
      crl.number > published,
      `the CRL after the restore (${crl.number}) must be above the last one published (${published})`,
    );
    assert.match(crl.text, listed(await serialOf(firstChain)), 'revoked before the backup: still listed');
    assert.doesNotMatch(crl.text, listed(laterSerial), 'revoked after the backup: lost');
    // The store no longer knows the certificate issued after the backup: it cannot be revoked
    // until it is on record again (docs/ha.md), and a retry of its order signs a new one.
    assert.equal((await post('b', '/v1/revoke', revokeBody(laterSerial))).status, 404);
    const again = await post('b', '/v1/sign', later);
    assert.equal(again.status, 200);
    assert.notEqual(await serialOf(await again.text()), laterSerial);
    // Signer E's issuer has its own root: audit-verify needs both roots to check every checkpoint.
    const roots = join(dir, 'roots.pem');
    writeFileSync(roots, readFileSync(init.rootCertFile, 'utf8') + softRootPem);
    const verify = await runTool(
      process.execPath,
      [CLI, 'signer', 'audit-verify', '--config', signers.a.config, '--root', roots],
      {
        env: process.env,
      },
    );
    assert.equal(verify.code, 0, verify.stderr);
    assert.ok((JSON.parse(verify.stdout) as { rows: number }).rows > auditAtBackup);
  });
});
