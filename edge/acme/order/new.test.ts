// The challenges a new order's authorizations list come from the challenge registry alone: for each
// identifier, exactly the registry's challenges whose own rules admit it on this runtime, in the
// registry's order (no list of challenge types anywhere else decides it).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Identifier } from '../../../shared/problems.ts';
import { newKey, TestAcme } from '../../../test/support/acme.ts';
import { type InprocEdge, startInprocEdge } from '../../../test/support/edge-app.ts';
import { capabilitiesOf } from '../../../validation/net.ts';
import { offeredTypes } from '../../../validation/registry.ts';
import { createNodeRuntime } from '../../platform/node.ts';
import type { EdgeRuntime } from '../../platform/types.ts';

const identifiers: Identifier[] = [
  { type: 'dns', value: 'www.offer.test' },
  { type: 'dns', value: '*.offer.test' },
  { type: 'ip', value: '192.0.2.7' },
  { type: 'ip', value: '2001:db8::7' },
];

/** The challenge types of each authorization of a new order, by the identifier the order names. */
async function offered(edge: InprocEdge): Promise<Map<string, string[]>> {
  const c = await new TestAcme(edge.fetch, edge.directoryUrl, await newKey()).init();
  assert.equal((await c.newAccount()).status, 201);
  const res = await c.post(c.dir.newOrder, { identifiers });
  assert.equal(res.status, 201, await res.clone().text());
  const order = (await res.json()) as { authorizations: string[] };
  const out = new Map<string, string[]>();
  for (const url of order.authorizations) {
    const authz = (await (await c.post(url, '')).json()) as {
      identifier: Identifier;
      wildcard?: boolean;
      challenges: { type: string }[];
    };
    const named = authz.wildcard ? `*.${authz.identifier.value}` : authz.identifier.value;
    out.set(
      named,
      authz.challenges.map((ch) => ch.type),
    );
  }
  return out;
}

const { tlsAlpn: _noRawTls, ...withoutTls } = createNodeRuntime();
const runtimes: { name: string; runtime: EdgeRuntime }[] = [
  { name: 'Node (raw TLS)', runtime: createNodeRuntime() },
  { name: 'a runtime without raw TLS (as Deno and Workers)', runtime: withoutTls },
];

for (const { name, runtime } of runtimes) {
  describe(`challenges offered on ${name}`, () => {
    let edge: InprocEdge | undefined;
    after(() => edge?.close());
    it('are the registry challenges that admit each identifier, in registry order', async () => {
      edge = await startInprocEdge({ runtime });
      const got = await offered(edge);
      assert.equal(got.size, identifiers.length);
      for (const id of identifiers) {
        assert.deepEqual(got.get(id.value), offeredTypes(id, capabilitiesOf(runtime)), id.value);
      }
    });
  });
}
