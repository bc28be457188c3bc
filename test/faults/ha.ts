// What the high-availability fault tests share: services as child processes that can be killed
// with SIGKILL and started again on the same port, the checks every such test ends with (each
// order valid or invalid with a reason, one certificate per order), revocation through ACME, and a
// watcher that fetches the signers' CRLs all along and checks that their numbers only grow.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createClient } from '@libsql/client';
import * as x509 from '@peculiar/x509';
import { type Child, spawnChild } from '../../harness/child.ts';
import { httpAnswers, waitFor } from '../../harness/wait.ts';
import { b64uEncode, pemToDers } from '../../shared/encoding.ts';
import type { CrashClient, Issued } from './client.ts';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A service run as a child process in its own process group, restartable on the same port. */
export interface Service {
  readonly name: string;
  readonly url: string;
  /** starts it and waits (bounded) until healthUrl answers 200 */
  start(): Promise<void>;
  /** SIGKILL to its process group; resolves once it is gone */
  kill9(): Promise<void>;
  /** SIGTERM, then SIGKILL after 5 s */
  stop(): Promise<void>;
  running(): boolean;
  /** its recent output, for failure messages */
  output(): string;
}

export interface ServiceSpec {
  name: string;
  url: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  healthUrl: string;
  /** how to reach healthUrl (e.g. a fetch trusting the dev root) */
  fetch: (url: string) => Promise<Response>;
  startTimeoutMs?: number;
}

export function service(spec: ServiceSpec): Service {
  let child: Child | undefined;
  let outputs = '';
  const bound = spec.startTimeoutMs ?? 120_000;
  return {
    name: spec.name,
    url: spec.url,
    running: () => child !== undefined && !child.exited(),
    output: () => (outputs + (child?.output() ?? '')).slice(-6000),
    async start() {
      if (child && !child.exited()) return;
      if (child) outputs = (outputs + child.output()).slice(-20_000);
      // NODE_TEST_CONTEXT would make a Node child report to this test runner.
      const c = spawnChild(spec.name, spec.command, spec.args, {
        cwd: spec.cwd,
        env: { ...spec.env, NODE_TEST_CONTEXT: '' },
      });
      child = c;
      try {
        const res = await waitFor(
          `${spec.name} healthy at ${spec.healthUrl}`,
          httpAnswers(spec.healthUrl, { fetch: spec.fetch }),
          {
            timeoutMs: bound,
            giveUp: () => (c.exited() ? `${spec.name} exited while starting` : undefined),
            context: () => c.output().slice(-4000),
          },
        );
        await res.body?.cancel();
      } catch (e) {
        await c.stop();
        throw e;
      }
    },
    async kill9() {
      const c = child;
      if (!c || c.exited()) return;
      try {
        process.kill(-c.pid, 'SIGKILL');
      } catch {
        // gone already
      }
      for (let i = 0; i < 400 && !c.exited(); i++) await sleep(25);
      if (!c.exited()) throw new Error(`${spec.name} survived SIGKILL`);
    },
    async stop() {
      await child?.stop();
    },
  };
}

export type Row = Record<string, unknown>;

/** Rows from a libSQL database (the edge's), opened and closed for this one query. */
export async function libsqlRows(url: string, sql: string): Promise<Row[]> {
  const c = createClient({ url });
  try {
    return (await c.execute(sql)).rows as unknown as Row[];
  } finally {
    c.close();
  }
}

/**
 * Orders whose newOrder answer was lost in a crash were never seen by their client: finish them
 * as their owner would (each must still be completable, none stuck).
 */
