// Property tests of the identifier parser (RFC 8555 §7.1.3, RFC 8738): normalizeIdentifier gives a
// canonical identifier or an AcmeProblem; newOrder with generated identifiers answers a problem
// document or creates the order, never a 5xx, and a refusal changes no row.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { normalizeIdentifier } from '../../shared/identifiers.ts';
import { AcmeProblem } from '../../shared/problems.ts';
import { anyJson, params, StateGuard, type World, world } from './support.ts';

let w: World;
before(async () => {
  w = await world();
});
after(() => w.edge.close());

const label = fc.stringMatching(/^[a-z0-9*-]{0,12}$/);
const dnsLike = fc
  .array(fc.oneof(label, fc.constantFrom('*', 'xn--bcher-kva', 'EXAMPLE', '', 'test', 'a'.repeat(64))), {
    minLength: 1,
    maxLength: 6,
  })
  .map((ls) => ls.join('.'));
const ipLike = fc.oneof(
  fc.ipV4(),
  fc.ipV6(),
  fc.ipV4Extended(),
  fc.constantFrom('::ffff:1.2.3.4', '1.2.3', '01.2.3.4', '1.2.3.4/8', 'fe80::1%eth0', '::', '[::1]'),
);
const value = fc.oneof(dnsLike, ipLike, fc.string(), fc.string({ unit: 'grapheme' }));
export const identifier = fc.oneof(
  fc.record({ type: fc.constantFrom('dns', 'ip', 'DNS', 'email', ''), value }),
  fc.record({ type: anyJson, value: anyJson }, { requiredKeys: [] }),
  anyJson,
);

describe('identifier parser under generated input', () => {
  it('normalizes to a canonical identifier (idempotent) or throws an AcmeProblem', () => {
    fc.assert(
      fc.property(identifier, (raw) => {
        let id: ReturnType<typeof normalizeIdentifier>;
        try {
          id = normalizeIdentifier(raw);
        } catch (e) {
          assert.ok(e instanceof AcmeProblem, `threw ${String(e)}`);
          assert.ok(e.status === 400, `status ${e.status}`);
          return;
        }
        assert.ok(id.type === 'dns' || id.type === 'ip');
        assert.deepEqual(normalizeIdentifier(id), id, 'canonical form is a fixed point');
      }),
      params(),
    );
  });

  it('newOrder with generated identifiers answers a problem document or an order, never a 5xx', async () => {
    const guard = await new StateGuard(w.edge, false).start();
    await fc.assert(
      fc.asyncProperty(fc.array(identifier, { minLength: 0, maxLength: 4 }), async (ids) => {
        const res = await w.acme.post(w.acme.dir.newOrder, { identifiers: ids });
        await guard.check(res, JSON.stringify(ids).slice(0, 200));
      }),
      params(),
    );
    await guard.end();
  });
});
