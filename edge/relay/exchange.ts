// One HTTP exchange with an on-prem peer, bounded twice: the response must START within
// `answerTimeoutMs` (a peer that accepts the connection but never answers is given up on then,
// not at the end of the whole relay budget), and must be complete by `deadline`. The body is read
// whole, up to `maxBytes`. Failures come back as short reasons that name no URL or address
// (they reach /ready and the admin API); the raw error is kept apart for the log.

export type Exchange =
  | { ok: true; status: number; headers: Headers; body: Uint8Array }
  | { ok: false; reason: string; error: string; timedOut: boolean };

export async function exchange(
  doFetch: typeof fetch,
  url: string,
  init: RequestInit,
  o: { answerTimeoutMs: number; deadline: number; maxBytes: number },
): Promise<Exchange> {
  const ctl = new AbortController();
  const started = Date.now();
  let timedOut = false;
  const abortAfter = (ms: number) =>
    setTimeout(
      () => {
        timedOut = true;
        ctl.abort();
      },
      Math.max(0, ms),
    );
  let timer = abortAfter(Math.min(o.answerTimeoutMs, o.deadline - Date.now()));
  try {
    const res = await doFetch(url, { ...init, signal: ctl.signal });
    clearTimeout(timer);
    timer = abortAfter(o.deadline - Date.now());
    const body = await readBounded(res, o.maxBytes);
    if (!body)
      return { ok: false, reason: 'answer too long', error: `more than ${o.maxBytes} bytes`, timedOut };
    return { ok: true, status: res.status, headers: res.headers, body };
  } catch (e) {
    return {
      ok: false,
      reason: timedOut ? 'no answer in time' : describeFetchError(e),
      error: timedOut ? `no answer after ${Date.now() - started} ms` : errorText(e),
      timedOut,
    };
  } finally {
    clearTimeout(timer);
  }
}

async function readBounded(res: Response, maxBytes: number): Promise<Uint8Array | null> {
  if (!res.body) return new Uint8Array();
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  // Bounded by maxBytes: each round adds a chunk or ends.
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** The cause of a failed fetch as a short class, from its error code (never its message, which may name the address). */
export function describeFetchError(e: unknown): string {
  const codes: string[] = [];
  for (
    let x: unknown = e, i = 0;
    x && typeof x === 'object' && i < 4;
    x = (x as { cause?: unknown }).cause, i++
  ) {
    const { code, name } = x as { code?: unknown; name?: unknown };
    if (typeof code === 'string') codes.push(code);
    if (typeof name === 'string') codes.push(name);
  }
  const all = codes.join(' ');
  if (/ECONNREFUSED|ConnectionRefused/.test(all)) return 'connection refused';
  if (/ECONNRESET|EPIPE|ConnectionReset|UND_ERR_SOCKET|UnexpectedEof/.test(all)) return 'connection reset';
  if (/ETIMEDOUT|TimedOut|UND_ERR_CONNECT_TIMEOUT/.test(all)) return 'connection timed out';
  if (/ENOTFOUND|EAI_AGAIN/.test(all)) return 'name not resolved';
  const tls = codes.find((c) => /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO|HOSTNAME|ALTNAME/.test(c));
  if (tls) return `TLS: ${tls}`;
  // Deno names TLS failures only in the message: its wording, without the URL before it.
  const msg = errorText(e);
  if (/certificate|UnknownIssuer|tls|handshake/i.test(msg)) return 'TLS: the peer certificate is not trusted';
  return 'unreachable';
}

function errorText(e: unknown): string {
  const parts: string[] = [];
  for (let x: unknown = e, i = 0; x && i < 4; x = (x as { cause?: unknown }).cause, i++) {
    parts.push(x instanceof Error ? x.message : String(x));
  }
  return parts.join(': ').slice(0, 500);
}