export async function finishOpenOrders(
  edgeDbUrl: string,
  edgeUrl: string,
  clients: CrashClient[],
): Promise<number> {
  const byAccount = new Map(clients.map((c) => [c.acme.kid!.split('/').pop()!, c]));
  const open = await libsqlRows(
    edgeDbUrl,
    "SELECT id, account_id, identifiers FROM orders WHERE status NOT IN ('valid', 'invalid')",
  );
  for (const o of open) {
    const owner = byAccount.get(String(o.account_id));
    assert.ok(owner, `order ${o.id} belongs to a test client`);
    const ip = (JSON.parse(String(o.identifiers)) as { value: string }[])[0]!.value;
    await owner.complete(`${edgeUrl}/acme/order/${o.id}`, ip);
  }
  return open.length;
}

export interface EdgeLedger {
  orders: Row[];
  /** order id → serial (lowercase hex) of its one certificate at the edge */
  certByOrder: Map<string, string>;
  certs: Row[];
}

/**
 * The edge's orders and certificates, checked: every order is valid, or invalid with a reason; no
 * order has two certificates; every valid order has one.
 */
export async function edgeLedger(edgeDbUrl: string, summary = ''): Promise<EdgeLedger> {
  const orders = await libsqlRows(edgeDbUrl, 'SELECT id, status, error FROM orders');
  const certs = await libsqlRows(
    edgeDbUrl,
    'SELECT order_id, serial, created_at, revoked_at, chain_pem FROM certificates',
  );
  for (const o of orders) {
    assert.ok(o.status === 'valid' || o.status === 'invalid', `order ${o.id} is ${o.status} ${summary}`);
    if (o.status === 'invalid')
      assert.ok(o.error && String(o.error).includes('detail'), `order ${o.id} invalid without a reason`);
  }
  const certByOrder = new Map<string, string>();
  for (const c of certs) {
    const id = String(c.order_id);
    assert.ok(!certByOrder.has(id), `order ${id} has two certificates at the edge`);
    certByOrder.set(id, normSerial(String(c.serial)));
  }
  for (const o of orders.filter((x) => x.status === 'valid'))
    assert.ok(certByOrder.has(String(o.id)), `valid order ${o.id} has no certificate`);
  return { orders, certByOrder, certs };
}

/** Serials compare as lowercase hex without leading zeros. */
export const normSerial = (s: string) => s.toLowerCase().replace(/^0+/, '');

/** Every client got certificates through the faults, gave up on none, and each is on the edge's record. */
export function assertClientsServed(clients: CrashClient[], ledger: EdgeLedger): void {
  for (const c of clients) {
    assert.deepEqual(c.record.abandoned, [], `${c.name} gave up on orders`);
    assert.ok(c.record.issued.length > 0, `${c.name} got no certificate`);
    for (const got of c.record.issued) {
      const id = got.orderUrl.split('/').pop()!;
      assert.ok(ledger.certByOrder.has(id), `${c.name}: order ${id} has its certificate on record`);
      assert.match(got.chainPem, /^-----BEGIN CERTIFICATE-----/);
    }
  }
}

/**
 * Revokes an issued certificate through ACME revokeCert (RFC 8555 §7.6), signed by the account;
 * a 5xx (no signer reachable) is retried, bounded. Returns the serial.
 */
export async function revokeThroughAcme(client: CrashClient, got: Issued, reason = 4): Promise<string> {
  const der = pemToDers(got.chainPem)[0];
  if (!der) throw new Error('no certificate in the chain');
  const serial = normSerial(new x509.X509Certificate(new Uint8Array(der)).serialNumber);
  let last = '';
  for (let i = 0; i < 60; i++) {
    const res = await client.acme
      .post(client.acme.dir.revokeCert, { certificate: b64uEncode(der), reason })
      .catch((e: Error) => ({ status: 0, text: async () => e.message }) as unknown as Response);
    if (res.status === 200) return serial;
    last = `HTTP ${res.status} ${(await res.text()).slice(0, 200)}`;
    if (res.status !== 0 && res.status < 500 && !/badNonce/.test(last)) break;
    await sleep(500);
  }
  throw new Error(`revocation of ${serial} failed: ${last}`);
}

