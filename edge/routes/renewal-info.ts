// renewalInfo (RFC 9773 §4): GET <renewalInfo>/<certID> answers the suggested renewal window of a
// certificate this CA issued, an explanationURL when an admin gave one ("renew now"), and
// Retry-After telling the client when to ask again. Unauthenticated GET, like the directory.
import type { Hono } from 'hono';
import { AcmeProblem } from '../../shared/problems.ts';
import { certificateByCertId, parseCertId, retryAfterSeconds, windowOf } from '../acme/ari.ts';
import { kickDueRevocations } from '../acme/scheduled-revocation.ts';
import type { AppEnv } from '../context.ts';
import { PATHS } from '../linker.ts';

export function registerRenewalInfo(app: Hono<AppEnv>): void {
  app.get(`${PATHS.renewalInfo}/:certId`, async (c) => {
    const { svc } = c.var;
    // Clients poll this route: a good moment to carry out revocations that fell due (any instance).
    kickDueRevocations(svc);
    const cert = await certificateByCertId(svc, parseCertId(c.req.param('certId')));
    if (!cert) throw new AcmeProblem('notFound', 'this CA issued no certificate with that certID');
    const row = await svc.renewals.byCertificate(cert.id);
    const w = windowOf(cert, row);
    const body: Record<string, unknown> = {
      suggestedWindow: { start: new Date(w.start).toISOString(), end: new Date(w.end).toISOString() },
    };
    if (row?.explanationUrl) body.explanationURL = row.explanationUrl;
    c.header('Retry-After', String(retryAfterSeconds(cert)));
    return c.json(body);
  });
  app.get(PATHS.renewalInfo, () => {
    throw new AcmeProblem(
      'malformed',
      'renewalInfo needs a certID: GET <renewalInfo>/<certID> (RFC 9773 §4.1)',
    );
  });
}
