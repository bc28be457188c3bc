// Admin API for incidents: bulk revocation (POST /bulk-revoke, with a dry run) and the keys reported
// compromised (GET/POST /blocked-keys, GET/DELETE /blocked-keys/{spkiSha256}). Each real action is one
// change-log entry.
import type { JWK } from 'jose';
import { type BlockOutcome, blockKeys } from '../../acme/block-keys.ts';
import {
  blockedKeyStore,
  digestHex,
  jwkDigest,
  parseKeyDigest,
  spkiDigest,
  spkiOfPem,
} from '../../acme/compromised-keys.ts';
import type { BlockedKeyRow } from '../../storage/blocked-keys.ts';
import {
  BULK_REASONS,
  BULK_REVOKE_MAX,
  type BulkSelector,
  type Outcome,
  revokeSelected,
  selectCertificates,
  selectorText,
  TIME_BUDGET_MS,
} from '../bulk-revoke.ts';
import { body, bool, int, onlyFields, str, time } from '../fields.ts';
import { type AdminContext, AdminError, bad, iso } from '../http.ts';
import { parsePattern } from '../name-pattern.ts';
import { type AdminResource, found, pageLimit, record, route } from '../resource.ts';

const SELECTOR_FIELDS = ['account', 'spkiSha256', 'pattern', 'issuedAfter', 'issuedBefore'];
const DIGEST_HELP =
  'must be the SHA-256 of the DER SubjectPublicKeyInfo: 64 hex digits (colons allowed) or 43 base64url characters';

async function bulkSelector(c: AdminContext, o: Record<string, unknown>): Promise<BulkSelector> {
  if (!SELECTOR_FIELDS.some((k) => o[k] !== undefined && o[k] !== null))
    throw bad(
      'account',
      `give at least one of ${SELECTOR_FIELDS.join(', ')}; several combine (a certificate must match all)`,
    );
  const s: BulkSelector = {};
  const account = str(o, 'account', 100);
  if (account !== undefined) {
    found(await c.var.svc.accounts.get(account), `account "${account}"`);
    s.accountId = account;
  }
  const spki = str(o, 'spkiSha256', 100);
  if (spki !== undefined) {
    const d = parseKeyDigest(spki);
    if (!d) throw bad('spkiSha256', DIGEST_HELP);
    s.spkiSha256 = d;
  }
  const pattern = str(o, 'pattern', 300);
  if (pattern !== undefined) {
    const p = parsePattern(pattern);
    if ('error' in p) throw bad('pattern', p.error);
    s.pattern = p.pattern;
  }
  const from = time(o, 'issuedAfter');
  if (from !== undefined && from !== null) s.issuedFrom = from;
  const until = time(o, 'issuedBefore');
  if (until !== undefined && until !== null) s.issuedUntil = until;
  if (s.issuedFrom !== undefined && s.issuedUntil !== undefined && s.issuedFrom >= s.issuedUntil)
    throw bad('issuedBefore', 'must lie after issuedAfter');
  return s;
}

function reasonOf(o: Record<string, unknown>): number {
  const accepted = [...BULK_REASONS].map(([n, name]) => `${n} (${name})`).join(', ');
  if (o.reason === undefined) throw bad('reason', `is required: one of ${accepted}`);
  const r = int(o, 'reason', 0, 10)!;
  if (!BULK_REASONS.has(r)) throw bad('reason', `${r} is not accepted here; use one of ${accepted}`);
  return r;
}

const selectorView = (s: BulkSelector) => ({
  ...(s.accountId !== undefined ? { account: s.accountId } : {}),
  ...(s.spkiSha256 !== undefined ? { spkiSha256: s.spkiSha256 } : {}),
  ...(s.pattern !== undefined ? { pattern: s.pattern } : {}),
  ...(s.issuedFrom !== undefined ? { issuedAfter: iso(s.issuedFrom) } : {}),
  ...(s.issuedUntil !== undefined ? { issuedBefore: iso(s.issuedUntil) } : {}),
});

const blockedView = (r: BlockedKeyRow) => ({
  spkiSha256: r.spkiSha256,
  spkiSha256Hex: digestHex(r.spkiSha256),
  source: r.source,
  serial: r.serial,
  accountId: r.accountId,
  note: r.note,
  createdAt: iso(r.createdAt),
});

/** What a block did to accounts, for answers and the change log. */
const accountsView = (o: BlockOutcome) => ({
  deactivatedAccounts: o.deactivatedAccounts,
  ...(o.accountsUnchecked > 0
    ? {
        accountsUnchecked: o.accountsUnchecked,
        accountsNote: `${o.accountsUnchecked} accounts made before key digests were kept were not checked by this call; each is checked, and deactivated if its key is blocked, at its next request, and the next block checks more`,
      }
    : {}),
});

