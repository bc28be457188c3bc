// Failover for real (docs/ha.md): a PostgreSQL primary and a hot standby made by `pg_basebackup -R`
// (test/support/postgres.ts, on 127.0.0.1, as the `postgres` user), two signer processes
// (`edgeca signer serve`, one SoftHSM token) on the multi-host URL `…@P1,P2/db?target_session_attrs=
// read-write`, one edge process (Node) with both signer URLs, and four ACME clients issuing all
// along. Then the faults, one after another under that load:
//   1. signer A killed -9 mid-finalize (an intent recorded, not yet completed), started again;
//   2. A killed, then signer B killed -9 mid-finalize while it carries the load, both started again;
//   3. the replication link stalled (the primary's walsender stopped, as a congested or broken
//      network stalls it; EDGECA_HA_REPLICATION_STALL_MS, default 3000, 0 for none), then the
//      primary killed -9 and the standby promoted (asynchronous replication);
//   4. a new standby of the new primary, synchronous replication, the same stall, the new primary
//      killed -9 and that standby promoted.
// Revocations in between. Afterwards: every order is valid, or invalid with a reason; one
// certificate per order at the edge and at the signer, the same serial at both (except where an
// asynchronous failover lost the store's record: measured and printed); the certificate in flight
// at each signer kill carries the serial of the intent the killed signer recorded; the CRL numbers
// the signers served only grew; `edgeca signer audit-verify` passes; every revoked serial is on its
// issuer's CRL. RPO (what each failover lost, read from the old primary as it was left) and RTO (how
// long issuance stalled) are printed, never asserted, except that synchronous replication loses no
// acknowledged certificate.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import { freePort } from '../../harness/ports.ts';
import type { DevInit } from '../../signer/bootstrap.ts';
import type { SignerConfig } from '../../signer/config.ts';
import { type Http01, startHttp01 } from '../conformance/harness.ts';
import { httpsFetch } from '../support/https-fetch.ts';
import { type PgHarness, type PgServer, skipWithoutPostgres, startPostgres } from '../support/postgres.ts';
import { CrashClient } from './client.ts';
import {
  assertClientsServed,
  assertCrlNumbersGrow,
  crlSerials,
  edgeLedger,
  finishOpenOrders,
  libsqlRows,
  normSerial,
  revokeThroughAcme,
  type Service,
  service,
  sleep,
  watchCrls,
} from './ha.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const CLI = join(ROOT, 'bin', 'edgeca.mjs');
const IPS = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];
const DB = { name: 'edgeca', user: 'edgeca_signer', password: 'ha-failover-password' };
/** How long the replication link stalls before the primary is killed (0: no stall). */
const STALL_MS = Number(process.env.EDGECA_HA_REPLICATION_STALL_MS ?? 3000);

const skip = skipWithoutPostgres();

/** The store's record, read from one server over its socket. */
interface StoreState {
  /** order id → serial and status */
  issuance: Map<
    string,
    {
      serial: string;
      status: string;
      issuedAt: number | null;
      revokedAt: number | null;
      /** SHA-256 of the certificate's DER, '' while an intent */
      certHash: string;
    }
  >;
  /** seq → hash: every recorded state change (sign, revoke, crl, refuse, replay) */
  audit: Map<number, { hash: string; event: string }>;
  /** relay jti → its exp (seconds) */
  jtis: Map<string, number>;
  readAt: number;
  /** the order of every `sign` event, in chain order */
  signedOrders: string[];
}

async function readStore(pg: PgServer): Promise<StoreState> {
  const lines = async (sql: string) => (await pg.psql(sql, DB.name)).split('\n').filter(Boolean);
  const issuance: StoreState['issuance'] = new Map();
  for (const l of await lines(
    "SELECT order_id, serial, status, issued_at, revoked_at, COALESCE(encode(sha256(cert_der), 'hex'), '') FROM issuance",
  )) {
    const [orderId, serial, status, issuedAt, revokedAt, certHash] = l.split('|');
    issuance.set(orderId!, {
      serial: normSerial(serial!),
      status: status!,
      issuedAt: issuedAt ? Number(issuedAt) : null,
      revokedAt: revokedAt ? Number(revokedAt) : null,
      certHash: certHash ?? '',
    });
  }
  const audit: StoreState['audit'] = new Map();
  for (const l of await lines('SELECT seq, hash, event FROM audit_log')) {
    const [seq, hash, event] = l.split('|');
    audit.set(Number(seq), { hash: hash!, event: event! });
  }
  const readAt = Date.now();
  const jtis = new Map(
    (await lines('SELECT jti, exp FROM relay_jti')).map((l) => [l.split('|')[0]!, Number(l.split('|')[1])]),
  );
  const signedOrders = (await lines("SELECT details FROM audit_log WHERE event = 'sign' ORDER BY seq")).map(
    (d) => String((JSON.parse(d) as { orderId: unknown }).orderId),
  );
  return { issuance, audit, jtis, readAt, signedOrders };
}

