// A persistent ACME client for the crash tests: it drives orders to the end through edge and
// signer crashes, retrying each step (bounded) on a lost connection, a 5xx, a badNonce or a
// Retry-After, and records what it got. Built on the hand-rolled TestAcme (test/support/acme.ts).

import { makeCsr } from '../../harness/csr.ts';
import { ACME_ERROR_PREFIX } from '../../shared/problems.ts';
import type { FetchLike } from '../support/acme.ts';
import { newKey, TestAcme } from '../support/acme.ts';
import { sleep } from './rig.ts';

export interface Issued {
  orderUrl: string;
  certUrl: string;
  chainPem: string;
}

export interface ClientRecord {
  name: string;
  issued: Issued[];
  /** orders that ended invalid, with the problem the server gave */
  invalid: { orderUrl: string; error: unknown }[];
  /** steps retried after a fault (connection lost, 5xx, badNonce, Retry-After) */
  retries: number;
  /** orders given up on because a step kept failing (must stay 0) */
  abandoned: string[];
}

export type Http01Answers = Map<string, string>;

class Transient extends Error {}

interface OrderDoc {
  status: string;
  authorizations: string[];
  finalize: string;
  certificate?: string;
  error?: unknown;
}

export class CrashClient {
  acme!: TestAcme;
  readonly record: ClientRecord;
  constructor(
    readonly name: string,
    private readonly fetch: FetchLike,
    private readonly directoryUrl: string,
    private readonly answers: Http01Answers,
    private readonly maxStepAttempts = 200,
  ) {
    this.record = { name, issued: [], invalid: [], retries: 0, abandoned: [] };
  }

  /** One step, retried on faults with a short pause, at most maxStepAttempts times. */
  private async step<T>(what: string, f: () => Promise<T>): Promise<T> {
    let last = '';
    for (let i = 0; i < this.maxStepAttempts; i++) {
      try {
        return await f();
      } catch (e) {
        if (!(e instanceof Transient) && !isConnectionError(e)) throw e;
        last = (e as Error).message;
        this.record.retries++;
        await sleep(100 + Math.floor(Math.random() * 150));
      }
    }
    throw new Error(`${this.name}: ${what} kept failing: ${last}`);
  }

  /** POST (or POST-as-GET with '') and return the response; transient answers throw Transient. */
  private async post(url: string, payload: unknown, ok: number[] = [200, 201]): Promise<Response> {
    const res = await this.acme.post(url, payload);
    if (ok.includes(res.status)) return res;
    const text = await res.text();
    if (res.status >= 500 || /badNonce/.test(text))
      throw new Transient(`${url}: HTTP ${res.status} ${text.slice(0, 200)}`);
    throw new Error(`${this.name}: ${url}: HTTP ${res.status} ${text.slice(0, 300)}`);
  }

  async init(): Promise<void> {
    this.acme = new TestAcme(this.fetch, this.directoryUrl, await newKey('ES256'));
    await this.step('directory', async () => {
      const res = await this.fetch(this.directoryUrl);
      if (res.status !== 200) throw new Transient(`directory: HTTP ${res.status}`);
      this.acme.dir = (await res.json()) as TestAcme['dir'];
    });
    // newAccount with the same key is idempotent (RFC 8555 §7.3.1): a retry finds the account.
    await this.step('newAccount', async () => {
      const res = await this.acme.newAccount();
      const text = await res.text();
      if (res.status >= 500 || /badNonce/.test(text)) throw new Transient(`newAccount: HTTP ${res.status}`);
      if (!this.acme.kid)
        throw new Error(`${this.name}: newAccount: HTTP ${res.status} ${text.slice(0, 300)}`);
    });
  }

  /** Polls an order until it leaves `from` states; Retry-After and faults are waited out. */
  private async pollOrder(url: string, until: (o: OrderDoc) => boolean, bound = 400): Promise<OrderDoc> {
    for (let i = 0; i < bound; i++) {
      const o = await this.step(
        'poll order',
        async () => (await (await this.post(url, '')).json()) as OrderDoc,
      );
      if (until(o)) return o;
      await sleep(100);
    }
    throw new Error(`${this.name}: order ${url} did not move on within the bound`);
  }