/** The key an admin names: exactly one of spkiSha256, jwk (public) or pem. */
async function keyDigestOf(o: Record<string, unknown>): Promise<string> {
  const given = ['spkiSha256', 'jwk', 'pem'].filter((k) => o[k] !== undefined);
  if (given.length !== 1)
    throw bad(given[1] ?? 'spkiSha256', 'give exactly one of spkiSha256, jwk (the public JWK) or pem');
  if (o.spkiSha256 !== undefined) {
    const d = parseKeyDigest(str(o, 'spkiSha256', 100)!);
    if (!d) throw bad('spkiSha256', DIGEST_HELP);
    return d;
  }
  if (o.jwk !== undefined) {
    const jwk = o.jwk;
    if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk))
      throw bad('jwk', 'must be a JWK object');
    if ('d' in jwk) throw bad('jwk', 'holds a private key ("d"); give the public JWK only');
    const d = await jwkDigest(jwk as JWK);
    if (!d) throw bad('jwk', 'is not a public RSA, EC (P-256, P-384, P-521) or Ed25519 JWK');
    return d;
  }
  const pem = str(o, 'pem', 12_000)!;
  try {
    return await spkiDigest(await spkiOfPem(pem));
  } catch (e) {
    throw bad('pem', (e as Error).message);
  }
}

