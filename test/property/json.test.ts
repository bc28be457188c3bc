// Property tests of JSON payload handling: generated payloads (arbitrary JSON and near misses of
// each resource's shape) POSTed, correctly signed, to every ACME resource are answered with a
// problem document or a success, never a 5xx; a refused one changes no row. (The challenge
// resource is left out: a POST to it starts a validation whose writes land later, in the
// background, and would be blamed on whichever request came next.)
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { anyJson, b64uText, params, StateGuard, type World, world } from './support.ts';

let w: World;
before(async () => {
  w = await world();
});
after(() => w.edge.close());

const date = fc.oneof(
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.string(),
  fc.constantFrom('2030-13-45T99:99:99Z', '1970-01-01T00:00:00Z', '9999-12-31T23:59:59+14:00'),
);
const nearMiss = fc.oneof(
  fc.record(
    {
      identifiers: fc.oneof(anyJson, fc.array(anyJson, { maxLength: 3 })),
      notBefore: fc.oneof(date, anyJson),
      notAfter: fc.oneof(date, anyJson),
      profile: fc.oneof(fc.string(), anyJson),
      replaces: fc.oneof(fc.string(), anyJson),
    },
    { requiredKeys: [] },
  ),
  fc.record(
    {
      contact: fc.oneof(anyJson, fc.array(fc.oneof(fc.string(), fc.webUrl(), anyJson), { maxLength: 3 })),
      termsOfServiceAgreed: anyJson,
      onlyReturnExisting: anyJson,
      externalAccountBinding: anyJson,
      status: fc.oneof(fc.constantFrom('valid', 'revoked', 'pending', ''), anyJson),
    },
    { requiredKeys: [] },
  ),
  fc.record({ csr: fc.oneof(fc.string(), anyJson) }, { requiredKeys: [] }),
  fc.record({ certificate: fc.oneof(fc.string(), anyJson), reason: anyJson }, { requiredKeys: [] }),
  fc.record({ account: anyJson, oldKey: anyJson }, { requiredKeys: [] }),
);

describe('JSON payloads under generated input', () => {
  it('every resource answers generated payloads with a problem document or a success, never a 5xx', async () => {
    const guard = await new StateGuard(w.edge, false).start();
    const targets = () => [
      w.acme.dir.newOrder,
      w.acme.kid!,
      w.orderUrl,
      w.authzUrl,
      w.finalizeUrl,
      w.acme.dir.keyChange,
      w.acme.dir.revokeCert,
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(anyJson, nearMiss),
        fc.nat({ max: 6 }),
        fc.boolean(),
        async (payload, i, raw) => {
          const url = targets()[i]!;
          // raw: the payload bytes are any JSON text, not only what JSON.stringify makes
          const opts = raw ? { rawPayload: b64uText(`${JSON.stringify(payload)} `) } : {};
          const res = await w.acme.post(url, payload, opts);
          await guard.check(res, `${url} ${JSON.stringify(payload)?.slice(0, 160)}`);
        },
      ),
      params(),
    );
    await guard.end();
  });
});
