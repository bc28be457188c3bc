// Property tests of the CSR parser (RFC 2986, RFC 8555 §7.4): random bytes, random DER trees and
// mutations of a real CSR are parsed or refused with badCSR — never another error — and finalize
// with them answers a problem document, never a 5xx, without changing the ready order.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { makeCsr } from '../../harness/csr.ts';
import { parseCsr } from '../../shared/csr.ts';
import { tlv } from '../../shared/der.ts';
import { b64uEncode } from '../../shared/encoding.ts';
import { AcmeProblem } from '../../shared/problems.ts';
import { type Http01, makeReady, newOrder, type OrderInfo, startHttp01 } from '../conformance/harness.ts';
import { params, StateGuard, type World, world } from './support.ts';

let w: World;
let http: Http01;
let order: OrderInfo;
let good: Uint8Array;

before(async () => {
  http = await startHttp01(['127.0.0.1']);
  w = await world({ http01Port: http.port });
  order = await newOrder(w.acme, [{ type: 'ip', value: '127.0.0.1' }]);
  await makeReady(w.acme, order, http);
  good = (await makeCsr(['csr.example.test'], { ips: ['127.0.0.1'] })).der;
});
after(async () => {
  w.edge.close();
  await http.close();
});

/** A random DER tree: TLVs of any tag nested a few levels deep. */
const derTree: fc.Arbitrary<Uint8Array> = fc.letrec<{ node: Uint8Array }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 40 })).map(([t, b]) => tlv(t, b)),
    fc
      .tuple(fc.constantFrom(0x30, 0x31, 0xa0, 0xa3, 0x03, 0x04), fc.array(tie('node'), { maxLength: 4 }))
      .map(([t, kids]) => tlv(t, ...kids)),
  ),
})).node;

/** The real CSR with a few bytes changed, cut short, or grown. */
const mutated = fc
  .tuple(
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
    fc.constantFrom('flip', 'truncate', 'append', 'length'),
  )
  .map(([edits, how]) => {
    const b = Uint8Array.from(good);
    if (how === 'truncate') return b.subarray(0, (edits[0]![0] % b.length) + 0);
    if (how === 'append') return Uint8Array.from([...b, ...edits.map((e) => e[1])]);
    if (how === 'length') {
      // corrupt a length octet near the front, where the nested SEQUENCE headers are
      const out = Uint8Array.from(b);
      out[1 + (edits[0]![0] % 8)] = edits[0]![1];
      return out;
    }
    for (const [at, v] of edits) b[at % b.length] = v;
    return b;
  });

const csrBytes = fc.oneof(fc.uint8Array({ maxLength: 400 }), derTree, mutated);

describe('CSR parser under generated input', () => {
  it('parses or refuses with badCSR, never another error (parseCsr)', async () => {
    await fc.assert(
      fc.asyncProperty(csrBytes, async (der) => {
        try {
          await parseCsr(der);
        } catch (e) {
          assert.ok(e instanceof AcmeProblem, `threw ${String(e)}`);
          assert.equal(e.kind, 'badCSR');
        }
      }),
      params(),
    );
  });

  it('finalize with a generated CSR answers a problem document, never a 5xx, and changes nothing', async () => {
    const guard = await new StateGuard(w.edge, false).start();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          csrBytes.map((b) => b64uEncode(b)),
          fc.string(),
          fc.constantFrom(`${b64uEncode(good)}=`, ` ${b64uEncode(good)}`, b64uEncode(good).slice(1)),
        ),
        async (csr) => {
          const res = await w.acme.post(order.finalize, { csr });
          await guard.check(res, `csr ${csr.slice(0, 60)}`);
        },
      ),
      params(),
    );
    await guard.end();
  });
});
