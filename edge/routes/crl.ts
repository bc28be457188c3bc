// The CRL distribution points (RFC 5280 §4.2.1.13) served at the edge: `/crl` is the CRL of the
// signer's first issuer, whose certificates name that URL; `/crl/<issuer id>` is the CRL of each
// issuer made by a rotation, whose certificates name that one. Each is the signer's current CRL,
// cached for a bounded time so relying parties do not reach the on-prem signer on every fetch.
import { AsnConvert } from '@peculiar/asn1-schema';
import { CertificateList } from '@peculiar/asn1-x509';
import type { Context, Hono } from 'hono';
import { AcmeProblem } from '../../shared/problems.ts';
import type { AppEnv } from '../context.ts';
import { PATHS } from '../linker.ts';

/** Longest a cached CRL is served before the signer is asked again. */
export const CRL_MAX_AGE_S = 60;
/** Issuers whose CRLs are cached at once (a deployment has a handful; the oldest entry goes). */
const MAX_CACHED = 32;
const ISSUER_ID = /^[0-9a-f]{64}$/;

export function registerCrl(app: Hono<AppEnv>): void {
  const cached = new Map<string, { der: Uint8Array; at: number }>();
  const inflight = new Map<string, Promise<Uint8Array>>();

  const serve = async (c: Context<AppEnv>, issuer: string | undefined) => {
    const { svc } = c.var;
    const key = issuer ?? '';
    let hit = cached.get(key);
    if (!hit || Date.now() - hit.at > CRL_MAX_AGE_S * 1000) {
      let fetching = inflight.get(key);
      if (!fetching) {
        fetching = svc.signer.crl(issuer).finally(() => inflight.delete(key));
        inflight.set(key, fetching);
      }
      try {
        hit = { der: await fetching, at: Date.now() };
        cached.delete(key);
        cached.set(key, hit);
        if (cached.size > MAX_CACHED) cached.delete(cached.keys().next().value as string);
        noteNextUpdate(c, key, hit.der);
      } catch (e) {
        // An issuer the signer does not know is the caller's mistake, not an outage.
        if (e instanceof AcmeProblem && e.kind === 'notFound') throw e;
        svc.log({ event: 'crl-fetch-failed', ...(issuer ? { issuer } : {}), error: String(e) });
        if (!hit)
          throw new AcmeProblem('serviceUnavailable', 'the CRL is not available right now', {
            retryAfter: 30,
          });
      }
    }
    const age = Math.floor((Date.now() - hit.at) / 1000);
    return c.body(hit.der as Uint8Array<ArrayBuffer>, 200, {
      'Content-Type': 'application/pkix-crl',
      'Cache-Control': `public, max-age=${Math.max(0, CRL_MAX_AGE_S - age)}`,
    });
  };

  app.get(PATHS.crl, (c) => serve(c, undefined));
  app.get(PATHS.issuerCrl, (c) => {
    const id = c.req.param('issuer');
    if (!ISSUER_ID.test(id))
      throw new AcmeProblem('notFound', `no CRL for "${id.slice(0, 80)}": not an issuer id`);
    return serve(c, id);
  });
}

/** Exports the CRL's nextUpdate (RFC 5280 §5.1.2.5) for the "CRL older than nextUpdate" alert. */
function noteNextUpdate(c: Context<AppEnv>, issuer: string, der: Uint8Array): void {
  try {
    const next = AsnConvert.parse(der, CertificateList).tbsCertList.nextUpdate?.getTime();
    if (next) c.var.svc.metrics.crlNextUpdate(issuer, next);
  } catch (e) {
    c.var.svc.log({ event: 'crl-parse-failed', error: String(e) });
  }
}