export const INCIDENTS: AdminResource = {
  routes: [
    route(
      'post',
      '/bulk-revoke',
      `Revoke every live certificate a selector names (account, spkiSha256, pattern, issuedAfter/issuedBefore; combined), at most ${BULK_REVOKE_MAX} per call; dryRun lists them and changes nothing; run again to finish`,
      async (c) => {
        const o = await body(c);
        onlyFields(o, [...SELECTOR_FIELDS, 'reason', 'limit', 'dryRun']);
        const s = await bulkSelector(c, o);
        const reason = reasonOf(o);
        const limit = int(o, 'limit', 1, BULK_REVOKE_MAX) ?? BULK_REVOKE_MAX;
        const dryRun = bool(o, 'dryRun') ?? false;
        const sel = await selectCertificates(c.var.svc, s, Date.now(), limit);
        const head = {
          dryRun,
          selector: selectorView(s),
          reason,
          reasonName: BULK_REASONS.get(reason),
          maxPerCall: BULK_REVOKE_MAX,
          timeBudgetSeconds: TIME_BUDGET_MS / 1000,
          limit,
          matched: sel.matched,
        };
        if (dryRun) {
          const rest = sel.matched - sel.take.length;
          return c.json({
            ...head,
            // exactly what a run now would revoke, in that order
            serials: sel.take.map((x) => x.serial),
            certificates: sel.take.map((x) => ({
              serial: x.serial,
              accountId: x.accountId,
              identifiers: (JSON.parse(x.identifiers) as { value: string }[]).map((i) => i.value),
              issuedAt: iso(x.createdAt),
              notAfter: iso(x.notAfter),
            })),
            beyondLimit: rest,
            ...(rest > 0
              ? { next: `${rest} more match; a run revokes ${limit} per call, run it again for the rest` }
              : {}),
          });
        }
        const run = await revokeSelected(c.var.svc, sel.take, reason, {
          rid: c.var.requestId,
          tokenId: c.var.adminToken.id,
          ...(s.spkiSha256 !== undefined ? { selectorKey: s.spkiSha256 } : {}),
        });
        const by = (k: Outcome) => run.results.filter((x) => x.outcome === k);
        const done = new Set([...by('revoked'), ...by('alreadyRevoked')].map((x) => x.serial));
        const remainingSerials = sel.allSerials.filter((x) => !done.has(x));
        const remaining = sel.matched - done.size;
        const counts = {
          revoked: by('revoked').length,
          alreadyRevoked: by('alreadyRevoked').length,
          failed: by('failed').length,
          notAttempted: by('notAttempted').length,
        };
        const answer = {
          ...head,
          counts,
          results: run.results,
          remaining,
          // every serial still live and matching (listed up to MAX_LISTED)
          remainingSerials,
          complete: remaining === 0,
          ...(run.stoppedBecause ? { stoppedBecause: run.stoppedBecause } : {}),
          ...(run.blockedKeys.length ? { blockedKeys: run.blockedKeys, ...accountsView(run) } : {}),
          ...(remaining > 0
            ? { next: `${remaining} still match; run the same request again to continue` }
            : {}),
        };
        await record(
          c,
          'certificate.bulk-revoke',
          `bulk-revoke:${selectorText(s)}`,
          null,
          {
            selector: head.selector,
            reason,
            limit,
            matched: sel.matched,
            counts,
            revoked: by('revoked').map((x) => x.serial),
            alreadyRevoked: by('alreadyRevoked').map((x) => x.serial),
            failed: by('failed').map((x) => ({ serial: x.serial, detail: x.detail })),
            remaining,
            ...(run.stoppedBecause ? { stoppedBecause: run.stoppedBecause } : {}),
            ...(run.blockedKeys.length ? { blockedKeys: run.blockedKeys, ...accountsView(run) } : {}),
          },
          [],
        );
        return c.json(answer);
      },
      'BulkRevoke',
    ),
    route(
      'get',
      '/blocked-keys',
      'Keys reported compromised, refused as account and certificate keys (?limit=)',
      async (c) => {
        const rows = await blockedKeyStore(c.var.svc).list(pageLimit(c));
        return c.json({ blockedKeys: rows.map(blockedView) });
      },
    ),
    route(
      'get',
      '/blocked-keys/:spki',
      'Whether a key (SPKI SHA-256, hex or base64url) is blocked',
      async (c) => {
        const d = parseKeyDigest(c.req.param('spki'));
        if (!d) throw bad('spkiSha256', DIGEST_HELP);
        const row = await blockedKeyStore(c.var.svc).get(d);
        if (!row) throw new AdminError('notFound', `key ${d} is not blocked`);
        return c.json(blockedView(row));
      },
    ),
    route(
      'post',
      '/blocked-keys',
      'Block a key (by SPKI SHA-256, public JWK or PEM)',
      async (c) => {
        const o = await body(c);
        onlyFields(o, ['spkiSha256', 'jwk', 'pem', 'note']);
        const note = str(o, 'note', 500) ?? '';
        const digest = await keyDigestOf(o);
        const store = blockedKeyStore(c.var.svc);
        const existing = await store.get(digest);
        if (existing)
          throw new AdminError(
            'conflict',
            `key ${digest} is already blocked (since ${iso(existing.createdAt)})`,
          );
        const row: BlockedKeyRow = {
          spkiSha256: digest,
          source: 'admin-block',
          serial: null,
          accountId: null,
          note,
          createdAt: Date.now(),
        };
        // the key, its change-log row, and the accounts using the key deactivated: one batch
        const { admin } = await c.var.svc.stores();
        const tokenId = c.var.adminToken.id;
        const outcome = await blockKeys(c.var.svc, [row], {
          tokenId,
          also: [
            admin.changeRow({
              tokenId,
              action: 'key.block',
              target: `key:${digest}`,
              before: null,
              after: blockedView(row),
            }),
          ],
        });
        return c.json({ ...blockedView(row), ...accountsView(outcome) }, 201);
      },
      'BlockKey',
    ),
    route('delete', '/blocked-keys/:spki', 'Unblock a key', async (c) => {
      const d = parseKeyDigest(c.req.param('spki'));
      if (!d) throw bad('spkiSha256', DIGEST_HELP);
      const store = blockedKeyStore(c.var.svc);
      const row = await store.get(d);
      if (!row) throw new AdminError('notFound', `key ${d} is not blocked`);
      await record(c, 'key.unblock', `key:${d}`, blockedView(row), null, [store.unblock(d)]);
      return c.json({ spkiSha256: d, blocked: false });
    }),
  ],
  schemas: {
    BulkRevoke: {
      type: 'object',
      required: ['reason'],
      additionalProperties: false,
      properties: {
        account: { type: 'string', description: 'account id' },
        spkiSha256: {
          type: 'string',
          description: 'SHA-256 of the DER SubjectPublicKeyInfo, hex or base64url',
        },
        pattern: { type: 'string', description: 'a name, *.wildcard, .suffix or CIDR (as renew-now)' },
        issuedAfter: { type: 'string', format: 'date-time', description: 'issued at or after' },
        issuedBefore: { type: 'string', format: 'date-time', description: 'issued before' },
        reason: { type: 'integer', enum: [...BULK_REASONS.keys()], description: 'RFC 5280 CRLReason' },
        limit: { type: 'integer', minimum: 1, maximum: BULK_REVOKE_MAX },
        dryRun: { type: 'boolean' },
      },
    },
    BlockKey: {
      type: 'object',
      additionalProperties: false,
      properties: {
        spkiSha256: { type: 'string' },
        jwk: { type: 'object', description: 'a public JWK' },
        pem: { type: 'string', description: 'PUBLIC KEY, CERTIFICATE or CERTIFICATE REQUEST' },
        note: { type: 'string' },
      },
    },
  },
};
