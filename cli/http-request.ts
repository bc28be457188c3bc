// One HTTP(S) request from the CLI to an edge, a signer or a validator, through node:http(s) so
// that the CA to trust can be given (--ca-file; the dev CA of `npm start` is not in the system
// store), bounded in time. The whole answer is read as text; the caller decides what an error is.
import { request as plainRequest } from 'node:http';
import { request as tlsRequest } from 'node:https';

export interface HttpAnswer {
  status: number;
  text: string;
}

export interface HttpRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | undefined;
  /** the CA certificates to trust for https (PEM) */
  ca?: Buffer | undefined;
  timeoutMs: number;
  /** the error message when no answer came within timeoutMs */
  timeoutMessage: string;
}

/** The status and body of one request; rejects when the server cannot be reached or is too slow. */
export function httpRequest(url: URL, o: HttpRequestOptions): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? tlsRequest : plainRequest)(
      url,
      {
        ...(o.method ? { method: o.method } : {}),
        headers: o.headers ?? {},
        ...(o.ca ? { ca: o.ca } : {}),
        timeout: o.timeoutMs,
      },
      (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () =>
          resolve({ status: r.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(o.timeoutMessage)));
    req.on('error', reject);
    req.end(o.body);
  });
}