/**
 * What the old primary had committed and the store that took over does not have, by what it
 * means for an order: its record gone, signed again under another serial, its completion gone
 * (the intent is there, the certificate is not), or its to-be-signed certificate signed a second
 * time (same serial, another signature).
 */
function lost(old: StoreState, now: StoreState) {
  const gone: string[] = [];
  const resigned: string[] = [];
  const completionLost: string[] = [];
  const signedTwice: string[] = [];
  for (const [orderId, r] of old.issuance) {
    const n = now.issuance.get(orderId);
    if (!n) gone.push(orderId);
    else if (n.serial !== r.serial) resigned.push(orderId);
    else if (r.status === 'issued' && n.status !== 'issued') completionLost.push(orderId);
    else if (r.status === 'issued' && n.certHash !== r.certHash) signedTwice.push(orderId);
  }
  const audit = [...old.audit].filter(([seq, r]) => now.audit.get(seq)?.hash !== r.hash);
  return {
    orders: [...gone, ...resigned, ...completionLost, ...signedTwice],
    gone,
    resigned,
    completionLost,
    signedTwice,
    auditRows: audit.length,
    signEvents: audit.filter(([, r]) => r.event === 'sign').length,
    // only jtis the store keeps at the later read (it prunes them 120 s after their exp), so that
    // a pruned one is not counted as lost
    jtis: [...old.jtis].filter(([j, exp]) => (exp + 120) * 1000 > now.readAt && !now.jtis.has(j)).length,
  };
}

interface Failover {
  mode: 'async' | 'sync';
  /** when the replication link was stalled (the walsender stopped), or undefined */
  stalledAt?: number;
  killedAt: number;
  promotedAt: number;
  lagBytes: string;
  syncState: string;
  old: StoreState;
}

