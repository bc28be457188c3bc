// Dependency faults: each gives the right problem or the right wait, never a stuck
// order. Signer unreachable: finalize leaves the order processing with Retry-After, and it
// completes once the signer is back. Database locked by another connection beyond the busy
// timeout: a problem document (5xx with nothing half-written), then service resumes. DNS resolver
// down: the challenge ends invalid with a dns problem. A slow http-01 target: the challenge ends
// invalid with a connection problem within the validation deadline.
// (HSM session loss is proved where it lives: signer/hsm/token.test.ts reconnects a lost session.)
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createClient } from '@libsql/client';
import { makeCsr } from '../../harness/csr.ts';
import { startHttp01Server } from '../../harness/http01.ts';
import { freePort } from '../../harness/ports.ts';
import { newKey, TestAcme } from '../support/acme.ts';
import { type InprocEdge, startInprocEdge } from '../support/edge-app.ts';
import { httpsFetch } from '../support/https-fetch.ts';
import { type System, startSystem } from '../support/system.ts';
import { sleep } from './rig.ts';

type Doc = {
  status: string;
  type?: string;
  detail?: string;
  challenges?: { type: string; url: string; token: string; status: string; error?: { type: string } }[];
  authorizations?: string[];
  finalize?: string;
  certificate?: string;
};

async function json(res: Response): Promise<Doc> {
  return (await res.json()) as Doc;
}

async function pollUntil(acme: TestAcme, url: string, done: (d: Doc) => boolean, ms: number): Promise<Doc> {
  const end = Date.now() + ms;
  let d = await json(await acme.post(url, ''));
  while (!done(d) && Date.now() < end) {
    await sleep(100);
    d = await json(await acme.post(url, ''));
  }
  return d;
}

describe('signer unreachable', () => {
  let sys: System;
  let acme: TestAcme;
  let http: Awaited<ReturnType<typeof startHttp01Server>>;
  before(async () => {
    http = await startHttp01Server(await freePort());
    sys = await startSystem({ http01Port: http.port });
    acme = await new TestAcme(httpsFetch(sys.caFile), sys.directoryUrl, await newKey()).init();
    assert.equal((await acme.newAccount()).status, 201);
  });
  after(async () => {
    await sys?.stop();
    await http?.close();
  });

  it('keeps the order processing with Retry-After while the signer is away, and completes it after', async () => {
    const res = await acme.post(acme.dir.newOrder, { identifiers: [{ type: 'ip', value: '127.0.0.1' }] });
    const orderUrl = res.headers.get('location')!;
    const order = await json(res);
    const authz = await json(await acme.post(order.authorizations![0]!, ''));
    const ch = authz.challenges!.find((c) => c.type === 'http-01')!;
    http.set(ch.token, await acme.keyAuthorization(ch.token));
    await acme.post(ch.url, {});
    assert.equal((await pollUntil(acme, orderUrl, (o) => o.status === 'ready', 10_000)).status, 'ready');
    await sys.stopSigner();
    const fin = await acme.post(order.finalize!, { csr: (await makeCsr([], { ips: ['127.0.0.1'] })).b64u });
    assert.equal(fin.status, 200);
    assert.equal((await json(fin)).status, 'processing');
    assert.ok(Number(fin.headers.get('retry-after')) >= 1, 'Retry-After while the signer is away');
    const still = await acme.post(orderUrl, '');
    assert.equal((await json(still)).status, 'processing');
    await sys.startSigner();
    const done = await pollUntil(acme, orderUrl, (o) => o.status !== 'processing', 20_000);
    assert.equal(done.status, 'valid');
    assert.ok(done.certificate);
  });
});

