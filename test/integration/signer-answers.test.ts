// The edge trusts only the signer's SIGNED answers, end to end over real HTTPS: the real signer
// (SoftHSM) serves the relay over TLS with its own relay CA, which the edge pins; its signed
// answers issue and revoke. A stand-in signer on 127.0.0.1 that answers 200 without a signature,
// with a signature by another key, or with a real signed answer taken from another request, moves
// nothing: the certificate is not marked revoked, the order stays processing. A signer whose TLS
// certificate comes from another CA is not talked to at all.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createClient } from '@libsql/client';
import { exportJWK, generateKeyPair } from 'jose';
import { makeCsr } from '../../harness/csr.ts';
import { type Http01Server, startHttp01Server } from '../../harness/http01.ts';
import { freePort } from '../../harness/ports.ts';
import { b64uEncode, pemToDers } from '../../shared/encoding.ts';
import { importRelayPrivateKey } from '../../shared/relay.ts';
import { makeRelayTls } from '../../signer/relay-tls.ts';
import { type FetchLike, newKey, TestAcme } from '../support/acme.ts';
import {
  type FakeAnswer,
  type FakeSigner,
  passThrough,
  signedAnswer,
  startFakeSigner,
} from '../support/fake-signer.ts';
import { httpsFetch } from '../support/https-fetch.ts';
import { type System, startSystem } from '../support/system.ts';
import { verifyChain } from '../support/tools.ts';

type Order = {
  status: string;
  authorizations: string[];
  finalize: string;
  certificate?: string;
  error?: unknown;
};

let sys: System;
let http01: Http01Server;
let c: TestAcme;
let fake: FakeSigner | undefined;
const realEnv: Record<string, string> = {};

before(async () => {
  const port = await freePort();
  http01 = await startHttp01Server(port);
  sys = await startSystem({ http01Port: port, signerTls: true });
  realEnv.EDGECA_SIGNER_URL = sys.signerUrl;
  realEnv.EDGECA_SIGNER_CA_FILE = sys.init.signerTlsCaFile;
  c = await new TestAcme(onFreshSocket(httpsFetch(sys.caFile)), sys.directoryUrl, await newKey()).init();
  assert.equal((await c.newAccount()).status, 201);
});
after(async () => {
  await fake?.close();
  await sys?.stop();
  await http01?.close();
});

/**
 * The edge restarts between tests, and a kept-alive socket to the old process may still sit in
 * the client's pool: a request that died on one ("socket hang up" before any answer) is sent again.
 */
function onFreshSocket(f: FetchLike): FetchLike {
  return async (url, init) => {
    try {
      return await f(url, init);
    } catch (e) {
      if (!/socket hang up|ECONNRESET/.test(String(e))) throw e;
      return f(url, init);
    }
  };
}

/** A new order for 127.0.0.1 whose authorization is valid (http-01), finalized; returns its URL. */
async function finalized(): Promise<{ url: string; order: Order }> {
  const res = await c.post(c.dir.newOrder, { identifiers: [{ type: 'ip', value: '127.0.0.1' }] });
  assert.equal(res.status, 201, await res.clone().text());
  const url = res.headers.get('location')!;
  const order = (await res.json()) as Order;
  for (const a of order.authorizations) {
    const authz = (await (await c.post(a, '')).json()) as {
      challenges: { type: string; url: string; token: string }[];
    };
    const ch = authz.challenges.find((x) => x.type === 'http-01');
    if (!ch) continue; // reused, already valid
    http01.set(ch.token, await c.keyAuthorization(ch.token));
    await c.post(ch.url, {});
    await c.poll(a, (x: { status: string }) => x.status !== 'pending');
  }
  await c.poll<Order>(url, (o) => o.status === 'ready');
  const fin = await c.post(order.finalize, { csr: (await makeCsr([], { ips: ['127.0.0.1'] })).b64u });
  assert.equal(fin.status, 200, await fin.clone().text());
  return { url, order: (await fin.json()) as Order };
}

