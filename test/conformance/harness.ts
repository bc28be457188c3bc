// The conformance tables' shared machinery: a table runner that sends one bad request per case and
// checks everything RFC 8555 and invariant 5 in docs/architecture.md promise about the answer (status, problem
// document, subproblems, a fresh Replay-Nonce, Link rel="index", no row changed), plus the fixtures
// the tables need: accounts, orders, an http-01 responder on loopback, a software signer stand-in.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { exportJWK } from 'jose';
import type { SignerClient } from '../../edge/relay/signer-client.ts';
import { b64uEncode } from '../../shared/encoding.ts';
import { ACME_ERROR_PREFIX, type Identifier } from '../../shared/problems.ts';
import { type AcmeKey, TestAcme } from '../support/acme.ts';
import type { InprocEdge } from '../support/edge-app.ts';

export const utf8 = new TextEncoder();

export interface ProblemDoc {
  type: string;
  detail: string;
  status?: number;
  identifier?: Identifier;
  subproblems?: ProblemDoc[];
  algorithms?: string[];
}

export interface BadRequest<W> {
  /** the outcome, e.g. "rejects a JWS signed with HS256 with badSignatureAlgorithm" */
  name: string;
  status: number;
  /** the ACME error type without its urn:ietf:params:acme:error: prefix */
  type: string;
  /** several identifiers at fault: one subproblem per identifier (RFC 8555 §6.7.1) */
  subproblems?: { type: string; identifier: Identifier }[];
  /** what the detail must say, where the type alone would not prove the right check fired */
  detail?: RegExp;
  /** badSignatureAlgorithm must list the algorithms the server accepts (RFC 8555 §6.2) */
  algorithms?: boolean;
  /** which edge the request goes to (default: the world's main edge) */
  edge?: (w: W) => InprocEdge;
  send(w: W): Promise<Response>;
  /** further checks on the answer */
  check?(doc: ProblemDoc, res: Response, w: W): void;
}

/** Every Replay-Nonce seen by this process: a nonce handed out twice is not fresh. */
const seenNonces = new Set<string>();

export function noteNonce(n: string | null): void {
  if (n) seenNonces.add(n);
}

/** Asserts everything the answer to a bad request must carry; returns the problem document. */
export async function expectProblem(res: Response, c: BadRequestCore, edge: InprocEdge): Promise<ProblemDoc> {
  const text = await res.text();
  assert.equal(res.status, c.status, `HTTP status (body: ${text.slice(0, 300)})`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json\b/, 'Content-Type');
  const doc = JSON.parse(text) as ProblemDoc;
  assert.equal(doc.type, ACME_ERROR_PREFIX + c.type, `problem type (detail: ${doc.detail})`);
  assert.equal(typeof doc.detail, 'string', 'detail is a string');
  assert.ok(doc.detail.trim().length > 0, 'detail is not empty');
  if (c.detail) assert.match(doc.detail, c.detail, 'detail names the fault');
  if (process.env.CONFORMANCE_LOG)
    console.log(`${res.status} ${doc.type.slice(ACME_ERROR_PREFIX.length)}: ${doc.detail}`);
  if (doc.status !== undefined) assert.equal(doc.status, c.status, 'problem "status" matches HTTP status');
  if (c.subproblems) {
    assert.ok(Array.isArray(doc.subproblems), 'subproblems present');
    const got = (doc.subproblems ?? []).map((s) => {
      assert.ok(typeof s.detail === 'string' && s.detail.length > 0, 'each subproblem has a detail');
      return { type: s.type, identifier: s.identifier };
    });
    const want = c.subproblems.map((s) => ({ type: ACME_ERROR_PREFIX + s.type, identifier: s.identifier }));
    const key = (x: { identifier?: Identifier }) => `${x.identifier?.type}:${x.identifier?.value}`;
    assert.deepEqual(
      [...got].sort((a, b) => key(a).localeCompare(key(b))),
      [...want].sort((a, b) => key(a).localeCompare(key(b))),
      'one subproblem per identifier at fault',
    );
  }
  if (c.algorithms) {
    assert.ok(
      Array.isArray(doc.algorithms) && doc.algorithms.length > 0,
      '"algorithms" lists what is accepted',
    );
    for (const a of ['none', 'HS256', 'RS512', 'ES512'])
      assert.ok(!doc.algorithms?.includes(a), `${a} not offered`);
  }
  // RFC 8555 §6.5: error responses carry a fresh nonce (invariant 5 in docs/architecture.md: every one of them).
  const nonce = res.headers.get('replay-nonce');
  assert.ok(nonce, 'Replay-Nonce header on the error response');
  assert.match(nonce, /^[A-Za-z0-9_-]+$/, 'Replay-Nonce is base64url');
  assert.ok(!seenNonces.has(nonce), 'Replay-Nonce is fresh');
  seenNonces.add(nonce);
  // RFC 8555 §7.1: every response links the directory.
  const link = res.headers.get('link') ?? '';
  assert.ok(link.includes(`<${edge.directoryUrl}>;rel="index"`), `Link rel="index" (got ${link})`);
  return doc;
}