describe('edge dependencies', () => {
  let edge: InprocEdge;
  let acme: TestAcme;
  let dbFile: string;
  let silent: Server;
  let silentPort: number;
  before(async () => {
    // A "DNS server" that never answers (UDP port with nobody) and an http-01 target that accepts
    // connections and never answers.
    silent = createServer(() => {});
    silentPort = await new Promise<number>((r) =>
      silent.listen(0, '127.0.0.1', () => r((silent.address() as { port: number }).port)),
    );
    edge = await startInprocEdge({
      dnsResolver: `127.0.0.1:${await freePort()}`,
      config: { http01Port: silentPort },
    });
    dbFile = String(edge.svc.config.dbUrl);
    acme = await new TestAcme(edge.fetch, edge.directoryUrl, await newKey()).init();
    assert.equal((await acme.newAccount()).status, 201);
  });
  after(() => {
    edge.close();
    silent.close();
  });

  async function challenge(id: { type: string; value: string }, type: string) {
    const res = await acme.post(acme.dir.newOrder, { identifiers: [id] });
    assert.equal(res.status, 201, await res.clone().text());
    const order = await json(res);
    const authzUrl = order.authorizations![0]!;
    const ch = (await json(await acme.post(authzUrl, ''))).challenges!.find((c) => c.type === type)!;
    assert.equal((await acme.post(ch.url, {})).status, 200);
    return { authzUrl, orderUrl: res.headers.get('location')!, ch };
  }

  it('DNS resolver down: the challenge ends invalid with a dns problem, the order invalid', async () => {
    const { authzUrl, orderUrl } = await challenge({ type: 'dns', value: 'nodns.example.test' }, 'http-01');
    const a = await pollUntil(acme, authzUrl, (d) => d.status !== 'pending', 30_000);
    assert.equal(a.status, 'invalid');
    const err = a.challenges!.find((c) => c.type === 'http-01')!.error;
    assert.equal(err?.type, 'urn:ietf:params:acme:error:dns');
    assert.equal((await json(await acme.post(orderUrl, ''))).status, 'invalid');
  });

  it('slow http-01 target: the challenge ends invalid with a connection problem within the deadline', async () => {
    const started = Date.now();
    const { authzUrl } = await challenge({ type: 'ip', value: '127.0.0.1' }, 'http-01');
    const a = await pollUntil(acme, authzUrl, (d) => d.status !== 'pending', 60_000);
    assert.equal(a.status, 'invalid', `after ${Date.now() - started} ms`);
    const err = a.challenges!.find((c) => c.type === 'http-01')!.error;
    assert.match(err?.type ?? '', /:(connection|unauthorized)$/);
  });

  it('database locked by another connection beyond the busy timeout: a problem document, nothing half-written', async () => {
    const before = await edge.snapshot();
    const other = createClient({ url: dbFile });
    const tx = await other.transaction('write');
    await tx.execute("UPDATE accounts SET contact = contact WHERE id = 'none'");
    try {
      const res = await acme.post(acme.dir.newOrder, {
        identifiers: [{ type: 'dns', value: 'locked.example.test' }],
      });
      const text = await res.text();
      assert.ok(res.status >= 400, `refused while locked: HTTP ${res.status}`);
      assert.match(res.headers.get('content-type') ?? '', /problem\+json/, text);
      assert.equal(res.status, 503, text);
      assert.ok(res.headers.get('retry-after'), 'a busy database asks the client to retry');
    } finally {
      await tx.rollback();
      other.close();
    }
    assert.equal(await edge.snapshot(), before, 'nothing half-written');
  });

  // After one batch() fails with SQLITE_BUSY, @libsql/client 0.18 (libsql 0.5.29) refuses every
  // later batch on that connection ("cannot commit transaction - SQL statements in progress");
  // edge/storage/db.ts resilientClient replaces the connection, so service resumes.
  it('database locked: service resumes once the lock is released', async () => {
    const ok = await acme.post(acme.dir.newOrder, {
      identifiers: [{ type: 'dns', value: 'locked.example.test' }],
    });
    assert.equal(ok.status, 201, await ok.text());
  });
});
