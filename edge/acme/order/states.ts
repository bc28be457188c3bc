// The order's states and the moves between them (RFC 8555 §7.1.6). Every change of an order's status
// alone goes through moveOrder, which refuses a move the table does not list before it reaches the
// repository. The two moves that write more than the status are the repository's own guarded
// statements: ready → processing with the CSR (beginFinalize) and processing → valid with the
// certificate (completeOrder).

import type { EdgeServices } from '../../services.ts';
import type { OrderRow } from '../../storage/schema.ts';

export type OrderStatus = OrderRow['status'];

/**
 * RFC 8555 §7.1.6: pending → ready once every authorization is valid; ready → processing at
 * finalize; processing → valid once the certificate is issued. Any unfinished order may become
 * invalid (an authorization failed, it expired, the signer refused, its profile is gone).
 */
export const ORDER_TRANSITIONS: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  pending: ['ready', 'invalid'],
  ready: ['processing', 'invalid'],
  processing: ['valid', 'invalid'],
  valid: [],
  invalid: [],
};

export function orderMayMove(from: OrderStatus, to: OrderStatus): boolean {
  return ORDER_TRANSITIONS[from].includes(to);
}

/** Throws (a defect, not a client error) when a move is not in the table. */
export function assertOrderMove(from: readonly OrderStatus[], to: OrderStatus): void {
  for (const f of from) {
    if (!orderMayMove(f, to)) throw new Error(`an order cannot move from ${f} to ${to} (RFC 8555 §7.1.6)`);
  }
}

/**
 * A guarded status change: the row moves only if it is still in one of `from` (another request or
 * instance may have moved it first). The row as it now stands when this call moved it, undefined
 * otherwise.
 */
export async function moveOrder(
  svc: EdgeServices,
  id: string,
  from: OrderStatus[],
  to: OrderStatus,
  error?: string,
): Promise<OrderRow | undefined> {
  assertOrderMove(from, to);
  return svc.orders.setOrderStatus(id, from, to, error);
}
