// Blocking keys reported compromised, and what follows for the accounts that already use them. A
// blocked key is refused from then on as a new account key and in CSRs (compromised-keys.ts); an
// account that signs with it is deactivated in the same batch that blocks it (RFC 8555 §7.3.6: a
// deactivated account can no longer be used, and its requests get 401 unauthorized), each with an
// `account.deactivate` change-log row. Accounts are found through accounts.key_digest (indexed), so
// a block looks at the accounts of its keys only.
//
// Accounts made before the digest was kept (migration 6) have none. A block first fills in theirs
// (bounded, and it reports how many it left); and such an account's own next request computes and
// checks its digest (`checkAccountKeyDigest`), which also catches an account whose key an earlier
// release blocked, before any digest was kept.
import type { JWK } from 'jose';
import { AcmeProblem } from '../../shared/problems.ts';
import type { EdgeServices } from '../services.ts';
import type { BlockedKeyRow } from '../storage/blocked-keys.ts';
import type { AccountRow } from '../storage/schema.ts';
import type { Stmt } from '../storage/settings.ts';
import { blockedKeyStore, jwkDigest, reported } from './compromised-keys.ts';

/** Accounts without a key digest filled in per page, and at most per block. */
const DIGEST_PAGE = 200;
const DIGESTS_PER_BLOCK = 2000;

/** The change-log "token" of a change an ACME request made (revokeCert, or an account's own request). */
export const ACME_ACTOR = 'acme';

export interface BlockOutcome {
  /** the accounts deactivated because they used one of the keys */
  deactivatedAccounts: string[];
  /**
   * valid accounts from before key digests were kept whose digest this block did not reach; each is
   * checked at its next request
   */
  accountsUnchecked: number;
}

/** The digest of a stored account JWK, '' when there is none. */
async function storedKeyDigest(jwk: string): Promise<string> {
  try {
    return (await jwkDigest(JSON.parse(jwk) as JWK)) ?? '';
  } catch {
    return '';
  }
}

/**
 * Fills in the key digests of up to DIGESTS_PER_BLOCK valid accounts that have none. Returns those
 * digests that are blocked already (a block of an earlier release) and how many accounts are left.
 */
async function fillKeyDigests(svc: EdgeServices): Promise<{ blocked: string[]; left: number }> {
  const store = blockedKeyStore(svc);
  const blocked: string[] = [];
  for (let done = 0; done < DIGESTS_PER_BLOCK; done += DIGEST_PAGE) {
    const page = await store.accountsWithoutDigest(DIGEST_PAGE);
    if (page.length === 0) return { blocked, left: 0 };
    const digests = await Promise.all(page.map((a) => storedKeyDigest(a.jwk)));
    const stmts = page.map((a, i) => store.setAccountDigest(a.id, digests[i] ?? ''));
    await svc.database.db.batch(stmts as [Stmt, ...Stmt[]]);
    blocked.push(...(await store.blockedAmong(digests.filter((d) => d !== ''))));
    if (page.length < DIGEST_PAGE) return { blocked, left: 0 };
  }
  return { blocked, left: await store.countAccountsWithoutDigest() };
}

/** The ids a batch's deactivating UPDATEs answered with. */
function idsOf(results: unknown[], offset: number, returning: number[]): string[] {
  return returning.flatMap((i) => ((results[offset + i] ?? []) as { id: string }[]).map((r) => r.id));
}

/**
 * Blocks the keys and deactivates every valid account using one of them, in one batch together with
 * `also` (the caller's own change-log row, if any). A key already blocked keeps its first report.
 * `tokenId` is who did it, for the change log: the admin token, or ACME_ACTOR.
 */
export async function blockKeys(
  svc: EdgeServices,
  rows: BlockedKeyRow[],
  by: { tokenId: string; also?: Stmt[] },
): Promise<BlockOutcome> {
  if (rows.length === 0) return { deactivatedAccounts: [], accountsUnchecked: 0 };
  const store = blockedKeyStore(svc);
  const older = await fillKeyDigests(svc);
  const deactivation = store.deactivateAccounts([...rows.map((r) => r.spkiSha256), ...older.blocked], {
    tokenId: by.tokenId,
    at: Date.now(),
  });
  const head = [...store.block(rows), ...(by.also ?? [])];
  const results = await svc.database.db.batch([...head, ...deactivation.stmts] as [Stmt, ...Stmt[]]);
  const deactivatedAccounts = idsOf(results, head.length, deactivation.returning);
  for (const id of deactivatedAccounts) svc.accountCache.forget(id);
  if (deactivatedAccounts.length > 0)
    svc.log({ event: 'accounts-deactivated', because: 'key-compromise', accounts: deactivatedAccounts });
  return { deactivatedAccounts, accountsUnchecked: older.left };
}

/**
 * A request by a valid account whose key digest was never computed: keeps its digest and, when that
 * key is blocked, deactivates the account (with its change-log row) and refuses the request.
 */
export async function checkAccountKeyDigest(svc: EdgeServices, account: AccountRow): Promise<void> {
  const store = blockedKeyStore(svc);
  const keyDigest = await storedKeyDigest(account.jwk);
  const deactivation = store.deactivateAccounts(
    keyDigest ? [keyDigest] : [],
    { tokenId: ACME_ACTOR, at: Date.now() },
    account.id,
  );
  const results = await svc.database.db.batch([
    store.setAccountDigest(account.id, keyDigest),
    ...deactivation.stmts,
    // a concurrent request of the same account may have deactivated it first: refused all the same
    store.blockOf(keyDigest),
  ]);
  svc.accountCache.forget(account.id);
  if (idsOf(results, 1, deactivation.returning).length > 0)
    svc.log({ event: 'accounts-deactivated', because: 'key-compromise', accounts: [account.id] });
  if (((results[results.length - 1] ?? []) as unknown[]).length > 0)
    throw await inactiveAccountProblem(svc, { ...account, status: 'deactivated', keyDigest });
}

/**
 * RFC 8555 §7.3.6: a request from a deactivated account gets 401 unauthorized (a revoked account is as
 * unusable). The detail says when its key was reported compromised, if it was.
 */
export async function inactiveAccountProblem(svc: EdgeServices, account: AccountRow): Promise<AcmeProblem> {
  const block =
    account.status === 'deactivated' && account.keyDigest
      ? await blockedKeyStore(svc).get(account.keyDigest)
      : undefined;
  return new AcmeProblem(
    'unauthorized',
    block
      ? `account is deactivated: its key was ${reported(block)}, which deactivates every account using that key (RFC 8555 §7.3.6); create a new account with a new key`
      : `account is ${account.status}`,
    { status: 401 },
  );
}
