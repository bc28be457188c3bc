// The ACME flow suite every runtime must pass, written once: account with EAB, order, http-01 (an
// IP identifier, RFC 8738) and dns-01 (a name, through pebble-challtestsrv), finalize through the
// real signer on SoftHSM, download and chain check, revoke, key change. Each runtime's test file
// gives it a running edge; the flow does not know which runtime it talks to.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { exportJWK } from 'jose';
import type { ChallTestSrv } from '../../harness/challtestsrv.ts';
import { makeCsr } from '../../harness/csr.ts';
import type { Http01Server } from '../../harness/http01.ts';
import { b64uEncode, pemToDers, sha256 } from '../../shared/encoding.ts';
import { type AcmeKey, type FetchLike, newKey, TestAcme } from '../support/acme.ts';
import { verifyChain } from '../support/tools.ts';
import type { EabKey } from './edges.ts';

export interface FlowTarget {
  directoryUrl: string;
  fetch: FetchLike;
  /** trust anchor of issued chains */
  caFile: string;
  seedEab(): Promise<EabKey>;
  /** runs one SQL statement on the edge's database from outside (to stage a lost attempt) */
  exec(sql: string): Promise<void>;
  dns: ChallTestSrv;
  http01: Http01Server;
  /** the edge process's output, added to a failure's message */
  output?(): string;
}

type Order = {
  status: string;
  authorizations: string[];
  finalize: string;
  certificate?: string;
  error?: unknown;
};
type Authz = { status: string; challenges: { type: string; url: string; token: string; status: string }[] };

/** Orders, answers each challenge of `type`, finalizes, and returns the chain PEM. */
export async function issue(
  t: FlowTarget,
  c: TestAcme,
  ident: { type: 'dns' | 'ip'; value: string },
  type: 'http-01' | 'dns-01',
  /** the certificate's key pair (default: a fresh one) */
  keys?: CryptoKeyPair,
): Promise<string> {
  const res = await c.post(c.dir.newOrder, { identifiers: [ident] });
  assert.equal(res.status, 201, await res.clone().text());
  const url = res.headers.get('location')!;
  const order = (await res.json()) as Order;
  for (const a of order.authorizations) {
    const authz = (await (await c.post(a, '')).json()) as Authz;
    const ch = authz.challenges.find((x) => x.type === type);
    assert.ok(ch, `the authorization offers ${type}: ${JSON.stringify(authz.challenges.map((x) => x.type))}`);
    const ka = await c.keyAuthorization(ch.token);
    if (type === 'http-01') t.http01.set(ch.token, ka);
    else
      await t.dns.setTxt(
        `_acme-challenge.${ident.value}`,
        b64uEncode(await sha256(new TextEncoder().encode(ka))),
      );
    const answered = await c.post(ch.url, {});
    assert.equal(answered.status, 200, await answered.clone().text());
    const done = await c.poll<Authz>(a, (x) => x.status !== 'pending');
    assert.equal(done.status, 'valid', JSON.stringify(done.challenges));
  }
  await c.poll<Order>(url, (o) => o.status === 'ready');
  const csr = await makeCsr(ident.type === 'dns' ? [ident.value] : [], {
    ...(ident.type === 'ip' ? { ips: [ident.value] } : {}),
    ...(keys ? { key: keys } : {}),
  });
  const fin = await c.post(order.finalize, { csr: csr.b64u });
  assert.equal(fin.status, 200, await fin.clone().text());
  const valid = await c.poll<Order>(url, (o) => o.status === 'valid' || o.status === 'invalid');
  assert.equal(valid.status, 'valid', JSON.stringify(valid.error));
  const cert = await c.post(valid.certificate!, '');
  assert.equal(cert.status, 200);
  assert.equal(cert.headers.get('content-type'), 'application/pem-certificate-chain');
  const pem = await cert.text();
  await verifyChain(pem, t.caFile);
  return pem;
}

