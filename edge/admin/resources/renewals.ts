// Admin API: "renew now" — moves the ARI window (RFC 9773) of one certificate, of every
// certificate of an issuer, or of every certificate with an identifier matching a pattern into the
// past, so ARI-aware clients renew at their next poll; optionally schedules the revocation of the
// replaced certificates (once replaced, and/or at a deadline). Also lists the overrides and runs the
// due revocations (the cron hook; request handling runs them too, edge/acme/scheduled-revocation.ts).
import { toHex } from '../../../shared/encoding.ts';
import type { Identifier } from '../../../shared/problems.ts';
import { buildCertId, certIdOf, parseKeyId, renewNowWindow, windowOf } from '../../acme/ari.ts';
import { runDueRevocations } from '../../acme/scheduled-revocation.ts';
import type { RenewalRow } from '../../storage/renewal.ts';
import type { CertificateRow } from '../../storage/schema.ts';
import { body, bool, int, onlyFields, str, time } from '../fields.ts';
import { type AdminContext, AdminError, bad, iso } from '../http.ts';
import { matchesPattern, parsePattern } from '../name-pattern.ts';
import { type AdminResource, found, pageLimit, record, route } from '../resource.ts';

/** Upper bound of certificates one renew-now request may select (and of rows scanned to find them). */
const MAX_SELECTED = 50_000;
const MAX_SCANNED = 500_000;
const PAGE = 500;

type Selector = { serial: string } | { issuer: Uint8Array; text: string } | { pattern: string };

function selector(o: Record<string, unknown>): Selector {
  const given = ['serial', 'issuer', 'pattern'].filter((k) => o[k] !== undefined);
  if (given.length !== 1)
    throw bad(
      given[1] ?? 'serial',
      'give exactly one of serial, issuer (AKI key id) or pattern (a policy rule)',
    );
  const serial = str(o, 'serial', 64);
  if (serial !== undefined) {
    if (!/^[0-9a-fA-F:]{2,64}$/.test(serial)) throw bad('serial', 'must be the serial in hex');
    return { serial: serial.replace(/:/g, '').toLowerCase() };
  }
  const issuer = str(o, 'issuer', 200);
  if (issuer !== undefined) {
    const id = parseKeyId(issuer);
    if (!id) throw bad('issuer', "must be the issuer's key identifier (hex, colons allowed, or base64url)");
    return { issuer: id, text: toHex(id) };
  }
  const parsed = parsePattern(str(o, 'pattern', 300) ?? '');
  if ('error' in parsed) throw bad('pattern', parsed.error);
  return parsed;
}

function matches(cert: CertificateRow, s: Selector): boolean {
  if ('serial' in s) return cert.serial === s.serial;
  if ('issuer' in s) return toHex(certIdOf(cert.chainPem).aki) === s.text;
  return matchesPattern(cert, s.pattern);
}

async function select(c: AdminContext, s: Selector, now: number): Promise<CertificateRow[]> {
  const { svc } = c.var;
  if ('serial' in s) {
    const cert = found(await svc.certificates.bySerial(s.serial), `certificate with serial ${s.serial}`);
    if (cert.revokedAt || cert.notAfter <= now)
      throw new AdminError(
        'conflict',
        `certificate ${s.serial} is already ${cert.revokedAt ? 'revoked' : 'expired'}`,
      );
    return [cert];
  }
  const store = svc.renewals;
  const out: CertificateRow[] = [];
  let after = '';
  for (let scanned = 0; scanned < MAX_SCANNED; scanned += PAGE) {
    const page = await store.liveCertificates(now, after, PAGE);
    for (const cert of page) if (matches(cert, s)) out.push(cert);
    if (out.length > MAX_SELECTED)
      throw bad('pattern', `selects more than ${MAX_SELECTED} certificates; narrow it and run it in parts`);
    if (page.length < PAGE) return out;
    after = page[page.length - 1]!.id;
  }
  throw new AdminError('conflict', `more than ${MAX_SCANNED} live certificates to scan; select by serial`);
}

const view = (r: RenewalRow) => ({
  serial: r.serial,
  certId: r.certId,
  windowStart: iso(r.windowStart),
  windowEnd: iso(r.windowEnd),
  explanationUrl: r.explanationUrl,
  revokeAt: iso(r.revokeAt),
  revokeWhenReplaced: r.revokeWhenReplaced,
  revokeReason: r.revokeReason,
  revokedByScheduleAt: r.revokeError ? null : iso(r.revokeDoneAt),
  revokeError: r.revokeError,
  updatedAt: iso(r.updatedAt),
});

