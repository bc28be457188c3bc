// The load generator's ACME client: one account per worker, then complete issuance flows
// (newNonce, newOrder, authz, http-01 answered by the generator, poll, finalize with a fresh
// P-256 CSR, poll, download) over keep-alive HTTPS. Nonces from responses are reused, as real
// clients do; every request's latency is recorded under its kind.
import { Agent, request } from 'node:https';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { acmeJws, type JwsKey } from '../harness/acme-jws.ts';
import { makeCsr } from '../harness/csr.ts';
import type { Http01Server } from '../harness/http01.ts';

export type Kind =
  | 'newNonce'
  | 'newAccount'
  | 'newOrder'
  | 'authz'
  | 'challenge'
  | 'pollAuthz'
  | 'finalize'
  | 'pollOrder'
  | 'certificate';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export type Latencies = Map<Kind, number[]>;

/** Polls are bounded: a flow that needs more than this many polls of one resource fails. */
const MAX_POLLS = 400;
const POLL_DELAY_MS = 5;
/** A request without an answer this long is an error of its flow (the flow fails, the run goes on). */
const REQUEST_TIMEOUT_MS = 20_000;

export class Http {
  readonly agent: Agent;
  constructor(
    readonly ca: Buffer,
    maxSockets: number,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets, ca });
  }

  send(url: string, method: string, body?: string): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = body ? { 'content-type': 'application/jose+json' } : {};
      const req = request(url, { method, headers, agent: this.agent, timeout: REQUEST_TIMEOUT_MS }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      });
      req.on('timeout', () => req.destroy(new Error(`timeout: ${method} ${url}`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

interface Directory {
  newNonce: string;
  newAccount: string;
  newOrder: string;
}

const header = (r: Reply, name: string): string | undefined => {
  const v = r.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

export class FlowError extends Error {}

/** One ACME account and the requests it makes; not safe for concurrent flows (one nonce). */
export class BenchAccount {
  private nonce: string | undefined;
  private kid: string | undefined;
  private thumbprint = '';

  private constructor(
    private readonly http: Http,
    private readonly dir: Directory,
    private readonly key: JwsKey,
    /** where request latencies go (switched after set-up so account creation is not measured) */
    public lat: Latencies,
  ) {}

  /** told just before each request is sent and just after its answer (server CPU per kind) */
  meter: { before(): void | Promise<void>; after(kind: Kind): void | Promise<void> } | undefined;

  static async create(http: Http, directoryUrl: string, lat: Latencies): Promise<BenchAccount> {
    const dirReply = await http.send(directoryUrl, 'GET');
    if (dirReply.status !== 200) throw new FlowError(`directory answered ${dirReply.status}`);
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const acct = new BenchAccount(
      http,
      JSON.parse(dirReply.body) as Directory,
      { alg: 'ES256', privateKey: privateKey as CryptoKey, jwk: await exportJWK(publicKey) },
      lat,
    );
    acct.thumbprint = await calculateJwkThumbprint(acct.key.jwk, 'sha256');
    const res = await acct.post('newAccount', acct.dir.newAccount, { termsOfServiceAgreed: true }, true);
    if (res.status !== 201 && res.status !== 200)
      throw new FlowError(`newAccount: ${res.status} ${res.body}`);
    acct.kid = header(res, 'location');
    return acct;
  }

  private record(kind: Kind, ms: number): void {
    const list = this.lat.get(kind);
    if (list) list.push(ms);
    else this.lat.set(kind, [ms]);
  }

  private async timed(kind: Kind, url: string, method: string, body?: string): Promise<Reply> {
    await this.meter?.before();
    const t0 = performance.now();
    const res = await this.http.send(url, method, body);
    this.record(kind, performance.now() - t0);
    await this.meter?.after(kind);
    const n = header(res, 'replay-nonce');
    if (n) this.nonce = n;
    return res;
  }

  async freshNonce(): Promise<void> {
    const res = await this.timed('newNonce', this.dir.newNonce, 'HEAD');
    if (!header(res, 'replay-nonce')) throw new FlowError(`newNonce: no nonce (${res.status})`);
  }

  /** A signed POST (payload '' = POST-as-GET); one retry on badNonce with the nonce it carried. */
  async post(kind: Kind, url: string, payload: unknown, useJwk = false): Promise<Reply> {
    for (let attempt = 0; ; attempt++) {
      if (!this.nonce) await this.freshNonce();
      const nonce = this.nonce;
      this.nonce = undefined;
      const jws = await acmeJws({ key: this.key, url, nonce, kid: useJwk ? undefined : this.kid }, payload);
      const res = await this.timed(kind, url, 'POST', JSON.stringify(jws));
      if (res.status === 400 && attempt === 0 && res.body.includes('badNonce')) continue;
      return res;
    }
  }

  private async pollUntil(kind: Kind, url: string, done: (status: string) => boolean): Promise<unknown> {
    for (let i = 0; i < MAX_POLLS; i++) {
      const res = await this.post(kind, url, '');
      if (res.status !== 200) throw new FlowError(`${kind}: ${res.status} ${res.body.slice(0, 300)}`);
      const obj = JSON.parse(res.body) as { status: string };
      if (obj.status === 'invalid') throw new FlowError(`${kind}: invalid ${res.body.slice(0, 500)}`);
      if (done(obj.status)) return obj;
      await new Promise((r) => setTimeout(r, POLL_DELAY_MS));
    }
    throw new FlowError(`${kind}: not done after ${MAX_POLLS} polls`);
  }

  /** One complete issuance for `name`; returns the PEM chain downloaded. */
  async issue(name: string, http01: Http01Server): Promise<string> {
    await this.freshNonce();
    const orderRes = await this.post('newOrder', this.dir.newOrder, {
      identifiers: [{ type: 'dns', value: name }],
    });
    if (orderRes.status !== 201)
      throw new FlowError(`newOrder: ${orderRes.status} ${orderRes.body.slice(0, 300)}`);
    const orderUrl = header(orderRes, 'location');
    const order = JSON.parse(orderRes.body) as { authorizations: string[]; finalize: string; status: string };
    if (!orderUrl) throw new FlowError('newOrder: no Location');
    for (const authzUrl of order.authorizations) {
      const authzRes = await this.post('authz', authzUrl, '');
      if (authzRes.status !== 200) throw new FlowError(`authz: ${authzRes.status}`);
      const authz = JSON.parse(authzRes.body) as {
        status: string;
        challenges: { type: string; url: string; token: string }[];
      };
      if (authz.status === 'valid') continue;
      const ch = authz.challenges.find((c) => c.type === 'http-01');
      if (!ch) throw new FlowError('authz: no http-01 challenge');
      http01.set(ch.token, `${ch.token}.${this.thumbprint}`);
      try {
        const chRes = await this.post('challenge', ch.url, {});
        if (chRes.status !== 200)
          throw new FlowError(`challenge: ${chRes.status} ${chRes.body.slice(0, 300)}`);
        await this.pollUntil('pollAuthz', authzUrl, (s) => s === 'valid');
      } finally {
        http01.remove(ch.token);
      }
    }
    const csr = await makeCsr([name]);
    const finRes = await this.post('finalize', order.finalize, { csr: csr.b64u });
    if (finRes.status !== 200) throw new FlowError(`finalize: ${finRes.status} ${finRes.body.slice(0, 300)}`);
    let fin = JSON.parse(finRes.body) as { status: string; certificate?: string };
    if (fin.status !== 'valid') {
      fin = (await this.pollUntil('pollOrder', orderUrl, (s) => s === 'valid')) as typeof fin;
    }
    if (!fin.certificate) throw new FlowError('order valid without a certificate URL');
    const certRes = await this.post('certificate', fin.certificate, '');
    if (certRes.status !== 200) throw new FlowError(`certificate: ${certRes.status}`);
    return certRes.body;
  }
}
