// The CRL distribution point (RFC 5280 §4.2.1.13) served at the edge: the signer's current CRL,
// cached for a bounded time so relying parties do not reach the on-prem signer on every fetch.
import type { Hono } from 'hono';
import { AcmeProblem } from '../../shared/problems.ts';
import type { AppEnv } from '../acme/context.ts';
import { PATHS } from '../linker.ts';

/** Longest a cached CRL is served before the signer is asked again. */
export const CRL_MAX_AGE_S = 60;

export function registerCrl(app: Hono<AppEnv>): void {
  let cached: { der: Uint8Array; at: number } | undefined;
  let inflight: Promise<Uint8Array> | undefined;
  app.get(PATHS.crl, async (c) => {
    const { svc } = c.var;
    const now = Date.now();
    if (!cached || now - cached.at > CRL_MAX_AGE_S * 1000) {
      inflight ??= svc.signer.crl().finally(() => {
        inflight = undefined;
      });
      try {
        cached = { der: await inflight, at: Date.now() };
      } catch (e) {
        svc.log({ event: 'crl-fetch-failed', error: String(e) });
        if (!cached)
          throw new AcmeProblem('serviceUnavailable', 'the CRL is not available right now', {
            retryAfter: 30,
          });
      }
    }
    const age = Math.floor((Date.now() - cached.at) / 1000);
    return c.body(cached.der as Uint8Array<ArrayBuffer>, 200, {
      'Content-Type': 'application/pkix-crl',
      'Cache-Control': `public, max-age=${Math.max(0, CRL_MAX_AGE_S - age)}`,
    });
  });
}
