// The edge's signer client over real HTTP on 127.0.0.1, against stand-in signers (test/support/
// fake-signer.ts): only an answer signed by a pinned key, for this very request and body, settles
// a call; a refusal is final; an unreachable, hung, failing or lying signer is passed over for
// the next one with a fresh jti, and skipped for a while.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { exportJWK, generateKeyPair } from 'jose';
import { importRelayPrivateKey } from '../../shared/relay.ts';
import {
  type FakeAnswer,
  type FakeHandler,
  type FakeSigner,
  signedAnswer,
  startFakeSigner,
} from '../../test/support/fake-signer.ts';
import { createSignerClient, type SignerClientOptions } from './signer-client.ts';

async function keyPair(kid: string) {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid };
  return { jwk, priv: await importRelayPrivateKey(jwk), pub: { ...(await exportJWK(publicKey)), kid } };
}

const relay = await keyPair('edge-1');
const answers = await keyPair('signer-1');
const impostor = await keyPair('signer-1');
const fakes: FakeSigner[] = [];
after(async () => {
  for (const f of fakes) await f.close();
});

async function fake(handle: FakeHandler): Promise<FakeSigner> {
  const f = await startFakeSigner(handle);
  fakes.push(f);
  return f;
}

async function client(urls: string[], over: Partial<SignerClientOptions> = {}) {
  const logs: Record<string, unknown>[] = [];
  const c = await createSignerClient({
    urls,
    relayKeyJwk: relay.jwk,
    answerKeysJwk: [answers.pub],
    timeoutMs: 10_000,
    connectTimeoutMs: 300,
    retryAfterMs: 60_000,
    log: (e) => logs.push(e),
    ...over,
  });
  return { c, logs };
}

const CHAIN = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const chain: FakeAnswer = {
  status: 200,
  body: CHAIN,
  headers: { 'content-type': 'application/pem-certificate-chain' },
};
const fields = (orderId: string) => ({
  orderId,
  accountId: 'acct',
  profile: 'default',
  csr: 'AAAA',
  identifiers: [{ type: 'dns' as const, value: 'a.test' }],
  notBefore: new Date().toISOString(),
  notAfter: new Date(Date.now() + 86_400_000).toISOString(),
});
const closedPort = async () => {
  const f = await startFakeSigner(() => 'hang');
  await f.close();
  return f.url;
};

describe('a signer answer counts only when a pinned key signed it for this request', () => {
  test('issued: a signed chain for this jti and order', async () => {
    const f = await fake((r) => signedAnswer(r, answers.priv, chain));
    const { c } = await client([f.url]);
    assert.deepEqual(await c.sign(fields('o-1')), { status: 'issued', chainPem: CHAIN });
  });

  let previous: FakeAnswer | undefined;
  const bad: { name: string; handle: FakeHandler; detail: RegExp }[] = [
    { name: 'an unsigned 200', handle: () => chain, detail: /not signed/ },
    {
      name: 'an unsigned refusal (a problem document, 403)',
      handle: () => ({
        status: 403,
        body: JSON.stringify({ type: 'urn:ietf:params:acme:error:unauthorized', detail: 'no', status: 403 }),
      }),
      detail: /not signed/,
    },
    {
      name: 'an answer signed by another key under the pinned kid',
      handle: (r) => signedAnswer(r, impostor.priv, chain),
      detail: /signature/,
    },
    {
      name: 'an answer replayed from another request (its jti)',
      handle: async (r) => {
        const mine = await signedAnswer(r, answers.priv, chain);
        const out = previous ?? mine;
        previous = mine;
        return out;
      },
      detail: /another request/,
    },
    {
      name: 'an answer for another order',
      handle: (r) => signedAnswer(r, answers.priv, chain, { orderId: 'someone-else' }),
      detail: /another order/,
    },
    {
      name: 'a signed answer pasted onto another body',
      handle: async (r) => ({
        ...(await signedAnswer(r, answers.priv, chain)),
        body: CHAIN.replace('MIIB', 'MIIC'),
      }),
      detail: /does not match the body/,
    },
    {
      name: 'a signed answer naming another status',
      handle: async (r) => ({ ...(await signedAnswer(r, answers.priv, chain)), status: 201 }),
      detail: /another HTTP status/,
    },
  ];
  for (const b of bad) {
    test(`unavailable, never issued: ${b.name}`, async () => {
      const f = await fake(b.handle);
      const { c, logs } = await client([f.url]);
      if (b.name.includes('replayed')) await c.sign(fields('o-first'));
      const out = await c.sign(fields('o-2'));
      assert.equal(out.status, 'unavailable', JSON.stringify(out));
      assert.match(out.status === 'unavailable' ? out.detail : '', b.detail);
      assert.ok(
        logs.some((l) => l.event === 'relay-answer-refused'),
        'the refused answer is logged',
      );
    });
  }

  test('revoked only on a signed alreadyRevoked; an unsigned one is no answer', async () => {
    const problem = {
      status: 400,
      body: JSON.stringify({ type: 'urn:ietf:params:acme:error:alreadyRevoked', detail: 'x', status: 400 }),
      headers: { 'content-type': 'application/problem+json' },
    };
    const signed = await fake((r) => signedAnswer(r, answers.priv, problem));
    const out = await (await client([signed.url])).c.revoke('0a0b', 1);
    assert.equal(out.status === 'refused' && out.problem.kind, 'alreadyRevoked');
    const unsigned = await fake(() => problem);
    assert.equal((await (await client([unsigned.url])).c.revoke('0a0b', 1)).status, 'unavailable');
  });
});

