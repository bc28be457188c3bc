// Finalize (RFC 8555 §7.4): the order must be ready; the CSR is checked against it and against the
// order's profile, its key against the blocked keys; the order moves ready → processing with the
// CSR recorded, and the signer is asked through the relay. The profile is read once and serves
// both the CSR check and the relay, so the two cannot see different profiles.
//
// The order is read once and written once before the relay: the move to processing is one guarded
// statement that also holds the account (still valid, still this key: the account may come from
// this process's cache, edge/storage/account-cache.ts) and the CSR key (not blocked), so neither a
// change made through another edge nor a concurrent finalize slips between check and write. Only
// when that statement changes nothing are the reasons read, to name the right one.
import type { JWK } from 'jose';
import { b64uEncode } from '../../../shared/encoding.ts';
import { AcmeProblem } from '../../../shared/problems.ts';
import type { EdgeServices } from '../../services.ts';
import type { AccountRow, OrderRow } from '../../storage/schema.ts';
import { inactiveAccountProblem } from '../block-keys.ts';
import { blockedKeyStore, jwkDigest, reported } from '../compromised-keys.ts';
import { ensureOwner, notFound } from '../respond.ts';
import { checkCsr } from './csr.ts';
import { finalizableOrder } from './refresh.ts';
import { profileOf, relayOrder } from './relay.ts';

export async function finalizeOrder(
  svc: EdgeServices,
  account: AccountRow,
  orderId: string,
  payload: unknown,
  accountJwk: JWK,
  rid?: string,
): Promise<OrderRow> {
  const found = await svc.orders.get(orderId);
  if (!found) throw notFound('this order');
  ensureOwner(found.accountId, account, 'this order');
  const { order, authzIds } = await finalizableOrder(svc, found);
  if (order.status !== 'ready' && !authzIds) {
    throw new AcmeProblem(
      'orderNotReady',
      `the order is ${order.status}; it can be finalized only when ready`,
    );
  }
  if (typeof payload !== 'object' || payload === null)
    throw new AcmeProblem('malformed', 'finalize payload must be an object');
  const profile = await profileOf(svc, order);
  const csr = (payload as Record<string, unknown>).csr;
  const accountKeyDigest = account.keyDigest ?? (await jwkDigest(accountJwk));
  const { der, keyDigest } = await checkCsr(csr, order, accountKeyDigest, profile);
  // The table's ready → processing (from pending when every authorization was valid just now),
  // written with the CSR in one guarded statement.
  const processing = await svc.orders.beginFinalize(order.id, b64uEncode(der), Date.now(), {
    accountId: account.id,
    thumbprint: account.thumbprint,
    csrKeyDigest: keyDigest,
    ...(authzIds ? { authzIds } : {}),
  });
  if (!processing) throw await whyNotStarted(svc, order, account, keyDigest);
  return relayOrder(svc, processing, rid, { profile });
}

/** Why the guarded move to processing changed nothing: the key, the account, or the order. */
async function whyNotStarted(
  svc: EdgeServices,
  order: OrderRow,
  account: AccountRow,
  csrKeyDigest: string,
): Promise<AcmeProblem> {
  const block = await blockedKeyStore(svc).get(csrKeyDigest);
  if (block)
    return new AcmeProblem(
      'badCSR',
      `the CSR's public key cannot be certified: it was ${reported(block)}; generate a new key and CSR`,
    );
  // The account changed since this process read it (through another edge): read it afresh.
  svc.accountCache.forget(account.id);
  const now = await svc.accounts.get(account.id);
  if (now?.status !== 'valid') return inactiveAccountProblem(svc, now ?? account);
  if (now.thumbprint !== account.thumbprint)
    // what the request would have got had it read the account afresh: its key no longer verifies
    return new AcmeProblem(
      'malformed',
      "JWS signature does not verify: the account's key was changed (RFC 8555 §7.3.5)",
    );
  const current = (await svc.orders.get(order.id)) ?? order;
  return new AcmeProblem(
    'orderNotReady',
    `the order is ${current.status}; it can be finalized only when ready (finalized concurrently?)`,
  );
}
