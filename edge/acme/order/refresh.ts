// An order's status brought up to date (RFC 8555 §7.1.6, moves in states.ts). Status derived from
// authorizations and expiry is settled lazily, whenever an order is read, with guarded updates, so
// every instance sharing the database reaches the same answer; a read also resumes what a process
// that went away left unfinished (a validation, a relay to the signer).
import { AcmeProblem, type Identifier } from '../../../shared/problems.ts';
import type { EdgeServices } from '../../services.ts';
import type { AccountRow, AuthzRow, OrderRow } from '../../storage/schema.ts';
import { resumeStale } from '../authz/challenge.ts';
import { effectiveAuthzStatus } from '../authz/states.ts';
import { STALE_ATTEMPT_MS } from '../authz/validation.ts';
import { ensureOwner, notFound } from '../respond.ts';
import { resumeRelay } from './relay.ts';
import { moveOrder } from './states.ts';

/**
 * A client may poll only the order while a validation runs: an attempt abandoned by a process or
 * isolate that went away is resumed from here too, not only from an authorization read.
 */
async function resumeStaleOfOrder(svc: EdgeServices, order: OrderRow, authzs: AuthzRow[]): Promise<void> {
  const pending = authzs.filter((a) => a.status === 'pending');
  if (pending.length === 0) return;
  const staleBefore = Date.now() - STALE_ATTEMPT_MS;
  const chals = await svc.orders.challengesOfMany(pending.map((a) => a.id));
  const stale = chals.filter((c) => c.status === 'processing' && (c.attemptAt ?? 0) <= staleBefore);
  if (stale.length === 0) return;
  const account = await svc.accounts.get(order.accountId);
  if (!account) return;
  for (const a of pending) {
    const mine = stale.filter((c) => c.authzId === a.id);
    if (mine.length) await resumeStale(svc, a, mine, account.thumbprint);
  }
}

/** Brings an order's stored status up to date and returns the current row. */
export async function refreshOrder(svc: EdgeServices, order: OrderRow): Promise<OrderRow> {
  const now = Date.now();
  if ((order.status === 'pending' || order.status === 'ready') && order.expiresAt <= now) {
    const err = JSON.stringify(
      new AcmeProblem('malformed', 'the order expired before it was finalized').toJSON(),
    );
    const moved = await moveOrder(svc, order.id, ['pending', 'ready'], 'invalid', err);
    if (moved) svc.metrics.ordersFinished.inc({ status: 'invalid', reason: 'expired' });
    return moved ?? (await svc.orders.get(order.id)) ?? order;
  }
  if (order.status === 'pending') {
    const ids = JSON.parse(order.authzIds) as string[];
    const authzs = await svc.orders.getAuthzs(ids);
    const failed = authzs.filter(
      (a) => effectiveAuthzStatus(a, now) !== 'valid' && effectiveAuthzStatus(a, now) !== 'pending',
    );
    if (failed.length > 0) {
      const chals = await svc.orders.challengesOfMany(failed.map((a) => a.id));
      const subs = failed.map((a) => {
        const identifier: Identifier = { type: a.identifierType, value: a.identifierValue };
        const errText = chals.find((c) => c.authzId === a.id && c.error)?.error;
        if (errText) {
          const doc = JSON.parse(errText);
          return AcmeProblem.fromDocument({ ...doc, identifier });
        }
        return new AcmeProblem(
          'unauthorized',
          `authorization for ${a.identifierValue} is ${effectiveAuthzStatus(a, now)}`,
          { identifier },
        );
      });
      const problem = AcmeProblem.combine(
        subs,
        subs[0]!.kind,
        'one or more authorizations of the order failed',
      );
      const moved = await moveOrder(svc, order.id, ['pending'], 'invalid', JSON.stringify(problem.toJSON()));
      if (moved) svc.metrics.ordersFinished.inc({ status: 'invalid', reason: 'authorization' });
      return moved ?? (await svc.orders.get(order.id)) ?? order;
    }
    if (authzs.length === ids.length && authzs.every((a) => effectiveAuthzStatus(a, now) === 'valid')) {
      const moved = await moveOrder(svc, order.id, ['pending'], 'ready');
      return moved ?? (await svc.orders.get(order.id)) ?? order;
    }
    await resumeStaleOfOrder(svc, order, authzs);
    return order;
  }
  if (order.status === 'processing') {
    // The signer call that started finalize may have been lost (restart, timeout): retry it.
    return resumeRelay(svc, order);
  }
  return order;
}

/**
 * The order as finalize needs it. A pending order whose authorizations are all valid now is
 * returned as it is, with their ids: finalize moves it pending → ready → processing in its one
 * guarded statement (which checks the same authorizations again), rather than writing ready first
 * and reading the order back. Any other order is brought up to date as a read would.
 */
export async function finalizableOrder(
  svc: EdgeServices,
  order: OrderRow,
): Promise<{ order: OrderRow; authzIds?: string[] }> {
  const now = Date.now();
  if (order.status === 'pending' && order.expiresAt > now) {
    const ids = JSON.parse(order.authzIds) as string[];
    const authzs = await svc.orders.getAuthzs(ids);
    if (authzs.length === ids.length && authzs.every((a) => effectiveAuthzStatus(a, now) === 'valid'))
      return { order, authzIds: ids };
  }
  return { order: await refreshOrder(svc, order) };
}

/** The account's order by id, brought up to date; notFound or unauthorized otherwise. */
export async function readOrder(svc: EdgeServices, account: AccountRow, id: string): Promise<OrderRow> {
  const found = await svc.orders.get(id);
  if (!found) throw notFound('this order');
  ensureOwner(found.accountId, account, 'this order');
  return refreshOrder(svc, found);
}
