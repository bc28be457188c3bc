// The edge's metrics, one set per edge (a member of its services, edge/services.ts). Counters move
// where things happen (requests, validations, orders reaching a final status, relay calls); gauges
// that describe the shared state (orders by status, certificates, used-nonce table size, expiring
// certificates not yet replaced, webhook deliveries) are read from the database at scrape time, so
// every instance reports the same totals for them.
import { count, gt, isNotNull, isNull, sql } from 'drizzle-orm';
import { exportStatementCounts, Registry, secondsSince } from '../shared/metrics.ts';
import type { PeerSnapshot } from './relay/peers.ts';
import type { SignerClient } from './relay/signer-client.ts';
import type { Database } from './storage/db.ts';
import { certificates, nonces, orders } from './storage/schema.ts';

export function createEdgeMetrics(database: Database) {
  const registry = new Registry();
  const m = {
    registry,
    requests: registry.counter('edgeca_http_requests_total', 'HTTP requests answered, by route and status.', [
      'method',
      'route',
      'status',
    ]),
    requestSeconds: registry.histogram(
      'edgeca_http_request_duration_seconds',
      'Time to answer an HTTP request, by route.',
      ['route'],
    ),
    problems: registry.counter(
      'edgeca_acme_problems_total',
      'Problem documents answered, by ACME error type.',
      ['type'],
    ),
    rateLimited: registry.counter(
      'edgeca_rate_limit_refusals_total',
      'Requests refused with rateLimited, by the limit that refused them.',
      ['limit'],
    ),
    ordersFinished: registry.counter(
      'edgeca_orders_finished_total',
      'Orders that reached a final status here, by status and reason (issued, authorization, expired, profile, signer-refused).',
      ['status', 'reason'],
    ),
    validations: registry.counter(
      'edgeca_validations_total',
      'Challenge validations finished, by challenge type and result.',
      ['type', 'result'],
    ),
    issuanceSeconds: registry.histogram(
      'edgeca_issuance_duration_seconds',
      'From newOrder to the certificate stored (validation and relay included).',
      [],
      [1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600],
    ),
    relaySeconds: registry.histogram(
      'edgeca_relay_duration_seconds',
      'Calls to the signer over the relay, by operation and outcome.',
      ['op', 'outcome'],
    ),
    relayAttempts: registry.counter(
      'edgeca_relay_attempts_total',
      'Attempts at one on-prem peer (signer or validator, by index), by operation and outcome: answered, refused (a signed refusal), unreachable, timeout, http-error, bad-answer (not signed by a pinned key, or not for this request).',
      ['service', 'peer', 'op', 'outcome'],
    ),
    relayPeerUp: registry.gauge(
      'edgeca_relay_peer_up',
      'Whether each on-prem peer (by index) is in use (1) or skipped after a failure (0).',
      ['service', 'peer'],
    ),
    ordersByStatus: registry.gauge('edgeca_orders', 'Orders in the database, by status.', ['status']),
    certificatesByState: registry.gauge('edgeca_certificates', 'Certificates in the database, by state.', [
      'state',
    ]),
    purgedRows: registry.counter(
      'edgeca_purged_rows_total',
      'Rows deleted by the purge of expired data (edge/storage/retention.ts), by table.',
      ['table'],
    ),
    nonceTable: registry.gauge(
      'edgeca_nonces_used',
      'Used nonces remembered until they expire (table size).',
    ),
  };
  // EDGECA_SQL_STATEMENT_METRICS: the storage layer counts; the counter shows its totals.
  const statements = database.statements;
  if (statements) exportStatementCounts(registry, 'edgeca_sql_statements_total', statements);
  const events = eventGauges(registry, database);
  registry.collect(async () => {
    const db = database.db;
    const byStatus = await db
      .select({ status: orders.status, n: count() })
      .from(orders)
      .groupBy(orders.status);
    m.ordersByStatus.reset();
    for (const s of ['pending', 'ready', 'processing', 'valid', 'invalid'])
      m.ordersByStatus.set({ status: s }, 0);
    for (const r of byStatus) m.ordersByStatus.set({ status: r.status }, r.n);
    const now = Date.now();
    const [c] = await db
      .select({
        revoked: sql<number>`coalesce(sum(case when ${isNotNull(certificates.revokedAt)} then 1 else 0 end), 0)`,
        active: sql<number>`coalesce(sum(case when ${isNull(certificates.revokedAt)} and ${gt(certificates.notAfter, now)} then 1 else 0 end), 0)`,
        total: count(),
      })
      .from(certificates);
    const revoked = Number(c?.revoked ?? 0);
    const active = Number(c?.active ?? 0);
    m.certificatesByState.set({ state: 'active' }, active);
    m.certificatesByState.set({ state: 'revoked' }, revoked);
    m.certificatesByState.set({ state: 'expired' }, Number(c?.total ?? 0) - active - revoked);
    const [n] = await db.select({ n: count() }).from(nonces);
    m.nonceTable.set({}, n?.n ?? 0);
  });
  return { ...m, ...events };
}

