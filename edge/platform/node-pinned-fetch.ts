// A fetch over node:https that trusts ONLY one CA (PEM) — the relay to a signer whose TLS
// certificate comes from a CA of its own (EDGECA_SIGNER_CA_FILE). Node's global fetch takes no CA
// without reaching into undici's internals; node:https's `ca` replaces the default trust store
// (Mozilla's roots are then not trusted), and the name in the URL must match the certificate.
// Plain http:// URLs are refused: a pinned CA means the relay goes over TLS. The whole body is
// read before the Response resolves: relay answers are small, and the caller's abort signal
// bounds the wait.
import { request } from 'node:https';

export function nodePinnedFetch(caPem: string): typeof fetch {
  const ca = caPem;
  const pinned = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      if (url.protocol !== 'https:') {
        reject(new TypeError(`a pinned-CA fetch is for https:// URLs only, not ${url.protocol}`));
        return;
      }
      const signal = init.signal ?? undefined;
      if (signal?.aborted) {
        reject(abortError(signal));
        return;
      }
      const headers: Record<string, string> = {};
      new Headers(init.headers).forEach((v, k) => {
        headers[k] = v;
      });
      // agent: false — a connection of its own: never one pooled under another trust store.
      const req = request(url, { method: init.method ?? 'GET', headers, ca, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) {
            if (Array.isArray(v)) for (const x of v) h.append(k, x);
            else if (v !== undefined) h.set(k, v);
          }
          const status = res.statusCode ?? 0;
          const empty = status === 204 || status === 304 || init.method === 'HEAD';
          resolve(new Response(empty ? null : Buffer.concat(chunks), { status, headers: h }));
        });
      });
      const onAbort = () => req.destroy(abortError(signal));
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('close', () => signal?.removeEventListener('abort', onAbort));
      req.on('error', reject);
      const body = init.body;
      if (body === undefined || body === null) req.end();
      else if (typeof body === 'string' || body instanceof Uint8Array) req.end(body);
      else {
        req.destroy();
        reject(new TypeError('the pinned-CA fetch sends string or byte bodies only'));
      }
    });
  return pinned as typeof fetch;
}

function abortError(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new DOMException('the request was aborted', 'AbortError');
}