async function issued(): Promise<string> {
  const { url } = await finalized();
  const done = await c.poll<Order>(url, (o) => o.status !== 'processing');
  assert.equal(done.status, 'valid', JSON.stringify(done.error));
  return (await c.post(done.certificate!, '')).text();
}

const leafB64u = (pem: string) => b64uEncode(pemToDers(pem)[0]!);

async function revokedAt(dbUrl: string, table: string, serialOf: string): Promise<unknown> {
  const db = createClient({ url: dbUrl });
  try {
    const rows = await db.execute({
      sql: `SELECT revoked_at FROM ${table} WHERE serial = ?`,
      args: [serialOf],
    });
    return rows.rows[0]?.revoked_at ?? null;
  } finally {
    db.close();
  }
}

async function serialOf(pem: string): Promise<string> {
  const { AsnConvert } = await import('@peculiar/asn1-schema');
  const { Certificate } = await import('@peculiar/asn1-x509');
  const { toHex } = await import('../../shared/encoding.ts');
  return toHex(new Uint8Array(AsnConvert.parse(pemToDers(pem)[0]!, Certificate).tbsCertificate.serialNumber));
}

/** Points the edge at a stand-in signer (plain HTTP: the pinned CA is for the real one). */
async function edgeTo(handle: Parameters<typeof startFakeSigner>[0]): Promise<FakeSigner> {
  await fake?.close();
  fake = await startFakeSigner(handle);
  await sys.restartEdge({ EDGECA_SIGNER_URL: fake.url, EDGECA_SIGNER_CA_FILE: '' });
  return fake;
}

async function edgeToRealSigner(): Promise<void> {
  await sys.restartEdge(realEnv);
}