/**
 * The gauges the alert rules in packaging/prometheus/edgeca-alerts.yml read besides the request
 * counters: certificates the expiry watch reported and that are still live and unreplaced, webhook
 * deliveries by status (both read at scrape time), and the nextUpdate of the CRLs this edge last
 * fetched from the signer (set by the CRL route).
 */
function eventGauges(registry: Registry, database: Database) {
  const unreplaced = registry.gauge(
    'edgeca_certificates_expiring_unreplaced',
    'Live certificates the expiry watch reported (less than the configured share of their lifetime left) that still have no newer certificate for the same names and account.',
  );
  const deliveries = registry.gauge(
    'edgeca_webhook_deliveries',
    'Webhook deliveries in the database, by status.',
    ['status'],
  );
  const crlNextUpdate = registry.gauge(
    'edgeca_crl_next_update_timestamp_seconds',
    'nextUpdate of the CRL this edge last fetched from the signer, by issuer ("" for the first issuer), as Unix seconds.',
    ['issuer'],
  );
  registry.collect(async () => {
    const db = database.db;
    const now = Date.now();
    const [u] = (await db.all(sql`SELECT count(*) AS n FROM events e
        JOIN certificates c ON c.id = json_extract(e.data, '$.certificateId')
      WHERE e.type = 'certificate.expiring' AND c.not_after > ${now} AND c.revoked_at IS NULL
        AND NOT EXISTS (SELECT 1 FROM certificates n WHERE n.account_id = c.account_id
          AND n.identifiers = c.identifiers AND n.not_before > c.not_before AND n.revoked_at IS NULL)`)) as {
      n: number;
    }[];
    unreplaced.set({}, Number(u?.n ?? 0));
    const rows = (await db.all(
      sql`SELECT status, count(*) AS n FROM webhook_deliveries GROUP BY status`,
    )) as {
      status: string;
      n: number;
    }[];
    for (const s of ['pending', 'delivered', 'dead']) deliveries.set({ status: s }, 0);
    for (const r of rows) deliveries.set({ status: r.status }, Number(r.n));
  });
  return {
    /** RFC 5280 §5.1.2.5 nextUpdate of the CRL of `issuer` ("" for the first), for the stale-CRL alert */
    crlNextUpdate(issuer: string, at: Date): void {
      crlNextUpdate.set({ issuer }, Math.floor(at.getTime() / 1000));
    },
  };
}

export type EdgeMetrics = ReturnType<typeof createEdgeMetrics>;

/** Reports each peer's state (up or skipped) at every scrape. */
export function collectPeers(
  m: EdgeMetrics,
  service: 'signer' | 'validator',
  peers: () => PeerSnapshot[],
): void {
  m.registry.collect(async () => {
    for (const p of peers()) m.relayPeerUp.set({ service, peer: String(p.index) }, p.up ? 1 : 0);
  });
}

/** The signer client, timing every relay call into edgeca_relay_duration_seconds. */
export function instrumentSignerClient(inner: SignerClient, m: EdgeMetrics): SignerClient {
  const timed = async <T>(op: string, run: () => Promise<T>, outcome: (v: T) => string): Promise<T> => {
    const started = performance.now();
    try {
      const v = await run();
      m.relaySeconds.observe({ op, outcome: outcome(v) }, secondsSince(started));
      return v;
    } catch (e) {
      m.relaySeconds.observe({ op, outcome: 'error' }, secondsSince(started));
      throw e;
    }
  };
  const client: SignerClient = {
    sign: (req) =>
      timed(
        'sign',
        () => inner.sign(req),
        (o) => o.status,
      ),
    revoke: (serial, reason, rid) =>
      timed(
        'revoke',
        () => inner.revoke(serial, reason, rid),
        (o) => o.status,
      ),
    crl: (issuer) =>
      timed(
        'crl',
        () => inner.crl(issuer),
        () => 'ok',
      ),
  };
  if (inner.health) {
    const health = inner.health.bind(inner);
    client.health = () => timed('health', health, (h) => (h.ok ? 'ok' : 'unavailable'));
  }
  if (inner.peers) {
    const peers = inner.peers.bind(inner);
    client.peers = peers;
    collectPeers(m, 'signer', peers);
  }
  return client;
}