describe('failover between signers', () => {
  const good = () => fake((r) => signedAnswer(r, answers.priv, chain));

  test('a signed refusal is final: the next signer is not asked', async () => {
    const refusing = await fake((r) =>
      signedAnswer(r, answers.priv, {
        status: 403,
        body: JSON.stringify({
          type: 'urn:ietf:params:acme:error:unauthorized',
          detail: 'ceiling',
          status: 403,
        }),
      }),
    );
    const other = await good();
    const out = await (await client([refusing.url, other.url])).c.sign(fields('o-3'));
    assert.equal(out.status, 'refused');
    assert.equal(other.requests.length, 0, 'a refused request is not taken to another signer');
  });

  const failing: { name: string; first: () => Promise<string>; reason: RegExp }[] = [
    { name: 'a signer that refuses connections', first: closedPort, reason: /connection refused/ },
    {
      name: 'a signer answering 503',
      first: async () => (await fake(() => ({ status: 503, body: 'down' }))).url,
      reason: /HTTP 503/,
    },
    {
      name: 'a signer whose answer is not signed',
      first: async () => (await fake(() => chain)).url,
      reason: /answer not verified/,
    },
  ];
  for (const f of failing) {
    test(`${f.name}: the next one answers, with a fresh jti; the first is skipped, then shown down`, async () => {
      const first = await f.first();
      const second = await good();
      const { c } = await client([first, second.url]);
      assert.equal((await c.sign(fields('o-4'))).status, 'issued');
      assert.equal((await c.sign(fields('o-5'))).status, 'issued');
      assert.equal(second.requests.length, 2);
      const jtis = new Set(second.requests.map((r) => r.payload.jti));
      assert.equal(jtis.size, 2);
      const [s0, s1] = c.peers?.() ?? [];
      assert.equal(s0?.up, false);
      assert.match(s0?.lastError ?? '', f.reason);
      assert.ok(!JSON.stringify(s0).includes('127.0.0.1'), 'the state names no address');
      assert.equal(s1?.up, true);
    });
  }

  test('skips a failed signer until the retry interval has passed', async () => {
    let fail = true;
    const flaky = await fake((r) =>
      fail ? { status: 503, body: 'down' } : signedAnswer(r, answers.priv, chain),
    );
    const second = await good();
    const { c } = await client([flaky.url, second.url], { retryAfterMs: 60_000 });
    await c.sign(fields('o-6'));
    fail = false;
    await c.sign(fields('o-7'));
    assert.equal(flaky.requests.length, 1, 'not asked again within the interval');
    const quick = await client([flaky.url, second.url], { retryAfterMs: 1 });
    fail = true;
    await quick.c.sign(fields('o-8'));
    fail = false;
    await new Promise((r) => setTimeout(r, 20));
    assert.equal((await quick.c.sign(fields('o-9'))).status, 'issued');
    assert.equal(flaky.requests.length, 3, 'probed again once the interval passed');
    assert.equal(quick.c.peers?.()[0]?.up, true);
  });

  test('a hung signer (connection accepted, no answer) is given up on at the connect timeout, not the relay timeout', {
    timeout: 60_000,
  }, async () => {
    const hung = await fake(() => 'hang');
    const second = await good();
    const { c } = await client([hung.url, second.url], { timeoutMs: 600_000, connectTimeoutMs: 300 });
    assert.equal((await c.sign(fields('o-10'))).status, 'issued');
    assert.equal(hung.requests.length, 1, 'the hung signer got the request, once');
    assert.match(c.peers?.()[0]?.lastError ?? '', /no answer in time/);
  });

  test('the last signer left gets the rest of the relay budget, not the connect timeout', async () => {
    const slow = await fake(async (r) => {
      await new Promise((done) => setTimeout(done, 600));
      return signedAnswer(r, answers.priv, chain);
    });
    const { c } = await client([slow.url], { connectTimeoutMs: 100 });
    assert.equal((await c.sign(fields('o-11'))).status, 'issued');
  });

  test('the only signer closes the connection without an answer (restarted under a kept-alive connection): asked once more, with a fresh jti', async () => {
    let resets = 1;
    const restarted = await fake((r) => (resets-- > 0 ? 'reset' : signedAnswer(r, answers.priv, chain)));
    const { c } = await client([restarted.url]);
    assert.equal((await c.sign(fields('o-13'))).status, 'issued');
    assert.equal(restarted.requests.length, 2);
    assert.notEqual(restarted.requests[0]?.payload.jti, restarted.requests[1]?.payload.jti);
    // Once, not in a loop: a signer that drops every request is reported unavailable.
    const dropping = await fake(() => 'reset');
    const out = await (await client([dropping.url])).c.sign(fields('o-14'));
    assert.equal(out.status, 'unavailable');
    assert.equal(dropping.requests.length, 2);
  });

  test('every signer down: unavailable, the detail naming each by index, no URL', async () => {
    const { c } = await client([await closedPort(), await closedPort()]);
    const out = await c.sign(fields('o-12'));
    assert.equal(out.status, 'unavailable');
    const detail = out.status === 'unavailable' ? out.detail : '';
    assert.match(detail, /signer 0: connection refused; signer 1: connection refused/);
    assert.doesNotMatch(detail, /127\.0\.0\.1/);
  });
});
