// Property tests of the JWS layer (RFC 8555 §6.2–6.5): arbitrary bodies, envelopes and protected
// headers sent to the edge are answered with a problem document, never a 5xx, and change no row.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { parseFlattenedJws, parseProtectedHeader } from '../../edge/acme/jws.ts';
import { b64uEncode } from '../../shared/encoding.ts';
import { AcmeProblem } from '../../shared/problems.ts';
import { anyJson, b64uText, params, StateGuard, type World, world } from './support.ts';

let w: World;
before(async () => {
  w = await world();
});
after(() => w.edge.close());

function post(url: string, body: string, contentType = 'application/jose+json'): Promise<Response> {
  return w.edge.fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body });
}

/** A string that is one of the JWS members' plausible spellings, or anything at all. */
const member = fc.oneof(
  fc.string(),
  fc.base64String().map((s) => s.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')),
  anyJson.map((v) => b64uText(JSON.stringify(v))),
  anyJson,
);

const headerField = (good: () => unknown) =>
  fc.oneof(fc.constant(undefined), fc.constant('GOOD'), anyJson).map((v) => (v === 'GOOD' ? good() : v));

describe('JWS parser under generated input', () => {
  it('refuses arbitrary request bodies with a problem document and no change', async () => {
    const guard = await new StateGuard(w.edge, true).start();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'grapheme' }),
          anyJson.map((v) => JSON.stringify(v)),
        ),
        fc.constantFrom('newOrder', 'newAccount', 'revokeCert', 'keyChange'),
        async (body, resource) => {
          const url = w.acme.dir[resource as 'newOrder'];
          await guard.check(await post(url, body), `${resource} ${JSON.stringify(body).slice(0, 80)}`);
        },
      ),
      params(),
    );
    await guard.end();
  });

  it('refuses arbitrary flattened-JWS envelopes with a problem document and no change', async () => {
    const guard = await new StateGuard(w.edge, true).start();
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          { protected: member, payload: member, signature: member, header: anyJson, signatures: anyJson },
          { requiredKeys: [] },
        ),
        fc.constantFrom(w.acme.dir.newOrder, w.orderUrl, w.finalizeUrl, w.challengeUrl),
        async (env, url) => {
          await guard.check(await post(url, JSON.stringify(env)), JSON.stringify(env).slice(0, 120));
        },
      ),
      params(),
    );
    await guard.end();
  });

  it('refuses arbitrary protected headers (alg, url, nonce, kid, jwk, crit, b64) with no change', async () => {
    const guard = await new StateGuard(w.edge, true).start();
    const nonce = await w.acme.nonce();
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          alg: headerField(() => 'ES256'),
          url: headerField(() => w.acme.dir.newOrder),
          nonce: headerField(() => nonce),
          kid: headerField(() => w.acme.kid),
          jwk: headerField(() => w.acme.key.jwk),
          extra: fc.dictionary(fc.string({ maxLength: 8 }), anyJson, { maxKeys: 3 }),
        }),
        fc.uint8Array({ minLength: 0, maxLength: 96 }),
        async (h, sig) => {
          const { extra, ...named } = h;
          const hdr: Record<string, unknown> = { ...extra };
          for (const [k, v] of Object.entries(named)) if (v !== undefined) hdr[k] = v;
          const body = JSON.stringify({
            protected: b64uText(JSON.stringify(hdr)),
            payload: b64uText(JSON.stringify({ identifiers: [{ type: 'dns', value: 'x.example.test' }] })),
            signature: b64uEncode(sig),
          });
          await guard.check(await post(w.acme.dir.newOrder, body), JSON.stringify(hdr).slice(0, 160));
        },
      ),
      params(),
    );
    await guard.end();
  });

  it('parses or refuses with an AcmeProblem, never another error (parseFlattenedJws, parseProtectedHeader)', () => {
    fc.assert(
      fc.property(anyJson, member, (body, prot) => {
        for (const f of [
          () => parseFlattenedJws(body),
          () => parseProtectedHeader(typeof prot === 'string' ? prot : JSON.stringify(prot)),
        ]) {
          try {
            f();
          } catch (e) {
            assert.ok(e instanceof AcmeProblem, `threw ${String(e)}`);
            assert.ok(e.status >= 400 && e.status < 500, `status ${e.status}`);
          }
        }
      }),
      params(),
    );
  });
});