type BadRequestCore = Pick<BadRequest<unknown>, 'status' | 'type' | 'subproblems' | 'algorithms' | 'detail'>;

/** One `describe` per table: the world is built once, each case is one `it`. */
export function runTable<W extends { edge: InprocEdge }>(
  title: string,
  setup: () => Promise<W>,
  teardown: (w: W) => Promise<void> | void,
  cases: BadRequest<W>[],
): void {
  describe(title, () => {
    let w: W | undefined;
    before(async () => {
      w = await setup();
    });
    after(async () => {
      if (w) await teardown(w);
    });
    for (const c of cases) {
      it(c.name, async () => {
        assert.ok(w, 'world set up');
        const edge = c.edge ? c.edge(w) : w.edge;
        const beforeRows = await edge.snapshot();
        const res = await c.send(w);
        const doc = await expectProblem(res, c, edge);
        c.check?.(doc, res, w);
        assert.equal(await edge.snapshot(), beforeRows, 'the request changed no row');
      });
    }
  });
}

// ---- requests ---------------------------------------------------------------------------------

/** POSTs a raw body (already a string) with the given Content-Type. */
export function postRaw(
  acme: TestAcme,
  url: string,
  body: string,
  contentType: string | null = 'application/jose+json',
): Promise<Response> {
  const headers: Record<string, string> = contentType === null ? {} : { 'content-type': contentType };
  return acme.fetch(url, { method: 'POST', headers, body });
}

/** A JWS body whose parts the test spells out; the signature is junk unless given. */
export function craftedJws(parts: { protected?: unknown; payload?: unknown; signature?: unknown }): string {
  return JSON.stringify({ signature: b64uEncode(new Uint8Array(64)), payload: '', ...parts });
}

export const b64uJson = (v: unknown): string => b64uEncode(utf8.encode(JSON.stringify(v)));

// ---- keys and accounts --------------------------------------------------------------------------

/** An RSA key of any size (jose refuses to make or use ones under 2048 bits, so WebCrypto does). */
export async function rsaKey(modulusLength: number): Promise<AcmeKey> {
  const { privateKey, publicKey } = (await crypto.subtle.generateKey(
    { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', modulusLength, publicExponent: new Uint8Array([1, 0, 1]) },
    true,
    ['sign', 'verify'],
  )) as CryptoKeyPair;
  return { alg: 'RS256', privateKey, jwk: await exportJWK(publicKey) };
}

export async function account(edge: InprocEdge, key: AcmeKey, payload?: Record<string, unknown>) {
  const acme = await new TestAcme(edge.fetch, edge.directoryUrl, key).init();
  const res = await acme.newAccount(payload);
  assert.equal(res.status, 201, `account created (${await res.clone().text()})`);
  noteNonce(res.headers.get('replay-nonce'));
  return acme;
}

export async function postOk(acme: TestAcme, url: string, payload: unknown, status = 200): Promise<Response> {
  const res = await acme.post(url, payload);
  assert.equal(res.status, status, `${url}: ${await res.clone().text()}`);
  noteNonce(res.headers.get('replay-nonce'));
  return res;
}

export interface OrderInfo {
  url: string;
  finalize: string;
  status: string;
  authorizations: string[];
  certificate?: string;
}

export async function newOrder(acme: TestAcme, identifiers: Identifier[]): Promise<OrderInfo> {
  const res = await postOk(acme, acme.dir.newOrder, { identifiers }, 201);
  const body = (await res.json()) as Omit<OrderInfo, 'url'>;
  return { ...body, url: res.headers.get('location') ?? '' };
}

export interface ChallengeInfo {
  type: string;
  url: string;
  token: string;
  status: string;
}

export async function authzOf(acme: TestAcme, url: string) {
  const res = await postOk(acme, url, '');
  return (await res.json()) as { status: string; challenges: ChallengeInfo[] };
}

// ---- http-01 on loopback ----------------------------------------------------------------------

/** An http-01 responder on 127.0.0.1..127.0.0.N, all on one port (the edge's http01Port). */
export interface Http01 {
  port: number;
  answers: Map<string, string>;
  close(): Promise<void>;
}

export async function startHttp01(hosts: string[]): Promise<Http01> {
  const answers = new Map<string, string>();
  const handler = (req: { url?: string }, res: import('node:http').ServerResponse) => {
    const token = (req.url ?? '').replace('/.well-known/acme-challenge/', '');
    const answer = answers.get(token);
    res.writeHead(answer ? 200 : 404, { 'content-type': 'text/plain' }).end(answer ?? 'no such token');
  };
  const servers: Server[] = [];
  const listen = (s: Server, host: string, port: number) =>
    new Promise<number>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, host, () => resolve((s.address() as AddressInfo).port));
    });
  const first = createServer(handler);
  servers.push(first);
  const port = await listen(first, hosts[0] ?? '127.0.0.1', 0);
  for (const host of hosts.slice(1)) {
    const s = createServer(handler);
    servers.push(s);
    await listen(s, host, port);
  }
  return {
    port,
    answers,
    close: async () => {
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    },
  };
}

