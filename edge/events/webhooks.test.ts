// Webhooks end to end in process: the admin API registers endpoints (URL rules, secret shown once),
// the events run posts each outbox row to a real receiver on 127.0.0.1 signed per Standard
// Webhooks, retries a failing receiver with backoff, dead-letters after the bound, and shows the
// last answer; a slow receiver is cut off by the timeout.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type InprocEdge, startInprocEdge } from '../../test/support/edge-app.ts';
import { runEvents } from './delivery.ts';
import { verifyWebhook } from './signature.ts';

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

/** A receiver whose answer the test sets: status, or a delay longer than the timeout. */
class Receiver {
  readonly got: Received[] = [];
  status = 200;
  delayMs = 0;
  private server!: Server;
  url = '';
  async start() {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString('utf8');
      });
      req.on('end', () => {
        this.got.push({ headers: req.headers, body });
        setTimeout(() => {
          res.writeHead(this.status, { 'content-type': 'text/plain' });
          res.end(this.status < 300 ? 'thanks' : 'receiver broke');
        }, this.delayMs);
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }
  stop() {
    this.server.closeAllConnections();
    this.server.close();
  }
}

let edge: InprocEdge;
let strict: InprocEdge;
let token: string;
let strictToken: string;
const rx = new Receiver();

async function writeToken(e: InprocEdge) {
  const { admin } = await e.svc.stores();
  const t = await admin.newToken('test', 'write');
  await admin.commit([t.stmt], {
    tokenId: 'cli',
    action: 'token.create',
    target: 't',
    before: null,
    after: null,
  });
  return t.token;
}