  private async pollAuthz(url: string, bound = 600): Promise<void> {
    for (let i = 0; i < bound; i++) {
      const a = await this.step(
        'poll authz',
        async () => (await (await this.post(url, '')).json()) as { status: string },
      );
      if (a.status !== 'pending') return;
      await sleep(100);
    }
    throw new Error(`${this.name}: authorization ${url} stayed pending beyond the bound`);
  }

  /** Drives the order at `url` (already created) to valid or invalid. */
  async complete(url: string, ipOrName: string): Promise<void> {
    let o = await this.pollOrder(url, () => true);
    for (const az of o.authorizations) {
      const a = await this.step(
        'authz',
        async () =>
          (await (await this.post(az, '')).json()) as {
            status: string;
            challenges: { type: string; url: string; token: string; status: string }[];
          },
      );
      if (a.status !== 'pending') continue;
      const ch = a.challenges.find((c) => c.type === 'http-01');
      if (!ch) throw new Error(`${this.name}: no http-01 challenge for ${ipOrName}`);
      this.answers.set(ch.token, await this.acme.keyAuthorization(ch.token));
      if (ch.status === 'pending') await this.step('challenge', () => this.post(ch.url, {}));
      // RFC 8555 §7.5.1: the client polls the authorization; reading it also resumes a validation
      // that a crashed edge left behind (after STALE_ATTEMPT_MS, 30 s).
      await this.pollAuthz(az);
    }
    o = await this.pollOrder(url, (x) => x.status !== 'pending');
    if (o.status === 'ready') {
      const csr = (await makeCsr([], { ips: [ipOrName] })).b64u;
      await this.step('finalize', async () => {
        const res = await this.acme.post(o.finalize, { csr });
        if (res.status === 200) return;
        const text = await res.text();
        // An earlier finalize that committed before a crash: the order is already processing.
        if (res.status === 403 && text.includes(`${ACME_ERROR_PREFIX}orderNotReady`)) return;
        if (res.status >= 500 || /badNonce/.test(text))
          throw new Transient(`finalize: HTTP ${res.status} ${text.slice(0, 200)}`);
        throw new Error(`${this.name}: finalize: HTTP ${res.status} ${text.slice(0, 300)}`);
      });
      o = await this.pollOrder(url, (x) => x.status === 'valid' || x.status === 'invalid');
    }
    if (o.status === 'invalid') {
      this.record.invalid.push({ orderUrl: url, error: o.error });
      return;
    }
    if (o.status !== 'valid' || !o.certificate)
      throw new Error(`${this.name}: order ${url} ended ${o.status}`);
    const certUrl = o.certificate;
    const chainPem = await this.step('certificate', async () => (await this.post(certUrl, '')).text());
    this.record.issued.push({ orderUrl: url, certUrl, chainPem });
  }

  /** Orders one certificate for an IP address and drives it to the end. */
  async issueOne(ip: string): Promise<void> {
    const url = await this.step('newOrder', async () => {
      const res = await this.post(
        this.acme.dir.newOrder,
        { identifiers: [{ type: 'ip', value: ip }] },
        [201],
      );
      const loc = res.headers.get('location');
      if (!loc) throw new Error('newOrder without Location');
      return loc;
    });
    try {
      await this.complete(url, ip);
    } catch (e) {
      this.record.abandoned.push(`${url}: ${(e as Error).message}`);
    }
  }
}

function isConnectionError(e: unknown): boolean {
  const code = (e as { code?: string }).code ?? '';
  const msg = (e as Error).message ?? '';
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH'].includes(code) ||
    /socket hang up|timeout|ECONNRESET|ECONNREFUSED|no Replay-Nonce/.test(msg)
  );
}