export const RENEWALS: AdminResource = {
  routes: [
    route(
      'post',
      '/renew-now',
      'Move the ARI renewal window of certificates into the past (one selector: serial, issuer or pattern)',
      async (c) => {
        const o = await body(c);
        onlyFields(o, [
          'serial',
          'issuer',
          'pattern',
          'explanationUrl',
          'revokeWhenReplaced',
          'revokeAt',
          'revokeReason',
          'dryRun',
        ]);
        const s = selector(o);
        const explanationUrl = str(o, 'explanationUrl', 500) ?? null;
        if (explanationUrl !== null && !/^https?:\/\/\S+$/.test(explanationUrl))
          throw bad('explanationUrl', 'must be an http(s) URL');
        const revokeWhenReplaced = bool(o, 'revokeWhenReplaced') ?? false;
        const revokeAt = time(o, 'revokeAt') ?? null;
        const revokeReason = int(o, 'revokeReason', 0, 10) ?? 4;
        if (revokeReason === 7) throw bad('revokeReason', '7 is not a CRL reason code (RFC 5280 §5.3.1)');
        const now = Date.now();
        const certs = await select(c, s, now);
        const w = renewNowWindow(now);
        const rows: RenewalRow[] = certs.map((cert) => ({
          certificateId: cert.id,
          certId: buildCertId(certIdOf(cert.chainPem)),
          serial: cert.serial,
          windowStart: w.start,
          windowEnd: w.end,
          explanationUrl,
          revokeAt,
          revokeWhenReplaced,
          revokeReason,
          revokeClaimedAt: null,
          revokeDoneAt: null,
          revokeError: null,
          updatedAt: now,
        }));
        const what =
          'serial' in s ? `serial:${s.serial}` : 'issuer' in s ? `issuer:${s.text}` : `pattern:${s.pattern}`;
        const result = {
          selected: what,
          count: rows.length,
          window: { start: iso(w.start), end: iso(w.end) },
          revokeWhenReplaced,
          revokeAt: iso(revokeAt),
          revokeReason: revokeWhenReplaced || revokeAt !== null ? revokeReason : null,
          dryRun: bool(o, 'dryRun') ?? false,
          certificates: certs.slice(0, 1000).map((x) => ({
            serial: x.serial,
            identifiers: (JSON.parse(x.identifiers) as Identifier[]).map((i) => i.value),
            notAfter: iso(x.notAfter),
          })),
        };
        if (result.dryRun || rows.length === 0) return c.json(result);
        const before = await c.var.svc.renewals.byCertificates(
          rows.slice(0, 100).map((x) => x.certificateId),
        );
        await record(
          c,
          'certificate.renew-now',
          `renew-now:${what}`,
          before.length ? before.map(view) : null,
          { ...result, certificates: result.certificates.slice(0, 100).map((x) => x.serial) },
          c.var.svc.renewals.upsert(rows),
        );
        return c.json(result);
      },
      'RenewNow',
    ),
    route('get', '/renewals', 'Renewal windows set by renew-now (?limit=)', async (c) => {
      const { svc } = c.var;
      const rows = await svc.renewals.list(pageLimit(c));
      return c.json({ renewals: rows.map(view) });
    }),
    route(
      'get',
      '/renewals/:serial',
      "A certificate's suggested renewal window and its override",
      async (c) => {
        const { svc } = c.var;
        const cert = found(
          await svc.certificates.bySerial(c.req.param('serial').toLowerCase()),
          `certificate with serial ${c.req.param('serial')}`,
        );
        const row = await svc.renewals.byCertificate(cert.id);
        const w = windowOf(cert, row);
        return c.json({
          serial: cert.serial,
          certId: buildCertId(certIdOf(cert.chainPem)),
          suggestedWindow: { start: iso(w.start), end: iso(w.end) },
          override: row ? view(row) : null,
        });
      },
    ),
    route(
      'post',
      '/renewals/run',
      'Revoke the replaced certificates whose revocation is due now',
      async (c) => {
        const o = await body(c);
        onlyFields(o, ['limit']);
        const run = await runDueRevocations(c.var.svc, { limit: int(o, 'limit', 1, 1000) ?? 100 });
        return c.json(run);
      },
      'RenewalRun',
    ),
  ],
  schemas: {
    RenewNow: {
      type: 'object',
      additionalProperties: false,
      description: 'exactly one of serial, issuer, pattern',
      properties: {
        serial: { type: 'string', description: 'hex serial number' },
        issuer: {
          type: 'string',
          description: "the issuer's key identifier (hex, colons allowed, or base64url)",
        },
        pattern: { type: 'string', description: 'a policy rule: name, *.wildcard, .suffix or CIDR' },
        explanationUrl: { type: 'string', format: 'uri' },
        revokeWhenReplaced: { type: 'boolean' },
        revokeAt: { type: 'string', format: 'date-time' },
        revokeReason: { type: 'integer', minimum: 0, maximum: 10 },
        dryRun: { type: 'boolean' },
      },
    },
    RenewalRun: {
      type: 'object',
      additionalProperties: false,
      properties: { limit: { type: 'integer', minimum: 1, maximum: 1000 } },
    },
  },
};