/** The CRL number (RFC 5280 §5.2.3) of a DER CRL, as a bigint. */
export function crlNumberOf(crl: x509.X509Crl): bigint {
  const ext = crl.extensions.find((e) => e.type === '2.5.29.20');
  if (!ext) throw new Error('the CRL has no CRL number');
  const v = new Uint8Array(ext.value);
  // INTEGER, short-form length: the numbers here are at most 20 octets (§5.2.3)
  if (v[0] !== 0x02 || (v[1] ?? 0x80) >= 0x80) throw new Error('the CRL number is not a DER INTEGER');
  return BigInt(`0x${Buffer.from(v.subarray(2, 2 + v[1]!)).toString('hex') || '0'}`);
}

export interface CrlSeen {
  at: number;
  from: string;
  issuer: string;
  number: bigint;
  sha256: string;
}

/**
 * Fetches GET /v1/crl from each signer in turn, about once a second, until stopped (bounded),
 * keeping what it got; a signer that is down is skipped. check() then holds the numbers to
 * RFC 5280 §5.2.3: per issuer, what relying parties were served never goes backwards, and one
 * number always names the same CRL.
 */
export function watchCrls(urls: () => string[], everyMs = 1000): { seen: CrlSeen[]; stop(): Promise<void> } {
  const seen: CrlSeen[] = [];
  let running = true;
  const loop = (async () => {
    for (let i = 0; running && i < 3600; i++) {
      for (const url of urls()) {
        try {
          const res = await fetch(`${url}/v1/crl`, { signal: AbortSignal.timeout(5000) });
          if (res.status !== 200) continue;
          const der = new Uint8Array(await res.arrayBuffer());
          const crl = new x509.X509Crl(der);
          seen.push({
            at: Date.now(),
            from: url,
            issuer: crl.issuer,
            number: crlNumberOf(crl),
            sha256: createHash('sha256').update(der).digest('hex'),
          });
        } catch {
          // down or restarting: the next round tries again
        }
      }
      await sleep(everyMs);
    }
  })();
  return {
    seen,
    async stop() {
      running = false;
      await loop;
    },
  };
}

/** The served CRL numbers per issuer never decrease over time, and a number names one CRL only. */
export function assertCrlNumbersGrow(seen: CrlSeen[]): { issuers: number; distinct: number } {
  const byIssuer = new Map<string, CrlSeen[]>();
  for (const s of [...seen].sort((a, b) => a.at - b.at)) {
    const list = byIssuer.get(s.issuer) ?? [];
    list.push(s);
    byIssuer.set(s.issuer, list);
  }
  let distinct = 0;
  for (const [issuer, list] of byIssuer) {
    const byNumber = new Map<bigint, string>();
    let prev: CrlSeen | undefined;
    for (const s of list) {
      const known = byNumber.get(s.number);
      assert.ok(
        known === undefined || known === s.sha256,
        `${issuer}: CRL number ${s.number} names two CRLs`,
      );
      byNumber.set(s.number, s.sha256);
      if (prev)
        assert.ok(
          s.number >= prev.number,
          `${issuer}: CRL number went back from ${prev.number} (${prev.from}) to ${s.number} (${s.from})`,
        );
      prev = s;
    }
    distinct += byNumber.size;
  }
  return { issuers: byIssuer.size, distinct };
}

/** Checks a CRL's signature against the issuer and returns its entries' serials (normalised). */
export async function crlSerials(
  der: Uint8Array<ArrayBuffer>,
  issuerPem: string,
): Promise<{ number: bigint; serials: Set<string> }> {
  const crl = new x509.X509Crl(der);
  const issuer = new x509.X509Certificate(issuerPem);
  assert.ok(await crl.verify({ publicKey: issuer }), 'the CRL signature verifies against its issuer');
  return { number: crlNumberOf(crl), serials: new Set(crl.entries.map((e) => normSerial(e.serialNumber))) };
}
