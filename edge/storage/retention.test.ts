// The purge of expired rows on a real libSQL file (the in-process edge's database): what is past
// its retention goes, with what hangs off it (an event's webhook deliveries too); what is inside
// it, live or processing stays; each statement deletes at most one batch; a run stops at its time
// budget and the next goes on.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type InprocEdge, startInprocEdge } from '../../test/support/edge-app.ts';
import { runPurge } from '../acme/purge-job.ts';
import { DEFAULT_RETENTION, purgeExpired, purgeSteps } from './retention.ts';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 0, 15);

type Exec = (sql: string, args?: (string | number | null)[]) => Promise<void>;

function execOf(edge: InprocEdge): Exec {
  const client = edge.svc.database.client;
  if (!client) throw new Error('the in-process edge has a libSQL client');
  return async (sql, args = []) => void (await client.execute({ sql, args }));
}

async function ids(edge: InprocEdge, table: string, column = 'id'): Promise<string[]> {
  const client = edge.svc.database.client!;
  const r = await client.execute(`SELECT ${column} AS v FROM ${table} ORDER BY ${column}`);
  return r.rows.map((x) => String(x.v));
}

async function order(exec: Exec, id: string, status: string, expiresAt: number, certificateId?: string) {
  await exec(
    `INSERT INTO orders (id, account_id, status, identifiers, authz_ids, profile, expires_at, certificate_id, created_at)
     VALUES (?, 'acct', ?, '[]', '[]', 'default', ?, ?, ?)`,
    [id, status, expiresAt, certificateId ?? null, expiresAt - DAY],
  );
}

async function authz(exec: Exec, id: string, expiresAt: number) {
  await exec(
    `INSERT INTO authorizations (id, account_id, identifier_type, identifier_value, status, expires_at, created_at)
     VALUES (?, 'acct', 'dns', ?, 'valid', ?, ?)`,
    [id, `${id}.test`, expiresAt, expiresAt - DAY],
  );
  await exec(
    `INSERT INTO challenges (id, authz_id, type, token, status) VALUES (?, ?, 'http-01', 'tok', 'valid')`,
    [`${id}-ch`, id],
  );
  await exec(
    `INSERT INTO preauthorizations (authz_id, account_id, eab_kid, identifier_type, identifier_value, created_at)
     VALUES (?, 'acct', 'kid', 'dns', ?, 0)`,
    [id, `${id}.test`],
  );
}

async function certificate(exec: Exec, id: string, notAfter: number, revoked = false) {
  await order(exec, `${id}-order`, 'valid', notAfter, id);
  await exec(
    `INSERT INTO certificates (id, order_id, account_id, serial, chain_pem, spki_sha256, identifiers, not_before,
       not_after, revoked_at, revocation_reason, created_at)
     VALUES (?, ?, 'acct', ?, '-', 'spki', '[]', ?, ?, ?, ?, ?)`,
    [
      id,
      `${id}-order`,
      `serial-${id}`,
      notAfter - DAY,
      notAfter,
      revoked ? notAfter - DAY : null,
      revoked ? 1 : null,
      notAfter - DAY,
    ],
  );
  await exec(`INSERT INTO renewal_info (certificate_id, cert_id, serial, updated_at) VALUES (?, ?, ?, 0)`, [
    id,
    `certid-${id}`,
    `serial-${id}`,
  ]);
}

