// `edgeca admin revoke-bulk` and `edgeca admin blocked-keys ...`: the request bodies built from the
// command line (reasons by RFC 5280 name or number, times as dates or "that long ago", keys from
// files), and the exit code of a bulk revocation that did not finish (3: run it again).
import { readFileSync } from 'node:fs';
import { parseDuration } from './admin-format.ts';
import { UsageError } from './args.ts';

/** RFC 5280 §5.3.1 CRLReason names the admin API accepts for bulk revocation. */
const REASONS: Record<string, number> = {
  unspecified: 0,
  keycompromise: 1,
  affiliationchanged: 3,
  superseded: 4,
  cessationofoperation: 5,
  privilegewithdrawn: 9,
};

/** Exit code of `revoke-bulk` when certificates still match: run the same command again. */
export const EXIT_INCOMPLETE = 3;

export interface IncidentOptions {
  account?: string | undefined;
  spki?: string | undefined;
  pattern?: string | undefined;
  'issued-after'?: string | undefined;
  'issued-before'?: string | undefined;
  reason?: string | undefined;
  limit?: string | undefined;
  'dry-run'?: boolean | undefined;
  'jwk-file'?: string | undefined;
  'pem-file'?: string | undefined;
  note?: string | undefined;
}

/** "keyCompromise", "key-compromise" or "1" → 1; anything else is an error naming the choices. */
export function parseReason(text: string): number {
  const t = text.trim();
  if (/^\d{1,2}$/.test(t)) return Number(t);
  const n = REASONS[t.toLowerCase().replace(/[-_ ]/g, '')];
  if (n === undefined)
    throw new UsageError(
      `--reason: "${text}" is not a reason; use one of ${Object.entries(REASONS)
        .map(([k, v]) => `${v}/${k}`)
        .join(', ')}`,
    );
  return n;
}

/** An RFC 3339 date-time, or a duration meaning that long ago ("2h": two hours ago). */
export function parsePast(text: string, what: string): string {
  if (/^\d+[smhd]?$/.test(text.trim()))
    return new Date(Date.now() - parseDuration(text, what) * 1000).toISOString();
  if (!/^\d{4}-\d{2}-\d{2}T/.test(text) || Number.isNaN(Date.parse(text)))
    throw new UsageError(
      `${what}: "${text}" is neither a date-time (2030-01-01T10:00:00Z) nor a duration (2h: two hours ago)`,
    );
  return text;
}

export function bulkRevokeBody(v: IncidentOptions): Record<string, unknown> {
  const b: Record<string, unknown> = {};
  if (v.account !== undefined) b.account = v.account;
  if (v.spki !== undefined) b.spkiSha256 = v.spki;
  if (v.pattern !== undefined) b.pattern = v.pattern;
  if (v['issued-after'] !== undefined) b.issuedAfter = parsePast(v['issued-after'], '--issued-after');
  if (v['issued-before'] !== undefined) b.issuedBefore = parsePast(v['issued-before'], '--issued-before');
  if (Object.keys(b).length === 0)
    throw new UsageError(
      'revoke-bulk needs a selector: --account, --spki, --pattern, --issued-after and/or --issued-before',
    );
  if (v.reason === undefined)
    throw new UsageError(
      'revoke-bulk needs --reason (e.g. keyCompromise, superseded, cessationOfOperation, or its number)',
    );
  b.reason = parseReason(v.reason);
  if (v.limit !== undefined) {
    if (!/^\d{1,4}$/.test(v.limit)) throw new UsageError(`--limit: "${v.limit}" is not a number`);
    b.limit = Number(v.limit);
  }
  if (v['dry-run']) b.dryRun = true;
  return b;
}

export function blockKeyBody(v: IncidentOptions): Record<string, unknown> {
  const given = (['spki', 'jwk-file', 'pem-file'] as const).filter((k) => v[k] !== undefined);
  if (given.length !== 1)
    throw new UsageError(
      'blocked-keys add needs exactly one of --spki HASH, --jwk-file FILE or --pem-file FILE',
    );
  const b: Record<string, unknown> = {};
  if (v.note !== undefined) b.note = v.note;
  if (v.spki !== undefined) return { ...b, spkiSha256: v.spki };
  const file = (v['jwk-file'] ?? v['pem-file'])!;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
  }
  if (v['pem-file'] !== undefined) return { ...b, pem: text };
  try {
    return { ...b, jwk: JSON.parse(text) };
  } catch {
    throw new UsageError(`${file} is not a JSON JWK`);
  }
}

/** 3 with a hint on stderr when a bulk revocation left certificates; 0 otherwise. */
export function incidentExitCode(cmd: string[], out: unknown): number {
  if (cmd[0] !== 'revoke-bulk' || typeof out !== 'object' || out === null) return 0;
  const o = out as { complete?: boolean; remaining?: number; stoppedBecause?: string };
  if (o.complete !== false) return 0;
  process.stderr.write(
    `edgeca admin: ${o.remaining} certificate(s) still match${o.stoppedBecause ? ` (${o.stoppedBecause})` : ''}; run the same command again to continue\n`,
  );
  return EXIT_INCOMPLETE;
}
