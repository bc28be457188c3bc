// Finalize (RFC 8555 §7.4): the order must be ready; the CSR is checked against it and against the
// order's profile, its key against the blocked keys; the order moves ready → processing with the
// CSR recorded, and the signer is asked through the relay. The profile is read once and serves
// both the CSR check and the relay, so the two cannot see different profiles.
import type { JWK } from 'jose';
import { b64uEncode } from '../../../shared/encoding.ts';
import { AcmeProblem } from '../../../shared/problems.ts';
import type { EdgeServices } from '../../services.ts';
import type { AccountRow, OrderRow } from '../../storage/schema.ts';
import { jwkDigest, refuseBlockedCsrKey } from '../compromised-keys.ts';
import { checkCsr } from './csr.ts';
import { readOrder } from './refresh.ts';
import { profileOf, relayOrder } from './relay.ts';

export async function finalizeOrder(
  svc: EdgeServices,
  account: AccountRow,
  orderId: string,
  payload: unknown,
  accountJwk: JWK,
  rid?: string,
): Promise<OrderRow> {
  const order = await readOrder(svc, account, orderId);
  if (order.status !== 'ready') {
    throw new AcmeProblem(
      'orderNotReady',
      `the order is ${order.status}; it can be finalized only when ready`,
    );
  }
  if (typeof payload !== 'object' || payload === null)
    throw new AcmeProblem('malformed', 'finalize payload must be an object');
  const profile = await profileOf(svc, order);
  const csr = (payload as Record<string, unknown>).csr;
  const der = await checkCsr(csr, order, await jwkDigest(accountJwk), profile);
  await refuseBlockedCsrKey(svc, der);
  // The table's ready → processing, written with the CSR in one guarded statement.
  if (!(await svc.orders.beginFinalize(order.id, b64uEncode(der), Date.now()))) {
    throw new AcmeProblem('orderNotReady', 'the order is no longer ready (finalized concurrently)');
  }
  const processing = (await svc.orders.get(order.id))!;
  return relayOrder(svc, processing, rid, { profile });
}