describe('purge of expired rows (libSQL file)', () => {
  let edge: InprocEdge;
  before(async () => {
    edge = await startInprocEdge({ config: { sqlStatementMetrics: true } });
    const exec = execOf(edge);
    // orders that never produced a certificate
    await order(exec, 'o-pending-old', 'pending', NOW - 8 * DAY);
    await order(exec, 'o-invalid-old', 'invalid', NOW - 30 * DAY);
    await order(exec, 'o-ready-recent', 'ready', NOW - 6 * DAY);
    await order(exec, 'o-live', 'pending', NOW + DAY);
    await order(exec, 'o-processing-old', 'processing', NOW - 30 * DAY);
    // authorizations with their challenge and pre-authorization mark
    await authz(exec, 'z-old', NOW - 8 * DAY);
    await authz(exec, 'z-recent', NOW - 6 * DAY);
    await authz(exec, 'z-live', NOW + DAY);
    // certificates with the order that produced them and their renewal-information row
    await certificate(exec, 'c-old', NOW - 91 * DAY);
    await certificate(exec, 'c-old-revoked', NOW - 100 * DAY, true);
    await certificate(exec, 'c-recent', NOW - 89 * DAY);
    await certificate(exec, 'c-live-revoked', NOW + 10 * DAY, true);
    // an order that replaced a certificate about to be purged keeps its reference text
    await exec(`UPDATE orders SET replaces = 'certid-c-old' WHERE id = 'c-recent-order'`);
    await exec(`INSERT INTO nonces (value, expires_at) VALUES ('n-old', ?), ('n-live', ?)`, [
      NOW - 1,
      NOW + 60_000,
    ]);
    await exec(`INSERT INTO rate_buckets (key, tat) VALUES ('b-full', ?), ('b-draining', ?)`, [
      NOW - 1,
      NOW + 60_000,
    ]);
    for (const [i, at] of [NOW - 400 * DAY, NOW - 366 * DAY, NOW - 10 * DAY].entries())
      await exec(`INSERT INTO admin_changes (at, token_id, action, target) VALUES (?, 'cli', 'test', ?)`, [
        at,
        `change-${i}`,
      ]);
    // events with their webhook deliveries, delivered or not
    for (const [id, at] of [
      ['ev-old', NOW - 31 * DAY],
      ['ev-recent', NOW - 29 * DAY],
    ] as const) {
      await exec(`INSERT INTO events (id, type, at, data) VALUES (?, 'certificate.issued', ?, '{}')`, [
        id,
        at,
      ]);
      for (const [endpoint, status] of [
        ['wh-1', 'delivered'],
        ['wh-2', 'pending'],
      ] as const)
        await exec(
          `INSERT INTO webhook_deliveries (endpoint_id, event_seq, event_id, status, next_at, created_at)
           SELECT ?, seq, id, ?, ?, ? FROM events WHERE id = ?`,
          [endpoint, status, at, at, id],
        );
    }
  });
  after(() => edge.close());

  test('rows past their retention go, with what hangs off them; rows inside it, live and processing stay', async () => {
    const run = await purgeExpired(edge.svc.database.db, purgeSteps(DEFAULT_RETENTION), { now: NOW });
    assert.equal(run.unfinished, false);
    assert.deepEqual(await ids(edge, 'orders'), [
      'c-live-revoked-order',
      'c-recent-order',
      'o-live',
      'o-processing-old',
      'o-ready-recent',
    ]);
    assert.deepEqual(await ids(edge, 'authorizations'), ['z-live', 'z-recent']);
    assert.deepEqual(await ids(edge, 'challenges'), ['z-live-ch', 'z-recent-ch']);
    assert.deepEqual(await ids(edge, 'preauthorizations', 'authz_id'), ['z-live', 'z-recent']);
    assert.deepEqual(await ids(edge, 'certificates'), ['c-live-revoked', 'c-recent']);
    assert.deepEqual(await ids(edge, 'renewal_info', 'certificate_id'), ['c-live-revoked', 'c-recent']);
    assert.deepEqual(await ids(edge, 'nonces', 'value'), ['n-live']);
    assert.deepEqual(await ids(edge, 'rate_buckets', 'key'), ['b-draining']);
    assert.deepEqual(await ids(edge, 'admin_changes', 'target'), ['change-2']);
    assert.deepEqual(await ids(edge, 'events'), ['ev-recent']);
    assert.deepEqual(await ids(edge, 'webhook_deliveries', 'event_id'), ['ev-recent', 'ev-recent']);
    assert.deepEqual(run.counts, {
      orders: 4,
      authorizations: 1,
      challenges: 1,
      preauthorizations: 1,
      certificates: 2,
      renewal_info: 2,
      nonces: 1,
      rate_buckets: 1,
      admin_changes: 2,
      events: 1,
      webhook_deliveries: 2,
    });
    const replacing = await edge.svc.orders.get('c-recent-order');
    assert.equal(replacing?.replaces, 'certid-c-old', 'the replacing order is untouched');
  });

  test('a revoked certificate stays until its notAfter even with no retention past expiry', async () => {
    const exec = execOf(edge);
    await certificate(exec, 'c-revoked-unexpired', NOW + 1000, true);
    await purgeExpired(edge.svc.database.db, purgeSteps({ ...DEFAULT_RETENTION, certificateDays: 0 }), {
      now: NOW,
    });
    const left = await ids(edge, 'certificates');
    assert.ok(left.includes('c-revoked-unexpired'));
    assert.ok(!left.includes('c-recent'), 'an expired one goes with retention 0');
  });

  test('each statement deletes at most one batch; a run stops at its budget and the next goes on', async () => {
    const exec = execOf(edge);
    await exec(
      `INSERT INTO nonces (value, expires_at)
       WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 1199) SELECT 'bulk-' || i, ? FROM n`,
      [NOW - 1000],
    );
    const deletes = () => edge.svc.database.statements?.snapshot().get('delete nonces') ?? 0;
    const steps = purgeSteps(DEFAULT_RETENTION);
    const perStep: number[] = [];
    const counted = steps.map((s) =>
      s.name === 'nonces'
        ? {
            ...s,
            run: async (...a: Parameters<typeof s.run>) => {
              const r = await s.run(...a);
              perStep.push(r.counts.nonces ?? 0);
              return r;
            },
          }
        : s,
    );
    // a clock that moves 1 s per look: the 2.5 s budget allows the first pass over the steps only
    let t = 0;
    const before = deletes();
    const first = await purgeExpired(edge.svc.database.db, counted, {
      now: NOW,
      batch: 500,
      budgetMs: 2500,
      clock: () => (t += 1000),
    });
    assert.equal(first.unfinished, true);
    assert.ok(
      perStep.length >= 1 && perStep.length < 3,
      `one or two nonce batches in the first run: ${perStep}`,
    );
    const second = await purgeExpired(edge.svc.database.db, counted, { now: NOW, batch: 500 });
    assert.equal(second.unfinished, false);
    assert.deepEqual(perStep.slice(0, 3), [500, 500, 200]);
    assert.ok(perStep.every((n) => n <= 500));
    assert.equal(deletes() - before, perStep.length, 'one DELETE statement per batch');
    assert.deepEqual(await ids(edge, 'nonces', 'value'), ['n-live']);
  });

  test('a run counts what it purged in /metrics and logs one line', async () => {
    const lines: Record<string, unknown>[] = [];
    edge.svc.log = (e) => lines.push(e);
    await execOf(edge)('DELETE FROM nonces');
    await execOf(edge)(`INSERT INTO nonces (value, expires_at) VALUES ('n-metrics', 1)`);
    await runPurge(edge.svc, { trigger: 'test' });
    const purgeLines = lines.filter((l) => l.event === 'purge');
    assert.equal(purgeLines.length, 1);
    assert.equal((purgeLines[0]?.purged as Record<string, number> | undefined)?.nonces, 1);
    const metrics = await (await edge.app.request('https://acme.test:14000/metrics')).text();
    assert.match(metrics, /edgeca_purged_rows_total\{table="nonces"\} 1\b/);
  });
});