/** Answers every pending http-01 challenge of the order and waits (bounded) for it to be ready. */
export async function makeReady(acme: TestAcme, order: OrderInfo, http: Http01): Promise<void> {
  for (const az of order.authorizations) {
    const a = await authzOf(acme, az);
    if (a.status === 'valid') continue;
    const ch = a.challenges.find((x) => x.type === 'http-01');
    assert.ok(ch, 'an http-01 challenge is offered');
    http.answers.set(ch.token, await acme.keyAuthorization(ch.token));
    await postOk(acme, ch.url, {});
  }
  for (let i = 0; i < 100; i++) {
    const res = await postOk(acme, order.url, '');
    const o = (await res.json()) as OrderInfo;
    if (o.status === 'ready') return;
    assert.equal(o.status, 'pending', `order did not fail: ${JSON.stringify(o)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail('order did not become ready within 5 s');
}

/** Finalizes a ready order with a CSR; returns the certificate URL. */
export async function finalizeOk(acme: TestAcme, order: OrderInfo, csrB64u: string): Promise<string> {
  const res = await postOk(acme, order.finalize, { csr: csrB64u });
  const o = (await res.json()) as OrderInfo;
  assert.equal(o.status, 'valid', `order valid after finalize: ${JSON.stringify(o)}`);
  assert.ok(o.certificate);
  return o.certificate;
}

// ---- CSRs and certificates ------------------------------------------------------------------------

async function x509() {
  await import('reflect-metadata');
  return import('@peculiar/x509');
}

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A CSR with full control: key parameters, SANs, CN, extra extensions. */
export async function customCsr(o: {
  dns?: string[];
  ips?: string[];
  emails?: string[];
  cn?: string;
  keys?: CryptoKeyPair;
  keyAlg?: RsaHashedKeyGenParams | EcKeyGenParams;
  signAlg?: Algorithm & { hash?: string };
  ca?: boolean;
}): Promise<Uint8Array> {
  const x = await x509();
  const keyAlg = o.keyAlg ?? EC;
  const keys =
    o.keys ?? ((await crypto.subtle.generateKey(keyAlg, true, ['sign', 'verify'])) as CryptoKeyPair);
  const sans = [
    ...(o.dns ?? []).map((v) => ({ type: 'dns' as const, value: v })),
    ...(o.ips ?? []).map((v) => ({ type: 'ip' as const, value: v })),
    ...(o.emails ?? []).map((v) => ({ type: 'email' as const, value: v })),
  ];
  const extensions: import('@peculiar/x509').Extension[] = [];
  if (sans.length) extensions.push(new x.SubjectAlternativeNameExtension(sans));
  if (o.ca) extensions.push(new x.BasicConstraintsExtension(true, undefined, true));
  const csr = await x.Pkcs10CertificateRequestGenerator.create({
    ...(o.cn ? { name: `CN=${o.cn}` } : {}),
    keys,
    signingAlgorithm: o.signAlg ?? { ...keyAlg, hash: 'SHA-256' },
    extensions,
  });
  return new Uint8Array(csr.rawData);
}

/** A self-signed certificate this CA never issued. */
export async function foreignCertificate(): Promise<Uint8Array> {
  const x = await x509();
  const keys = (await crypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x.X509CertificateGenerator.createSelfSigned({
    serialNumber: '0badc0de',
    name: 'CN=not-ours.test',
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    keys,
    signingAlgorithm: EC,
  });
  return new Uint8Array(cert.rawData);
}

/** A signer stand-in that issues from a throwaway software CA (the edge's relay is not under test). */
export async function softwareSigner(): Promise<SignerClient> {
  const x = await x509();
  const caKeys = (await crypto.subtle.generateKey(EC, false, ['sign', 'verify'])) as CryptoKeyPair;
  const ca = await x.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=conformance test CA',
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    keys: caKeys,
    signingAlgorithm: EC,
    extensions: [new x.BasicConstraintsExtension(true, undefined, true)],
  });
  let serial = 0x1000;
  return {
    async sign(req) {
      const csr = new x.Pkcs10CertificateRequest(Buffer.from(req.csr, 'base64url'));
      const leaf = await x.X509CertificateGenerator.create({
        serialNumber: (serial++).toString(16),
        subject: '',
        issuer: ca.subject,
        notBefore: new Date(req.notBefore),
        notAfter: new Date(req.notAfter),
        publicKey: await csr.publicKey.export(),
        signingKey: caKeys.privateKey,
        signingAlgorithm: EC,
        extensions: [
          new x.SubjectAlternativeNameExtension(
            req.identifiers.map((i) => ({
              type: i.type === 'ip' ? ('ip' as const) : ('dns' as const),
              value: i.value,
            })),
          ),
        ],
      });
      return { status: 'issued', chainPem: `${leaf.toString('pem')}\n${ca.toString('pem')}\n` };
    },
    revoke: async () => ({ status: 'unavailable', detail: 'revocation is not under test' }),
    crl: async () => {
      throw new Error('no CRL in this test');
    },
  };
}
