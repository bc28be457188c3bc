// The gauges the alert rules in packaging/prometheus/edgeca-alerts.yml read besides the request
// counters: certificates the expiry watch reported and that are still live and unreplaced, webhook
// deliveries by status, and the nextUpdate of the CRLs this edge last fetched from the signer.
// Registered once per services object, on the edge's one registry.
import { sql } from 'drizzle-orm';
import type { EdgeServices } from '../services.ts';

const made = new WeakMap<object, { crlNextUpdate(issuer: string, at: Date): void }>();

export function eventMetricsOf(svc: EdgeServices) {
  let m = made.get(svc);
  if (m) return m;
  const { registry } = svc.metrics;
  const unreplaced = registry.gauge(
    'edgeca_certificates_expiring_unreplaced',
    'Live certificates the expiry watch reported (less than the configured share of their lifetime left) that still have no newer certificate for the same names and account.',
  );
  const deliveries = registry.gauge(
    'edgeca_webhook_deliveries',
    'Webhook deliveries in the database, by status.',
    ['status'],
  );
  const crlNext = registry.gauge(
    'edgeca_crl_next_update_timestamp_seconds',
    'nextUpdate of the CRL this edge last fetched from the signer, by issuer ("" for the first issuer), as Unix seconds.',
    ['issuer'],
  );
  registry.collect(async () => {
    const db = svc.database.db;
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
  m = { crlNextUpdate: (issuer, at) => crlNext.set({ issuer }, Math.floor(at.getTime() / 1000)) };
  made.set(svc, m);
  return m;
}
