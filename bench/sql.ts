// SQL statements per issuance, read from the servers' own counters (edgeca_sql_statements_total
// and edgeca_signer_sql_statements_total, on with EDGECA_SQL_STATEMENT_METRICS) before and after a
// measured window. A scrape runs a few statements of its own (the edge's gauges read orders,
// certificates and nonces); two back-to-back scrapes before the window measure that, and it is
// taken off the window's figures.
import { getText } from './proc.ts';

export type Counts = Record<string, number>;

/** Where a server's statement counter is: its /metrics URL and the counter's name. */
export interface SqlSource {
  role: string;
  url: string;
  metric: string;
}

export function parseCounter(text: string, metric: string): Counts {
  const out: Counts = {};
  const re = new RegExp(
    `^${metric}\\{kind="((?:[^"\\\\]|\\\\.)*)"\\} (\\d+(?:\\.\\d+)?(?:e\\+?\\d+)?)$`,
    'gm',
  );
  for (const m of text.matchAll(re)) out[m[1] as string] = Number(m[2]);
  return out;
}

const minus = (a: Counts, b: Counts): Counts => {
  const out: Counts = {};
  for (const [k, v] of Object.entries(a)) {
    const d = v - (b[k] ?? 0);
    if (d > 0) out[k] = d;
  }
  return out;
};

/** Counts a window's statements per source: start() just before it, stop() just after. */
export class SqlProbe {
  private base: Record<string, Counts> = {};
  private overhead: Record<string, Counts> = {};

  constructor(
    private readonly sources: SqlSource[],
    private readonly ca: Buffer,
  ) {}

  private async scrape(): Promise<Record<string, Counts>> {
    const out: Record<string, Counts> = {};
    for (const s of this.sources) out[s.role] = parseCounter(await getText(s.url, this.ca), s.metric);
    return out;
  }

  async start(): Promise<void> {
    const a = await this.scrape();
    this.base = await this.scrape();
    for (const s of this.sources) this.overhead[s.role] = minus(this.base[s.role] ?? {}, a[s.role] ?? {});
  }

  /** Statements run in the window by each source, the scrape's own taken off. */
  async stop(): Promise<Record<string, Counts>> {
    const end = await this.scrape();
    const out: Record<string, Counts> = {};
    for (const s of this.sources) {
      const d = minus(end[s.role] ?? {}, this.base[s.role] ?? {});
      out[s.role] = minus(d, this.overhead[s.role] ?? {});
    }
    return out;
  }
}

/**
 * What a statement kind's table is for. The budget counts the ACME state apart from
 * policy reads and from audit and change-log rows; "transaction" rows are batches and
 * transactions (each one commit), not statements.
 */
export type SqlGroup = 'acme' | 'policy' | 'audit' | 'transaction' | 'other';

const ACME_TABLES = new Set([
  // edge
  'nonces',
  'accounts',
  'orders',
  'authorizations',
  'challenges',
  'certificates',
  'eab_keys',
  'renewal_info',
  // signer
  'issuance',
  'relay_jti',
  'issuer_crl',
  'crl_state',
]);
const POLICY_TABLES = new Set([
  'edge_settings',
  'edge_secrets',
  'profiles',
  'name_policies',
  'rate_limits',
  'rate_limit_overrides',
  'rate_buckets',
  'preauthorizations',
  'blocked_keys',
  'eab_key_settings',
  'admin_tokens',
  // signer: its issuers (CA certificates and keys), read as configuration
  'issuers',
]);
const AUDIT_TABLES = new Set(['admin_changes', 'audit_log', 'audit_head', 'outbox', 'change_log']);

export function sqlGroup(kind: string): SqlGroup {
  if (kind === 'batch' || kind === 'transaction' || kind === 'snapshot') return 'transaction';
  const table = kind.split(' ')[1];
  if (!table) return 'other';
  if (ACME_TABLES.has(table)) return 'acme';
  if (POLICY_TABLES.has(table)) return 'policy';
  if (AUDIT_TABLES.has(table) || /audit|outbox|change/.test(table)) return 'audit';
  return 'other';
}

export interface SqlPerIssuance {
  /** statements (not counting transactions) per issuance, by group */
  byGroup: Record<SqlGroup, number>;
  /** statements and transactions per issuance, by kind */
  byKind: Counts;
  /** all statements per issuance (transactions apart) */
  statements: number;
}

export function perIssuance(c: Counts, issued: number): SqlPerIssuance {
  const r = (x: number) => Math.round((x / Math.max(1, issued)) * 100) / 100;
  const byGroup: Record<SqlGroup, number> = { acme: 0, policy: 0, audit: 0, transaction: 0, other: 0 };
  const byKind: Counts = {};
  let statements = 0;
  for (const [k, n] of Object.entries(c)) {
    const g = sqlGroup(k);
    byGroup[g] += n;
    if (g !== 'transaction') statements += n;
    byKind[k] = r(n);
  }
  for (const g of Object.keys(byGroup) as SqlGroup[]) byGroup[g] = r(byGroup[g]);
  return { byGroup, byKind, statements: r(statements) };
}