async function call(e: InprocEdge, tok: string, method: string, path: string, body?: unknown) {
  const res = await e.app.request(`https://acme.test:14000/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, doc: JSON.parse(await res.text()) as Record<string, unknown> };
}

/** An outbox row as the state changes write them (here through a condition event). */
async function someEvent(e: InprocEdge, subject: string) {
  await e.svc.events.record({
    id: `evt_test_${subject}`,
    type: 'ratelimit.hit',
    at: Date.now(),
    data: { subject },
  });
}

before(async () => {
  await rx.start();
  edge = await startInprocEdge({ config: { webhookTestTargets: true } });
  strict = await startInprocEdge();
  token = await writeToken(edge);
  strictToken = await writeToken(strict);
});
after(() => {
  rx.stop();
  edge.close();
  strict.close();
});

describe('registering endpoints', () => {
  const refusals: [string, string, RegExp][] = [
    ['http:// without the test setting', 'http://hooks.example.com/x', /must be https/],
    ['a loopback address', 'https://127.0.0.1/x', /loopback/],
    ['a name in the URL for ::1', 'https://[::1]/x', /loopback/],
    ['a link-local address', 'https://169.254.10.1/x', /link-local/],
    ['the cloud metadata address', 'https://169.254.169.254/latest', /metadata/],
    ['an IPv6-mapped metadata address', 'https://[::ffff:169.254.169.254]/x', /metadata/],
    [
      'a private address while private targets are off',
      'https://10.1.2.3/x',
      /private address.*allowPrivateTargets/,
    ],
    ['credentials in the URL', 'https://u:p@hooks.example.com/x', /credentials/],
    ['a name that does not resolve', 'https://nowhere.invalid/x', /DNS lookup of nowhere.invalid failed/],
  ];
  for (const [what, url, why] of refusals) {
    it(`refuses ${what}`, async () => {
      const r = await call(strict, strictToken, 'POST', '/webhooks', { url, events: ['certificate.issued'] });
      assert.equal(r.status, 400, JSON.stringify(r.doc));
      assert.equal(r.doc.field, 'url');
      assert.match(String(r.doc.detail), why);
    });
  }

  it('refuses an unknown event type, naming the known ones', async () => {
    const r = await call(strict, strictToken, 'POST', '/webhooks', {
      url: 'https://10.0.0.1/',
      events: ['cert.made'],
    });
    assert.equal(r.status, 400);
    assert.match(String(r.doc.detail), /certificate\.issued/);
  });

  it('accepts a private address once the events setting allows private targets', async () => {
    const set = await call(strict, strictToken, 'PUT', '/webhook-settings', { allowPrivateTargets: true });
    assert.equal(set.status, 200, JSON.stringify(set.doc));
    const r = await call(strict, strictToken, 'POST', '/webhooks', {
      url: 'https://10.1.2.3/x',
      events: ['order.failed'],
    });
    assert.equal(r.status, 201, JSON.stringify(r.doc));
    // loopback stays refused whatever the setting
    const lo = await call(strict, strictToken, 'POST', '/webhooks', {
      url: 'https://127.0.0.2/',
      events: ['order.failed'],
    });
    assert.equal(lo.status, 400);
  });

  it('shows the secret once: not in the list, not in the endpoint, not in the change log', async () => {
    const r = await call(edge, token, 'POST', '/webhooks', { url: rx.url, events: ['ratelimit.hit'] });
    assert.equal(r.status, 201);
    const secret = String(r.doc.secret);
    assert.match(secret, /^whsec_/);
    const list = await call(edge, token, 'GET', '/webhooks');
    const one = await call(edge, token, 'GET', `/webhooks/${r.doc.id}`);
    const changes = await call(edge, token, 'GET', '/changes?limit=50');
    for (const doc of [list.doc, one.doc, changes.doc])
      assert.ok(!JSON.stringify(doc).includes(secret.slice(6)));
    await call(edge, token, 'DELETE', `/webhooks/${r.doc.id}`);
  });
});

describe('deliveries', () => {
  let id = '';
  let secret = '';
  before(async () => {
    await call(edge, token, 'PUT', '/webhook-settings', {
      retryBaseSeconds: 1,
      maxAttempts: 3,
      timeoutMs: 1000,
    });
    const r = await call(edge, token, 'POST', '/webhooks', { url: rx.url, events: ['ratelimit.hit'] });
    id = String(r.doc.id);
    secret = String(r.doc.secret);
  });

  it('posts each new event once, signed so that a Standard Webhooks receiver verifies it', async () => {
    await edge.svc.events.record({ id: 'evt_other', type: 'order.failed', at: Date.now(), data: {} });
    await someEvent(edge, 'a');
    const run = await runEvents(edge.svc);
    assert.equal(run.delivered, 1, JSON.stringify(run));
    const got = rx.got.at(-1)!;
    assert.equal(got.headers['webhook-id'], 'evt_test_a');
    const ok = await verifyWebhook(
      secret,
      {
        id: String(got.headers['webhook-id']),
        timestamp: String(got.headers['webhook-timestamp']),
        signature: String(got.headers['webhook-signature']),
      },
      got.body,
    );
    assert.equal(ok, true);
    const payload = JSON.parse(got.body);
    assert.equal(payload.type, 'ratelimit.hit');
    assert.deepEqual(payload.data, { subject: 'a' });
    // nothing left to send: the filtered-out order.failed was never queued
    const again = await runEvents(edge.svc);
    assert.equal(again.delivered + again.retrying + again.dead, 0);
    const shown = await call(edge, token, 'GET', `/webhooks/${id}`);
    const d = (shown.doc.deliveries as Record<string, unknown>[])[0]!;
    assert.equal(d.status, 'delivered');
    assert.equal(d.lastStatus, 200);
    assert.equal(d.lastResponse, 'thanks');
  });

  it('retries a 5xx with the same id after the backoff, then dead-letters after maxAttempts', async () => {
    rx.status = 503;
    await someEvent(edge, 'b');
    const before = rx.got.length;
    const t0 = Date.now();
    assert.equal((await runEvents(edge.svc, { now: t0 })).retrying, 1);
    // not due yet: the backoff holds it back
    assert.equal((await runEvents(edge.svc, { now: t0 + 10 })).retrying, 0);
    assert.equal((await runEvents(edge.svc, { now: Date.now() + 1500 })).retrying, 1);
    assert.equal((await runEvents(edge.svc, { now: Date.now() + 5000 })).dead, 1);
    assert.equal((await runEvents(edge.svc, { now: Date.now() + 60_000 })).dead, 0);
    const sent = rx.got.slice(before);
    assert.equal(sent.length, 3);
    assert.deepEqual(new Set(sent.map((s) => s.headers['webhook-id'])), new Set(['evt_test_b']));
    const shown = await call(edge, token, 'GET', `/webhooks/${id}`);
    const d = (shown.doc.deliveries as Record<string, unknown>[]).find((x) => x.eventId === 'evt_test_b')!;
    assert.equal(d.status, 'dead');
    assert.equal(d.attempts, 3);
    assert.equal(d.lastStatus, 503);
    assert.equal(d.lastResponse, 'receiver broke');
    // a dead delivery comes back by hand
    rx.status = 200;
    const retry = await call(edge, token, 'POST', `/webhooks/${id}/deliveries/${d.eventSeq}/retry`);
    assert.equal(retry.status, 200, JSON.stringify(retry.doc));
    assert.equal((await runEvents(edge.svc)).delivered, 1);
  });

  it('gives up on a receiver slower than the timeout and records why', async () => {
    rx.delayMs = 3000;
    await someEvent(edge, 'c');
    const run = await runEvents(edge.svc);
    rx.delayMs = 0;
    assert.equal(run.retrying, 1);
    const shown = await call(edge, token, 'GET', `/webhooks/${id}`);
    const d = (shown.doc.deliveries as Record<string, unknown>[]).find((x) => x.eventId === 'evt_test_c')!;
    assert.match(String(d.lastError), /no answer within 1000 ms/);
  });

  it('an endpoint registered later receives only what happens after it', async () => {
    const r = await call(edge, token, 'POST', '/webhooks', {
      url: `${rx.url}?late`,
      events: ['ratelimit.hit'],
    });
    const before = rx.got.filter((g) => g.headers['webhook-id'] === 'evt_test_a').length;
    await runEvents(edge.svc, { now: Date.now() + 120_000 });
    const after = rx.got.filter((g) => g.headers['webhook-id'] === 'evt_test_a').length;
    assert.equal(after, before);
    await call(edge, token, 'DELETE', `/webhooks/${r.doc.id}`);
  });
});