describe('HA: signers and the PostgreSQL primary killed under load', { skip, timeout: 1_200_000 }, () => {
  let pg: PgHarness;
  let primary: PgServer;
  let standby: PgServer;
  let dir: string;
  let init: DevInit;
  let http: Http01;
  let edgeDbUrl: string;
  let edge: Service;
  const signers: Service[] = [];
  const clients: CrashClient[] = [];
  let load: Promise<void>[] = [];
  let stopLoad = false;
  let crlWatch: ReturnType<typeof watchCrls>;
  const kills: { what: string; at: number; intent?: { orderId: string; serial: string } }[] = [];
  const failovers: Failover[] = [];
  const revoked: string[] = [];
  let poller: ReturnType<typeof postgres> | undefined;
  let signerConfigFile = '';
  let storeUrl = '';
  const loadAtStart = loadavg()[0]!.toFixed(1);

  const signerEnv = () => ({
    ...(process.env as Record<string, string>),
    ...(init.softhsmConf ? { SOFTHSM2_CONF: init.softhsmConf } : {}),
    EDGECA_SIGNER_DATABASE_PASSWORD: DB.password,
  });

  before(async () => {
    pg = await startPostgres();
    primary = pg.primary;
    await pg.createDatabase(DB.name, { user: DB.user, password: DB.password });
    standby = await pg.addStandby();
    storeUrl = `postgres://${DB.user}@127.0.0.1:${primary.port},127.0.0.1:${standby.port}/${DB.name}?target_session_attrs=read-write`;

    dir = await mkdtemp(join(tmpdir(), 'edgeca-ha-failover-'));
    const { initDev } = await import('../../signer/bootstrap.ts');
    init = await initDev({ dir });
    const base = JSON.parse(readFileSync(init.signerConfigFile, 'utf8')) as SignerConfig;
    for (const name of ['a', 'b']) {
      const port = await freePort();
      const file = join(dir, `signer-${name}.json`);
      writeFileSync(
        file,
        JSON.stringify({ ...base, listen: { host: '127.0.0.1', port }, database: storeUrl }),
      );
      if (name === 'a') signerConfigFile = file;
      signers.push(
        service({
          name: `signer ${name.toUpperCase()}`,
          url: `http://127.0.0.1:${port}`,
          command: process.execPath,
          args: [CLI, 'signer', 'serve', '--config', file],
          env: signerEnv(),
          cwd: ROOT,
          healthUrl: `http://127.0.0.1:${port}/v1/health`,
          fetch: (u) => fetch(u, { signal: AbortSignal.timeout(3000) }),
        }),
      );
    }
    // One brings the schema up; then the other.
    for (const s of signers) await s.start();

    http = await startHttp01(IPS);
    const edgePort = await freePort();
    const edgeUrl = `https://127.0.0.1:${edgePort}`;
    edgeDbUrl = `file:${join(dir, 'edge.db')}`;
    const edgeFetch = httpsFetch(init.rootCertFile, 5000);
    edge = service({
      name: 'edge',
      url: edgeUrl,
      command: process.execPath,
      args: [CLI, 'edge', 'serve'],
      env: {
        ...(process.env as Record<string, string>),
        EDGECA_HOST: '127.0.0.1',
        EDGECA_PORT: String(edgePort),
        EDGECA_BASE_URL: edgeUrl,
        EDGECA_TLS_CERT_FILE: init.edgeTlsCertFile,
        EDGECA_TLS_KEY_FILE: init.edgeTlsKeyFile,
        EDGECA_DB_URL: edgeDbUrl,
        EDGECA_SIGNER_URL: signers.map((s) => s.url).join(','),
        EDGECA_RELAY_KEY_FILE: init.relayKeyFile,
        EDGECA_SIGNER_KEY_FILE: init.signerAnswerPublicKeyFile,
        EDGECA_ALLOW_LOOPBACK: 'true',
        EDGECA_HTTP01_PORT: String(http.port),
        // a signer that was down is tried again after 2 s (default 30)
        EDGECA_RELAY_RETRY_AFTER_S: '2',
      },
      cwd: ROOT,
      healthUrl: `${edgeUrl}/directory`,
      fetch: edgeFetch,
    });
    await edge.start();

    const fetchEdge = httpsFetch(init.rootCertFile);
    for (let i = 0; i < IPS.length; i++) {
      const c = new CrashClient(`client-${i}`, fetchEdge, `${edgeUrl}/directory`, http.answers);
      await c.init();
      clients.push(c);
    }
    crlWatch = watchCrls(() => signers.filter((s) => s.running()).map((s) => s.url));
    load = clients.map(async (c, i) => {
      for (let n = 0; n < 1000 && !stopLoad; n++) await c.issueOne(IPS[(i + n) % IPS.length]!);
    });
    poller = postgres(`postgres://postgres@127.0.0.1:${primary.port},127.0.0.1:${standby.port}/${DB.name}`, {
      target_session_attrs: 'primary',
      max: 1,
      connect_timeout: 5,
      onnotice: () => {},
    });
  });

  after(async () => {
    stopLoad = true;
    await poller?.end({ timeout: 1 }).catch(() => {});
    await crlWatch?.stop();
    await edge?.stop();
    for (const s of signers) await s.stop();
    await http?.close();
    await pg?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Certificates the edge has recorded so far. */
  const edgeCertCount = async () =>
    Number((await libsqlRows(edgeDbUrl, 'SELECT COUNT(*) AS n FROM certificates'))[0]?.n ?? 0);

  /** Lets the load run until `more` certificates were added (bounded), so each fault meets it. */
  async function underLoad(more: number, boundMs = 120_000): Promise<void> {
    const from = await edgeCertCount();
    const deadline = Date.now() + boundMs;
    while ((await edgeCertCount()) < from + more) {
      assert.ok(
        Date.now() < deadline,
        `the load made fewer than ${more} certificates in ${boundMs / 1000} s`,
      );
      await sleep(250);
    }
  }

  /**
   * Waits (bounded) until a finalize is in flight at the signers — an intent recorded and not yet
   * completed — and kills `victim` right then. Returns the intent seen.
   */
  async function killMidFinalize(
    victim: Service,
    note = '',
  ): Promise<{ orderId: string; serial: string } | undefined> {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const rows = await poller!<{ order_id: string; serial: string }[]>`
        SELECT order_id, serial FROM issuance WHERE status = 'intent' LIMIT 1`;
      const row = rows[0];
      if (row) {
        const at = Date.now();
        await victim.kill9();
        const intent = { orderId: row.order_id, serial: normSerial(row.serial) };
        kills.push({ what: `${victim.name} mid-finalize${note}`, at, intent });
        return intent;
      }
      await sleep(2);
    }
    const at = Date.now();
    await victim.kill9();
    kills.push({ what: `${victim.name}, no finalize caught in flight${note}`, at });
    return undefined;
  }

  const revokedUrls = new Set<string>();
  /** Revokes the latest certificate not yet revoked of each of the first `n` clients, through ACME. */
  async function revokeSome(n: number): Promise<void> {
    for (const c of clients.slice(0, n)) {
      const got = [...c.record.issued].reverse().find((x) => !revokedUrls.has(x.certUrl));
      if (!got) continue;
      revokedUrls.add(got.certUrl);
      revoked.push(await revokeThroughAcme(c, got));
    }
  }

  test('signer A killed -9 mid-finalize and started again', { timeout: 300_000 }, async () => {
    await underLoad(6);
    await killMidFinalize(signers[0]!);
    await sleep(1000);
    await signers[0]!.start();
    await underLoad(4);
    await revokeSome(2);
  });

  test('signer A killed -9; signer B, carrying the load alone, killed -9 mid-finalize; both started again', {
    timeout: 300_000,
  }, async () => {
    kills.push({ what: 'signer A (B carries the load alone)', at: Date.now() });
    await signers[0]!.kill9();
    await underLoad(3);
    // No signer is left until A is back: A then completes the intent B recorded.
    await killMidFinalize(signers[1]!, ' (A down: no signer until A restarted)');
    await Promise.all([signers[0]!.start(), sleep(1000).then(() => signers[1]!.start())]);
    await underLoad(4);
    await revokeSome(2);
  });

  /**
   * Kills the primary, promotes the standby, and reads the old primary as it was left. First, for
   * STALL_MS, its walsender is stopped (SIGSTOP): the replication link stalls as a congested or
   * broken network would stall it, while the load goes on. Then the primary dies as a machine does:
   * SIGKILL to the postmaster and to the stopped walsender, so nothing more is shipped.
   */
  async function failover(mode: 'async' | 'sync'): Promise<void> {
    const syncState = await primary.psql('SELECT sync_state FROM pg_stat_replication');
    assert.equal(syncState, mode, `the standby replicates ${mode}hronously`);
    await underLoad(6);
    const walsenders = (await primary.psql('SELECT pid FROM pg_stat_replication'))
      .split('\n')
      .filter(Boolean)
      .map(Number);
    const signal = (sig: NodeJS.Signals) => {
      for (const pid of walsenders) {
        try {
          process.kill(pid, sig);
        } catch {
          // gone
        }
      }
    };
    let stalledAt: number | undefined;
    let lagBytes: string;
    let killedAt: number;
    try {
      if (STALL_MS > 0) {
        signal('SIGSTOP');
        stalledAt = Date.now();
        await sleep(STALL_MS);
      }
      lagBytes = await primary.psql(
        'SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) FROM pg_stat_replication',
      );
      killedAt = Date.now();
      await primary.kill9();
    } finally {
      // After the postmaster: a walsender killed first would make it restart the whole server.
      signal('SIGKILL');
    }
    await standby.promote();
    const promotedAt = Date.now();
    // The old primary as the kill left it, over its socket only (no signer can reach it there).
    await primary.start({ socketOnly: true });
    const old = await readStore(primary);
    await primary.stop();
    failovers.push({
      mode,
      ...(stalledAt ? { stalledAt } : {}),
      killedAt,
      promotedAt,
      lagBytes,
      syncState,
      old,
    });
    await underLoad(6);
  }

  test('the primary killed -9, the standby promoted (asynchronous replication)', {
    timeout: 300_000,
  }, async () => {
    await poller?.end({ timeout: 1 });
    poller = undefined;
    await failover('async');
  });

  test('a new standby, synchronous replication; the new primary killed -9, the standby promoted', {
    timeout: 300_000,
  }, async () => {
    // The new standby takes the dead primary's port: the signers' URL names both ports still.
    const promoted = standby;
    const fresh = await pg.addStandby({ of: promoted, port: primary.port });
    primary = promoted;
    standby = fresh;
    await primary.psql("ALTER SYSTEM SET synchronous_standby_names = '*'");
    await primary.psql('SELECT pg_reload_conf()');
    for (let i = 0; i < 100; i++) {
      if ((await primary.psql('SELECT sync_state FROM pg_stat_replication')) === 'sync') break;
      await sleep(100);
    }
    await failover('sync');
    primary = standby;
    await revokeSome(2);
  });

  test('afterwards: every order final, one certificate per order, CRLs, audit chain, RPO and RTO', {
    timeout: 300_000,
  }, async () => {
    stopLoad = true;
    const drainFrom = Date.now();
    await Promise.all(load);
    await crlWatch.stop();
    const finished = await finishOpenOrders(edgeDbUrl, edge.url, clients);
    const store = await readStore(primary);

    const ledger = await edgeLedger(edgeDbUrl);
    const summary = `${ledger.orders.length} orders, ${ledger.certs.length} certificates, retries ${clients.map((c) => c.record.retries).join('/')}, drained in ${Date.now() - drainFrom} ms, ${finished} orders finished by their owner`;
    console.log(
      `# ha-failover: ${summary}; load average ${loadAtStart} at the start, ${loadavg()[0]!.toFixed(1)} now`,
    );

    // What each failover lost: rows the old primary had committed that the store lacks now.
    const losses = failovers.map((f) => ({ f, l: lost(f.old, store) }));
    const lostOrders = new Set(losses.flatMap(({ l }) => l.orders));

    // One certificate per order at the signer too (its issuance row is keyed by the order), one
    // `sign` event per order in the audit log, and the edge and the signer name the same serial —
    // except for an order whose record an asynchronous failover lost (RPO, below).
    assert.equal(new Set(store.signedOrders).size, store.signedOrders.length, 'one sign event per order');
    assert.equal(
      store.signedOrders.length,
      [...store.issuance.values()].filter((r) => r.status === 'issued').length,
      'a sign event for every issued order',
    );
    const acknowledgedLost: { orderId: string; createdAt: number }[] = [];
    for (const c of ledger.certs) {
      const orderId = String(c.order_id);
      const s = store.issuance.get(orderId);
      if (s?.status === 'issued' && s.serial === normSerial(String(c.serial))) continue;
      assert.ok(
        lostOrders.has(orderId),
        `order ${orderId}: the edge and the signer disagree (${JSON.stringify(s)})`,
      );
      acknowledgedLost.push({ orderId, createdAt: Number(c.created_at) });
    }
    const validOrders = new Set(ledger.orders.filter((o) => o.status === 'valid').map((o) => String(o.id)));
    for (const [orderId, s] of store.issuance)
      if (s.status === 'issued')
        assert.ok(validOrders.has(orderId), `order ${orderId}: issued, not valid at the edge`);

    // The finalize in flight at each signer kill was completed with the intent's serial.
    for (const k of kills.filter((x) => x.intent)) {
      const { orderId, serial } = k.intent!;
      if (lostOrders.has(orderId)) continue;
      assert.equal(
        store.issuance.get(orderId)?.serial,
        serial,
        `${k.what}: order ${orderId} kept its intent's serial`,
      );
      assert.equal(ledger.certByOrder.get(orderId), serial, `${k.what}: the edge got that certificate`);
    }
    assert.ok(
      kills.some((k) => k.intent),
      'at least one signer was killed with a finalize in flight',
    );

    // Synchronous replication loses no certificate the signer acknowledged (RPO 0).
    const asyncF = failovers.find((f) => f.mode === 'async')!;
    assert.deepEqual(
      acknowledgedLost.filter((x) => x.createdAt > asyncF.killedAt).map((x) => x.orderId),
      [],
      'synchronous replication lost acknowledged certificates',
    );

    // CRL numbers: what the signers served only grew, per issuer; the store's CRL audit rows too.
    const crl = assertCrlNumbersGrow(crlWatch.seen);
    assert.ok(crl.distinct >= 2, `CRLs were signed during the run (${crl.distinct} seen)`);
    const lastByIssuer = new Map<string, bigint>();
    const crlRows = (
      await primary.psql("SELECT details FROM audit_log WHERE event = 'crl' ORDER BY seq", DB.name)
    )
      .split('\n')
      .filter(Boolean);
    for (const d of crlRows) {
      const { issuer = '', crlNumber } = JSON.parse(d) as { issuer?: string; crlNumber: string };
      const last = lastByIssuer.get(issuer);
      assert.ok(
        last === undefined || BigInt(crlNumber) > last,
        `CRL audit rows of ${issuer}: ${last} then ${crlNumber}`,
      );
      lastByIssuer.set(issuer, BigInt(crlNumber));
    }
    assert.ok(crlRows.length >= 2, 'CRLs are on the audit chain');

    // Every revocation is on record at the edge and the signer, and on its issuer's CRL.
    assert.ok(revoked.length >= 4, `revoked ${revoked.length}`);
    const edgeRevoked = new Set(
      ledger.certs.filter((c) => c.revoked_at != null).map((c) => normSerial(String(c.serial))),
    );
    const signerRevoked = new Set(
      [...store.issuance.values()].filter((r) => r.revokedAt != null).map((r) => r.serial),
    );
    assert.deepEqual(
      [...edgeRevoked].sort(),
      [...new Set(revoked)].sort(),
      'the edge recorded each revocation',
    );
    assert.deepEqual(
      [...signerRevoked].sort(),
      [...edgeRevoked].sort(),
      'the signer recorded each revocation',
    );
    const res = await fetch(`${signers[0]!.url}/v1/crl`);
    assert.equal(res.status, 200);
    const current = await crlSerials(
      new Uint8Array(await res.arrayBuffer()),
      readFileSync(init.issuerCertFile, 'utf8'),
    );
    for (const s of signerRevoked)
      assert.ok(current.serials.has(s), `revoked ${s} is on CRL ${current.number}`);

    // The audit chain verifies, whole, on the store that took over twice.
    const verify = spawnSync(
      process.execPath,
      [CLI, 'signer', 'audit-verify', '--config', signerConfigFile],
      {
        env: { ...process.env, ...signerEnvOnly(), NODE_TEST_CONTEXT: '' },
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    assert.equal(verify.status, 0, `audit-verify: ${verify.stdout} ${verify.stderr}`);

    assertClientsServed(clients, ledger);

    // RPO and RTO, measured here, printed for docs/ha.md.
    const certTimes = ledger.certs
      .map((c) => ({ orderId: String(c.order_id), at: Number(c.created_at) }))
      .sort((a, b) => a.at - b.at);
    /** The first certificate the edge recorded that a signer issued after `t` (both clocks: this machine). */
    const firstIssuedAfter = (t: number) =>
      certTimes.find((c) => c.at > t && (store.issuance.get(c.orderId)?.issuedAt ?? 0) > t)?.at;
    for (const k of kills) {
      const first = firstIssuedAfter(k.at);
      const inFlight = k.intent ? certTimes.find((c) => c.orderId === k.intent!.orderId)?.at : undefined;
      console.log(
        `# ha-failover RTO: kill -9 ${k.what}: next certificate ${first ? `${((first - k.at) / 1000).toFixed(1)} s` : 'none'} later${inFlight ? `; the order in flight completed ${((inFlight - k.at) / 1000).toFixed(1)} s later` : ''}`,
      );
    }
    for (const [i, { f, l }] of losses.entries()) {
      const first = firstIssuedAfter(f.killedAt);
      const lastBefore = certTimes.filter((c) => c.at <= f.killedAt).at(-1)?.at;
      const since = i === 0 ? 0 : losses[i - 1]!.f.killedAt;
      const acked = acknowledgedLost.filter((x) => x.createdAt <= f.killedAt && x.createdAt > since);
      const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
      console.log(
        [
          `# ha-failover ${f.mode} replication${f.stalledAt ? `, link stalled ${s(f.killedAt - f.stalledAt)} before the kill` : ''}:`,
          `kill -9 of the primary → promoted ${s(f.promotedAt - f.killedAt)} later;`,
          `issuance stalled ${lastBefore && first ? s(first - lastBefore) : '?'} (last certificate ${lastBefore ? s(f.killedAt - lastBefore) : '?'} before the kill, first one signed after it ${first ? s(first - f.killedAt) : 'never'} after);`,
          `standby behind by ${f.lagBytes} bytes of WAL at the kill;`,
          `lost: ${l.auditRows} audit rows (${l.signEvents} sign events), ${l.jtis} relay jtis,`,
          `orders: ${l.gone.length} records gone, ${l.resigned.length} signed again under a new serial, ${l.completionLost.length} back to an intent, ${l.signedTwice.length} same serial signed twice;`,
          `certificates the edge holds that the store lost: ${acked.length}`,
        ].join(' '),
      );
    }
  });

  function signerEnvOnly() {
    return {
      ...(init.softhsmConf ? { SOFTHSM2_CONF: init.softhsmConf } : {}),
      EDGECA_SIGNER_DATABASE_PASSWORD: DB.password,
    };
  }
});
