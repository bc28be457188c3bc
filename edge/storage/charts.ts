// The series behind the admin UI's charts, each one aggregate query: certificates issued per hour
// (from the certificates table, so history before the outbox counts too), failures by ACME problem
// type (from the outbox's order.failed and validation.failed events), and the expiry timeline:
// per coming hour, the live certificates that expire in it and how many of those already have a
// newer unrevoked certificate of the same account for the same names.
import { sql } from 'drizzle-orm';
import type { Db } from './db.ts';

const HOUR = 3_600_000;
// The hour numbers are CAST: a bound JavaScript number may arrive as a REAL, and the division with
// it would not truncate.

export interface ChartSeries {
  /** start of the first hour (ms) and one count per hour */
  issuedPerHour: { from: number; counts: number[] };
  failuresByType: { type: string; count: number }[];
  expiryPerHour: { from: number; expiring: number[]; replaced: number[] };
}

export async function chartSeries(
  db: Db,
  now: number,
  pastHours: number,
  comingHours: number,
): Promise<ChartSeries> {
  const from = Math.floor(now / HOUR) * HOUR - (pastHours - 1) * HOUR;
  const issued =
    (await db.all(sql`SELECT CAST((created_at - ${from}) / ${HOUR} AS INTEGER) AS h, count(*) AS n
    FROM certificates WHERE created_at >= ${from} GROUP BY h`)) as { h: number; n: number }[];
  const counts = new Array<number>(pastHours).fill(0);
  for (const r of issued) if (r.h >= 0 && r.h < pastHours) counts[Number(r.h)] = Number(r.n);

  const failures = (await db.all(sql`SELECT coalesce(json_extract(data, '$.problem.type'), 'unknown') AS t,
      count(*) AS n
    FROM events WHERE type IN ('order.failed', 'validation.failed') AND at >= ${from}
    GROUP BY t ORDER BY n DESC LIMIT 12`)) as { t: string; n: number }[];

  const start = Math.floor(now / HOUR) * HOUR;
  const until = start + comingHours * HOUR;
  const expiring =
    (await db.all(sql`SELECT CAST((c.not_after - ${start}) / ${HOUR} AS INTEGER) AS h, count(*) AS n,
      sum(CASE WHEN EXISTS (SELECT 1 FROM certificates r WHERE r.account_id = c.account_id
        AND r.identifiers = c.identifiers AND r.not_before > c.not_before AND r.revoked_at IS NULL
        AND r.id <> c.id) THEN 1 ELSE 0 END) AS replaced
    FROM certificates c
    WHERE c.not_after > ${now} AND c.not_after < ${until} AND c.revoked_at IS NULL
    GROUP BY h`)) as { h: number; n: number; replaced: number }[];
  const exp = new Array<number>(comingHours).fill(0);
  const rep = new Array<number>(comingHours).fill(0);
  for (const r of expiring) {
    if (r.h < 0 || r.h >= comingHours) continue;
    exp[Number(r.h)] = Number(r.n);
    rep[Number(r.h)] = Number(r.replaced);
  }
  return {
    issuedPerHour: { from, counts },
    failuresByType: failures.map((f) => ({ type: String(f.t), count: Number(f.n) })),
    expiryPerHour: { from: start, expiring: exp, replaced: rep },
  };
}
