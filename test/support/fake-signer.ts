// A stand-in signer on 127.0.0.1 for tests of the edge's relay client: real HTTP, answers chosen
// per request by the test. It can sign answers the way the signer does (signAnswer with a key the
// test holds), forge them, replay them, pass requests through to a real signer and record what it
// answered, refuse, fail with a 5xx, accept the connection and never answer (a hung signer), or
// close it without an answer.
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  answerBodyHash,
  RELAY_ANSWER_HEADER,
  type RelayAnswer,
  type RelayKey,
  signAnswer,
} from '../../shared/relay.ts';

export interface FakeRequest {
  path: string;
  /** the relay JWS as sent */
  jws: string;
  /** its payload, decoded without verification */
  payload: Record<string, unknown>;
}

export interface FakeAnswer {
  status: number;
  body: Uint8Array | string;
  headers?: Record<string, string>;
}

/**
 * What to do with one request: answer it, 'hang' (never answer; the socket stays open) or 'reset'
 * (close the connection without an answer, as a signer that restarts under a kept-alive
 * connection does).
 */
type FakeOutcome = FakeAnswer | 'hang' | 'reset';
export type FakeHandler = (req: FakeRequest) => Promise<FakeOutcome> | FakeOutcome;

export interface FakeSigner {
  url: string;
  requests: FakeRequest[];
  /** sockets accepted, and how many of them the client has since closed */
  connections: { accepted: number; closedByPeer: number };
  handle: FakeHandler;
  close(): Promise<void>;
}

export async function startFakeSigner(handle: FakeHandler): Promise<FakeSigner> {
  const sockets = new Set<Socket>();
  const fake: FakeSigner = {
    url: '',
    requests: [],
    connections: { accepted: 0, closedByPeer: 0 },
    handle,
    close: async () => {},
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const jws = Buffer.concat(chunks).toString('utf8');
      let payload: Record<string, unknown> = {};
      try {
        payload = JSON.parse(Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString('utf8'));
      } catch {
        // not a JWS (a GET): an empty payload
      }
      const r: FakeRequest = { path: req.url ?? '', jws, payload };
      fake.requests.push(r);
      const a = await fake.handle(r);
      if (a === 'hang') return;
      if (a === 'reset') {
        req.socket.destroy();
        return;
      }
      res.writeHead(a.status, a.headers ?? {});
      res.end(a.body);
    });
  });
  server.on('connection', (s: Socket) => {
    fake.connections.accepted++;
    sockets.add(s);
    s.on('close', () => {
      sockets.delete(s);
      if (!closing) fake.connections.closedByPeer++;
    });
  });
  let closing = false;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () =>
    new Promise<void>((resolve) => {
      closing = true;
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return fake;
}

/** An answer signed the way the signer signs one, for `req`, with `key`; `over` changes fields. */
export async function signedAnswer(
  req: FakeRequest,
  key: RelayKey,
  a: FakeAnswer,
  over: Partial<RelayAnswer> = {},
): Promise<FakeAnswer> {
  const body = typeof a.body === 'string' ? new TextEncoder().encode(a.body) : a.body;
  const op = req.path === '/v1/revoke' ? 'revoke-answer' : 'sign-answer';
  const jws = await signAnswer(
    {
      op,
      jti: String(req.payload.jti),
      status: a.status,
      bodySha256: await answerBodyHash(body),
      ...(op === 'sign-answer'
        ? { orderId: String(req.payload.orderId) }
        : { serial: String(req.payload.serial) }),
      ...over,
    },
    key,
  );
  return { ...a, body, headers: { ...a.headers, [RELAY_ANSWER_HEADER]: jws } };
}

/** Passes a request through to a real signer and returns exactly what it answered. */
export async function passThrough(
  signerUrl: string,
  req: FakeRequest,
  doFetch: (url: string, init: RequestInit) => Promise<Response> = fetch,
): Promise<FakeAnswer> {
  const res = await doFetch(`${signerUrl}${req.path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/jose' },
    body: req.jws,
  });
  const headers: Record<string, string> = {};
  res.headers.forEach((v, k) => {
    if (k === 'content-type' || k === RELAY_ANSWER_HEADER.toLowerCase()) headers[k] = v;
  });
  return { status: res.status, body: new Uint8Array(await res.arrayBuffer()), headers };
}
