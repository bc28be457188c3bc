// A minimal HTTP/1.1 GET over an already connected socket, for the http-01 requests of runtimes
// whose fetch cannot be told which address to dial for a name (Deno, Workers): validation connects
// to the checked address itself (Deno.connect, cloudflare:sockets) and sends the Host header it
// chose. No runtime API is used here — only a read/write/close connection — so Node tests can drive
// it over node:net.
import type { HttpGetResult } from '../../validation/net.ts';

/** The part of Deno.Conn used here. */
export interface RawConn {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  close(): void;
}

const MAX_HEADER_BYTES = 16 * 1024;
const CRLF = [13, 10];

export class HttpProtocolError extends Error {
  override readonly name = 'HttpProtocolError';
}

class Reader {
  buf = new Uint8Array(0);
  eof = false;
  constructor(private readonly conn: RawConn) {}
  /** reads once more; false at end of stream */
  async more(): Promise<boolean> {
    if (this.eof) return false;
    const chunk = new Uint8Array(16 * 1024);
    const n = await this.conn.read(chunk);
    if (n === null) {
      this.eof = true;
      return false;
    }
    const next = new Uint8Array(this.buf.length + n);
    next.set(this.buf);
    next.set(chunk.subarray(0, n), this.buf.length);
    this.buf = next;
    return true;
  }
  indexOf(seq: number[], from = 0): number {
    outer: for (let i = from; i + seq.length <= this.buf.length; i++) {
      for (let j = 0; j < seq.length; j++) if (this.buf[i + j] !== seq[j]) continue outer;
      return i;
    }
    return -1;
  }
  /** index of `seq` at or after `from`, reading more until it arrives; `limit` bounds the search */
  async find(seq: number[], from: number, what: string, limit = Number.POSITIVE_INFINITY): Promise<number> {
    for (;;) {
      const i = this.indexOf(seq, from);
      if (i >= 0) return i;
      if (this.buf.length - from > limit) throw new HttpProtocolError(`${what} too large`);
      if (!(await this.more())) throw new HttpProtocolError(`connection closed inside ${what}`);
    }
  }
}

/** Sends GET `path` with this Host header and reads the answer, the body capped at `maxBytes`. */
export async function http1Get(
  conn: RawConn,
  req: { hostHeader: string; path: string; maxBytes: number; userAgent: string },
): Promise<HttpGetResult> {
  const head =
    `GET ${req.path} HTTP/1.1\r\nHost: ${req.hostHeader}\r\nUser-Agent: ${req.userAgent}\r\n` +
    'Accept: */*\r\nConnection: close\r\n\r\n';
  const bytes = new TextEncoder().encode(head);
  for (let off = 0; off < bytes.length; ) off += await conn.write(bytes.subarray(off));

  const r = new Reader(conn);
  const end = await r.find([...CRLF, ...CRLF], 0, 'the response header', MAX_HEADER_BYTES);
  const lines = new TextDecoder('latin1').decode(r.buf.subarray(0, end)).split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  if (!m) throw new HttpProtocolError('not an HTTP/1.x response');
  const status = Number(m[1]);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const k = line.slice(0, colon).trim().toLowerCase();
    const v = line.slice(colon + 1).trim();
    headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
  }
  let pos = end + 4;
  const out: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  /** takes `n` body bytes at pos, keeping what fits under the cap; true when some did not fit */
  const take = (n: number): boolean => {
    const room = req.maxBytes - size;
    const part = r.buf.subarray(pos, pos + Math.min(n, room));
    out.push(part);
    size += part.length;
    pos += n;
    if (n > room) truncated = true;
    return truncated;
  };

  if (status === 204 || status === 304 || (status >= 100 && status < 200)) {
    // no body
  } else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const need = async (n: number, what: string) => {
      while (r.buf.length < pos + n) {
        if (!(await r.more())) throw new HttpProtocolError(`connection closed inside ${what}`);
      }
    };
    for (;;) {
      const eol = await r.find(CRLF, pos, 'a chunk size line', 1024);
      const len = Number.parseInt(new TextDecoder().decode(r.buf.subarray(pos, eol)).split(';')[0]!, 16);
      if (!Number.isFinite(len) || len < 0) throw new HttpProtocolError('bad chunk size');
      pos = eol + 2;
      if (len === 0) break;
      const room = req.maxBytes - size;
      // Past the cap, one byte more than the room tells truncation; the rest is never read.
      await need(Math.min(len, room + 1), 'a chunk');
      if (take(len)) break;
      await need(2, 'a chunk');
      pos += 2;
    }
  } else if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length']);
    if (!Number.isInteger(length) || length < 0) throw new HttpProtocolError('bad Content-Length');
    const want = Math.min(length, req.maxBytes + 1);
    while (r.buf.length - pos < want && (await r.more())) {}
    if (r.buf.length - pos < Math.min(length, req.maxBytes)) {
      throw new HttpProtocolError('connection closed before the whole body arrived');
    }
    take(length);
  } else {
    while (r.buf.length - pos <= req.maxBytes && (await r.more())) {}
    take(r.buf.length - pos);
  }
  const body = new Uint8Array(size);
  let off = 0;
  for (const p of out) {
    body.set(p, off);
    off += p.length;
  }
  return { status, headers, body, truncated };
}