describe('the edge settles sign and revoke only on the signer’s signed answers', { timeout: 300_000 }, () => {
  let a = '';
  let b = '';

  test('the real signer’s signed answers are accepted, over TLS with its CA pinned', async () => {
    assert.match(sys.signerUrl, /^https:\/\//);
    a = await issued();
    b = await issued();
    await verifyChain(a, sys.caFile);
  });

  const pinnedKid = async () => {
    const { readFileSync } = await import('node:fs');
    return (JSON.parse(readFileSync(sys.init.signerAnswerPublicKeyFile, 'utf8')) as { kid: string }).kid;
  };
  const revokeBody = (serial: string) => ({
    status: 200,
    body: JSON.stringify({ serial, revokedAt: new Date().toISOString(), crlNumber: '99' }),
    headers: { 'content-type': 'application/json' },
  });
  const forged: { name: string; answer: (r: Parameters<typeof signedAnswer>[0]) => Promise<FakeAnswer> }[] = [
    { name: 'an unsigned 200', answer: async (r) => revokeBody(String(r.payload.serial)) },
    {
      name: 'a 200 signed by another key under the pinned kid',
      answer: async (r) => {
        const { privateKey } = await generateKeyPair('ES256', { extractable: true });
        const key = await importRelayPrivateKey({ ...(await exportJWK(privateKey)), kid: await pinnedKid() });
        return signedAnswer(r, key, revokeBody(String(r.payload.serial)));
      },
    },
  ];
  for (const f of forged) {
    test(`a forged revoke answer (${f.name}) does not mark the certificate revoked`, async () => {
      const stand = await edgeTo((r) => f.answer(r));
      try {
        const res = await c.post(c.dir.revokeCert, { certificate: leafB64u(a), reason: 1 });
        const text = await res.text();
        assert.equal(res.status, 503, text);
        assert.match(text, /serverInternal/);
        assert.equal(stand.requests.length, 1, 'the stand-in was asked');
        assert.equal(
          await revokedAt(sys.dbUrl, 'certificates', await serialOf(a)),
          null,
          'not revoked at the edge',
        );
        assert.ok(
          sys.logs.some((l) => l.event === 'relay-answer-refused'),
          'the refused answer is in the edge log',
        );
      } finally {
        await edgeToRealSigner();
      }
    });
  }

  test('a real signed revoke answer replayed for another certificate is refused', async () => {
    let recorded: FakeAnswer | undefined;
    const signerFetch = httpsFetch(sys.init.signerTlsCaFile);
    await edgeTo(async (r) => {
      if (!recorded) {
        recorded = await passThrough(sys.signerUrl, r, signerFetch);
        return recorded;
      }
      return recorded;
    });
    try {
      // The first revocation goes through to the real signer: a genuine signed answer.
      const first = await c.post(c.dir.revokeCert, { certificate: leafB64u(b), reason: 1 });
      assert.equal(first.status, 200, await first.clone().text());
      assert.notEqual(await revokedAt(sys.dbUrl, 'certificates', await serialOf(b)), null);
      // The same answer, replayed for A's revocation: another jti, another serial.
      const res = await c.post(c.dir.revokeCert, { certificate: leafB64u(a), reason: 1 });
      assert.equal(res.status, 503, await res.clone().text());
      assert.equal(await revokedAt(sys.dbUrl, 'certificates', await serialOf(a)), null);
      assert.equal(
        await revokedAt(`file:${join(sys.dir, 'signer.db')}`, 'issuance', await serialOf(a)),
        null,
      );
    } finally {
      await edgeToRealSigner();
    }
  });

  test('a real signed certificate answer replayed for another order leaves that order processing', async () => {
    let recorded: FakeAnswer | undefined;
    const signerFetch = httpsFetch(sys.init.signerTlsCaFile);
    await edgeTo(async (r) => {
      recorded ??= await passThrough(sys.signerUrl, r, signerFetch);
      return recorded;
    });
    let second: { url: string; order: Order };
    try {
      const first = await finalized();
      assert.equal(first.order.status, 'valid', 'the first order got the genuine answer');
      second = await finalized();
      assert.equal(second.order.status, 'processing', 'the replayed answer issued nothing');
    } finally {
      await edgeToRealSigner();
    }
    await new Promise((r) => setTimeout(r, 3100));
    const done = await c.poll<Order>(second.url, (o) => o.status !== 'processing');
    assert.equal(done.status, 'valid', 'the real signer completes it once it is asked');
  });

  test('a signer certificate from another CA is refused: the order stays processing', async () => {
    const other = await makeRelayTls({ names: ['127.0.0.1'], caName: 'another relay CA' });
    const otherCa = join(sys.dir, 'other-relay-ca.pem');
    writeFileSync(otherCa, other.caPem);
    await sys.restartEdge({ EDGECA_SIGNER_CA_FILE: otherCa });
    let url: string;
    try {
      const fin = await finalized();
      url = fin.url;
      assert.equal(fin.order.status, 'processing');
      const ready = await httpsFetch(sys.caFile)(`${sys.edgeUrl}/ready`);
      const text = await ready.text();
      assert.equal(ready.status, 503, text);
      const signer = (
        JSON.parse(text) as { checks: { name: string; detail: string; peers?: unknown[] }[] }
      ).checks.find((x) => x.name === 'signer');
      assert.match(signer?.detail ?? '', /TLS/);
      assert.ok(!text.includes(sys.signerUrl.replace('https://', '')), '/ready names no signer address');
    } finally {
      await edgeToRealSigner();
    }
    await new Promise((r) => setTimeout(r, 3100));
    const done = await c.poll<Order>(url, (o) => o.status !== 'processing');
    assert.equal(done.status, 'valid');
  });

  test('the real signer’s signed revoke answer revokes', async () => {
    const res = await c.post(c.dir.revokeCert, { certificate: leafB64u(a), reason: 1 });
    assert.equal(res.status, 200, await res.clone().text());
    assert.notEqual(await revokedAt(sys.dbUrl, 'certificates', await serialOf(a)), null);
  });
});