/** An account bound to a fresh EAB key. */
export async function eabAccount(t: FlowTarget, key?: AcmeKey): Promise<TestAcme> {
  const c = await new TestAcme(t.fetch, t.directoryUrl, key ?? (await newKey())).init();
  const eab = await t.seedEab();
  const res = await c.newAccount({
    termsOfServiceAgreed: true,
    externalAccountBinding: await c.eab(eab.kid, eab.hmacKey),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return c;
}

const leafDerB64u = (pem: string) => b64uEncode(pemToDers(pem)[0]!);

export function acmeFlowSuite(
  name: string,
  start: () => Promise<FlowTarget>,
  stop: () => Promise<void>,
): void {
  describe(name, { timeout: 300_000 }, () => {
    let t: FlowTarget;
    let c: TestAcme;
    let ipChain = '';
    before(async () => {
      t = await start();
    });
    after(stop);
    /** a test whose failure carries the tail of the edge's own log */
    const step = (title: string, fn: () => Promise<void>) =>
      test(title, async () => {
        try {
          await fn();
        } catch (err) {
          const out = t?.output?.();
          if (out && err instanceof Error) err.message += `\n--- edge output (tail) ---\n${out.slice(-3000)}`;
          throw err;
        }
      });

    step('refuses an account without external account binding', async () => {
      const anon = await new TestAcme(t.fetch, t.directoryUrl, await newKey()).init();
      const res = await anon.newAccount();
      const body = (await res.json()) as { type?: string };
      assert.equal(body.type, 'urn:ietf:params:acme:error:externalAccountRequired');
    });

    step('creates an account bound to an EAB key', async () => {
      c = await eabAccount(t);
      assert.ok(c.kid);
    });

    step('issues for an IP identifier through http-01', async () => {
      ipChain = await issue(t, c, { type: 'ip', value: '127.0.0.1' }, 'http-01');
    });

    step('issues for a DNS name through dns-01', async () => {
      const host = `dns01-${Date.now().toString(36)}.edgeca.test`;
      await issue(t, c, { type: 'dns', value: host }, 'dns-01');
    });

    step('revokes a certificate, and answers alreadyRevoked the second time', async () => {
      const certificate = leafDerB64u(ipChain);
      const res = await c.post(c.dir.revokeCert, { certificate, reason: 4 });
      assert.equal(res.status, 200, await res.clone().text());
      const again = await c.post(c.dir.revokeCert, { certificate, reason: 4 });
      assert.equal(
        ((await again.json()) as { type?: string }).type,
        'urn:ietf:params:acme:error:alreadyRevoked',
      );
    });

    step(
      'revokes with keyCompromise signed by the certificate key, which is then refused as an account key and deactivates the account using it',
      async () => {
        const keys = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
          'sign',
          'verify',
        ])) as CryptoKeyPair;
        const key: AcmeKey = {
          alg: 'ES256',
          privateKey: keys.privateKey,
          jwk: await exportJWK(keys.publicKey),
        };
        // an account whose key is also the certificate's (issued to another account)
        const holder = await eabAccount(t, key);
        const chain = await issue(t, c, { type: 'ip', value: '127.0.0.1' }, 'http-01', keys);
        const res = await holder.post(
          holder.dir.revokeCert,
          { certificate: leafDerB64u(chain), reason: 1 },
          { useJwk: true },
        );
        assert.equal(res.status, 200, await res.clone().text());
        const refused = await holder.newAccount();
        const body = (await refused.json()) as { type?: string; detail?: string };
        assert.equal(body.type, 'urn:ietf:params:acme:error:badPublicKey', body.detail);
        // RFC 8555 §7.3.6: the account using the key is deactivated
        const order = await holder.post(holder.dir.newOrder, {
          identifiers: [{ type: 'ip', value: '127.0.0.1' }],
        });
        const doc = (await order.json()) as { type?: string; detail?: string };
        assert.equal(order.status, 401, JSON.stringify(doc));
        assert.equal(doc.type, 'urn:ietf:params:acme:error:unauthorized');
        assert.match(doc.detail ?? '', /account is deactivated: its key was reported compromised/);
      },
    );

    step('resumes a validation whose attempt was lost (processing, stale) on the next read', async () => {
      const fresh = await eabAccount(t);
      const res = await fresh.post(fresh.dir.newOrder, { identifiers: [{ type: 'ip', value: '127.0.0.1' }] });
      assert.equal(res.status, 201, await res.clone().text());
      const order = (await res.json()) as Order;
      const authzUrl = order.authorizations[0]!;
      const authz = (await (await fresh.post(authzUrl, '')).json()) as Authz;
      const ch = authz.challenges.find((x) => x.type === 'http-01')!;
      t.http01.set(ch.token, await fresh.keyAuthorization(ch.token));
      // As if an isolate or process took the challenge and went away before finishing it.
      await t.exec(`UPDATE challenges SET status = 'processing', attempt_at = 1 WHERE token = '${ch.token}'`);
      const done = await fresh.poll<Authz>(authzUrl, (x) => x.status !== 'pending');
      assert.equal(done.status, 'valid', JSON.stringify(done.challenges));
    });

    step('rolls the account key over: the new key works, the old one is refused', async () => {
      const oldKey = c.key;
      const next = await newKey();
      const res = await c.post(c.dir.keyChange, await c.keyChangeInner(next));
      assert.equal(res.status, 200, await res.clone().text());
      c.key = next;
      assert.equal((await c.post(c.kid!, '')).status, 200);
      const stale = await c.post(c.kid!, '', { key: oldKey });
      assert.ok(stale.status >= 400, `the old key is refused (HTTP ${stale.status})`);
    });
  });
}
