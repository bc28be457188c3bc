// The order's transition table (RFC 8555 §7.1.6): every move it allows, a move refused from each
// state, and moveOrder refusing a move outside the table before the repository is asked.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EdgeServices } from '../../services.ts';
import { assertOrderMove, moveOrder, ORDER_TRANSITIONS, type OrderStatus, orderMayMove } from './states.ts';

const ALLOWED: [OrderStatus, OrderStatus][] = [
  ['pending', 'ready'],
  ['pending', 'invalid'],
  ['ready', 'processing'],
  ['ready', 'invalid'],
  ['processing', 'valid'],
  ['processing', 'invalid'],
];

const REFUSED: [OrderStatus, OrderStatus][] = [
  ['pending', 'processing'],
  ['ready', 'pending'],
  ['processing', 'ready'],
  ['valid', 'invalid'],
  ['invalid', 'pending'],
];

const STATES: OrderStatus[] = ['pending', 'ready', 'processing', 'valid', 'invalid'];

/** Services whose order repository records the status changes it is asked for. */
function recordingServices(): { svc: EdgeServices; calls: unknown[][] } {
  const calls: unknown[][] = [];
  const orders = {
    setOrderStatus: async (...args: unknown[]) => {
      calls.push(args);
      return true;
    },
  };
  return { svc: { orders } as unknown as EdgeServices, calls };
}

describe('order transitions', () => {
  for (const [from, to] of ALLOWED) {
    it(`allows ${from} → ${to}`, () => assert.equal(orderMayMove(from, to), true));
  }
  for (const [from, to] of REFUSED) {
    it(`refuses ${from} → ${to}`, () => assert.equal(orderMayMove(from, to), false));
  }

  it('allows exactly the listed moves and nothing from valid or invalid', () => {
    const listed = STATES.flatMap((from) => ORDER_TRANSITIONS[from].map((to) => `${from}→${to}`));
    assert.deepEqual(listed.sort(), ALLOWED.map(([f, t]) => `${f}→${t}`).sort());
    assert.deepEqual(ORDER_TRANSITIONS.valid, []);
    assert.deepEqual(ORDER_TRANSITIONS.invalid, []);
  });

  it('refuses every move to a state the order has left', () => {
    for (const from of STATES) assert.equal(orderMayMove(from, 'pending'), false, `${from} → pending`);
  });

  it('refuses a move when any of its from-states does not allow it', () => {
    assert.doesNotThrow(() => assertOrderMove(['pending', 'ready'], 'invalid'));
    assert.throws(() => assertOrderMove(['pending', 'valid'], 'invalid'), /from valid to invalid/);
  });

  it('moveOrder passes an allowed move to the repository as a guarded update', async () => {
    const { svc, calls } = recordingServices();
    assert.equal(await moveOrder(svc, 'o1', ['pending'], 'ready'), true);
    assert.deepEqual(calls, [['o1', ['pending'], 'ready', undefined]]);
  });

  it('moveOrder refuses a move outside the table without touching the repository', async () => {
    const { svc, calls } = recordingServices();
    await assert.rejects(moveOrder(svc, 'o1', ['valid'], 'pending'), /cannot move from valid to pending/);
    assert.deepEqual(calls, []);
  });
});
