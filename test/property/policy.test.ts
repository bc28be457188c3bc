// Property tests of the policy engine (edge/policy/engine.ts) and its inputs: generated rules and
// policies parse or are refused with a message (never a throw); the verdicts keep the engine's
// laws (deny wins, an empty allow list allows, a scope can only narrow); the admin API answers
// generated policies with a problem naming the field or stores them, never a 5xx; and newOrder
// under a stored policy refuses with a problem document and writes nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  checkPolicy,
  checkScopes,
  type NamePolicy,
  parsePolicy,
  parseRule,
} from '../../edge/policy/engine.ts';
import { ipv4InIpv6, normalizeIdentifier, parseIp } from '../../shared/identifiers.ts';
import type { Identifier } from '../../shared/problems.ts';
import { adminToken } from '../support/admin-api.ts';
import { anyJson, params, StateGuard, type World, world } from './support.ts';

let w: World;
let token: string;
before(async () => {
  w = await world();
  token = (await adminToken(w.edge.svc, 'write', 'property')).token;
});
after(() => w.edge.close());

const labels = fc.constantFrom('a', 'b', 'x', 'example', 'internal', 'test', 'svc');
const name = fc.array(labels, { minLength: 1, maxLength: 4 }).map((l) => l.join('.'));
const ipText = fc.oneof(fc.ipV4(), fc.ipV6(), fc.constantFrom('10.1.2.3', '10.0.0.0', 'fd00::1'));
const rule = fc.oneof(
  name,
  name.map((n) => `*.${n}`),
  name.map((n) => `.${n}`),
  fc.tuple(ipText, fc.integer({ min: 0, max: 130 })).map(([ip, p]) => `${ip}/${p}`),
  ipText,
  fc.string(),
  anyJson,
);
const policy = fc.record({ allow: fc.array(rule, { maxLength: 4 }), deny: fc.array(rule, { maxLength: 4 }) });
const identifier: fc.Arbitrary<Identifier> = fc.oneof(
  name.map((value) => ({ type: 'dns' as const, value })),
  name.filter((n) => n.includes('.')).map((n) => ({ type: 'dns' as const, value: `*.${n}` })),
  // IPv4 addresses in IPv6 form are not identifiers (normalizeIdentifier refuses them).
  ipText
    .filter((value) => !ipv4InIpv6(parseIp(value) ?? new Uint8Array()))
    .map((value) => normalizeIdentifier({ type: 'ip', value })),
);

/** The canonical policy, or undefined when the generated one does not parse. */
function parsed(p: unknown): NamePolicy | undefined {
  const r = parsePolicy(p);
  return r.ok ? r.policy : undefined;
}

describe('policy engine under generated input', () => {
  it('parses a rule or names what is wrong, never throws', () => {
    fc.assert(
      fc.property(fc.oneof(rule, anyJson), (r) => {
        const out = parseRule(r);
        if (typeof out === 'string') assert.ok(out.length > 0);
        else assert.equal(parseRule(out.text) && (parseRule(out.text) as { text: string }).text, out.text);
      }),
      params(),
    );
  });

  it('keeps its laws: deny wins, an empty allow list allows, scopes only narrow', () => {
    fc.assert(
      fc.property(policy, policy, identifier, (p1, p2, id) => {
        const a = parsed(p1);
        const b = parsed(p2);
        if (!a || !b) return;
        const va = checkPolicy(id, a);
        const vb = checkPolicy(id, b);
        assert.equal(
          checkScopes(id, [
            { label: 'a', policy: a },
            { label: 'b', policy: b },
          ]).allowed,
          va.allowed && vb.allowed,
        );
        assert.equal(checkPolicy(id, { allow: [], deny: [] }).allowed, true);
        // the identifier itself as a deny rule refuses it, whatever the allow list says
        const self = id.type === 'ip' ? `${id.value}` : id.value;
        assert.equal(checkPolicy(id, { allow: a.allow, deny: [self] }).allowed, false, `deny ${self}`);
        // and as the only allow rule allows it
        assert.equal(checkPolicy(id, { allow: [self], deny: [] }).allowed, true, `allow ${self}`);
      }),
      params(),
    );
  });

  it('the admin API answers generated policies with 200 or a 4xx problem naming the field, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          policy,
          anyJson,
          fc.record({ allow: anyJson, deny: anyJson, other: anyJson }, { requiredKeys: [] }),
        ),
        async (body) => {
          const res = await w.edge.app.request('https://acme.test:14000/admin/policies/global', {
            method: 'PUT',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
            body: JSON.stringify(body),
          });
          const text = await res.text();
          assert.ok(
            res.status === 200 || (res.status >= 400 && res.status < 500),
            `HTTP ${res.status} ${text.slice(0, 200)}`,
          );
          if (res.status >= 400) {
            assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
            assert.equal(
              typeof (JSON.parse(text) as { field?: string }).field,
              'string',
              'the problem names the field',
            );
          }
        },
      ),
      params(),
    );
  });

  it('newOrder under generated stored policies refuses with a problem document and writes nothing', async () => {
    const guard = await new StateGuard(w.edge, false).start();
    await fc.assert(
      fc.asyncProperty(policy, fc.array(identifier, { minLength: 1, maxLength: 3 }), async (p, ids) => {
        const a = parsed(p);
        if (!a) return;
        const { settings } = await w.edge.svc.stores();
        await settings.putPolicy('global', a);
        const res = await w.acme.post(w.acme.dir.newOrder, { identifiers: ids });
        await guard.check(res, `${JSON.stringify(a)} ${JSON.stringify(ids)}`);
        const allowed = ids.every((id) => checkPolicy(id, a).allowed);
        if (!allowed) assert.ok(res.status >= 400, 'a refused identifier refuses the order');
      }),
      params(),
    );
    await guard.end();
  });
});
