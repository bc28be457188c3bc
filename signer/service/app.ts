// The signer's HTTP face (relay protocol in docs/architecture.md): POST /v1/sign, POST /v1/revoke (compact JWS
// bodies, signed answers), GET /v1/crl (one CRL per issuer, signed by the CA itself),
// GET /v1/issuers, GET /v1/health. Every error is an RFC 7807 problem document; one JSON log line
// per request names the order/serial and the relay `rid`, never a secret.
import type { Hono } from 'hono';
import { relayApp } from '../../onprem/http.ts';
import { AcmeProblem } from '../../shared/problems.ts';
import type { RelayKey } from '../../shared/relay.ts';
import { answered } from './answer.ts';
import type { IssuerRegistry } from './issuers.ts';
import type { SignerService } from './service.ts';
import type { RequestLog } from './types.ts';

export const MAX_BODY_BYTES = 64 * 1024;
const ISSUER_ID = /^[0-9a-f]{64}$/;

export interface AppOptions {
  service: SignerService;
  issuers: IssuerRegistry;
  /** signs the answers to sign and revoke (./answer.ts) */
  answerKey: RelayKey;
  /** answers whether the HSM is usable now (health) */
  hsmOk: () => Promise<boolean>;
  log: (line: Record<string, unknown>) => void;
}

export function signerApp(o: AppOptions): Hono<{ Variables: { reqLog: RequestLog } }> {
  const { app, limit, readJws } = relayApp<RequestLog>({
    name: 'signer',
    maxBodyBytes: MAX_BODY_BYTES,
    log: o.log,
  });

  app.post('/v1/sign', limit, async (c) =>
    answered('sign', o.answerKey, c.get('reqLog'), async () => {
      const out = await o.service.sign(await readJws(c), c.get('reqLog'));
      return {
        res: c.body(out.chainPem, 200, { 'Content-Type': 'application/pem-certificate-chain' }),
      };
    }),
  );

  app.post('/v1/revoke', limit, async (c) =>
    answered('revoke', o.answerKey, c.get('reqLog'), async () => {
      const out = await o.service.revoke(await readJws(c), c.get('reqLog'));
      const { serial: _s, ...result } = out;
      return { res: c.json(out), result };
    }),
  );

  // ?issuer=<id>: that issuer's CRL; without it, the CRL of the first issuer, whose certificates
  // name the bare CRL URL (service/issuers.ts defaultCrlIssuer).
  app.get('/v1/crl', async (c) => {
    const asked = c.req.query('issuer');
    if (asked !== undefined && !ISSUER_ID.test(asked)) {
      throw new AcmeProblem(
        'malformed',
        `issuer "${asked.slice(0, 80)}" is not an issuer id (64 hex digits)`,
      );
    }
    if (asked !== undefined && !o.issuers.row(asked)) await o.issuers.refresh();
    const id = asked ?? o.issuers.defaultCrlIssuer();
    if (!id || !o.issuers.row(id)) {
      throw new AcmeProblem(
        'notFound',
        asked ? `no issuer ${asked} is known to this signer` : 'this signer knows no issuer yet',
      );
    }
    const der = await o.service.crl.current(id);
    if (!der)
      throw new AcmeProblem('serviceUnavailable', `no CRL has been signed yet for issuer ${id}`, {
        retryAfter: 5,
      });
    return c.body(der.slice().buffer, 200, {
      'Content-Type': 'application/pkix-crl',
      'Cache-Control': 'max-age=60',
    });
  });

  app.get('/v1/issuers', async (c) => {
    const out = [];
    for (const r of o.issuers.list()) {
      const held = o.issuers.byId(r.id);
      const crl = await o.service.store.currentCrl(r.id);
      const last = await o.service.store.issuers.lastNotAfter(r.id);
      out.push({
        id: r.id,
        state: r.state,
        keyLabel: r.keyLabel,
        keyType: r.keyType,
        ...(held ? { subject: held.subject, keyId: held.keyId, notAfter: held.notAfter.toISOString() } : {}),
        crlUrl: held?.crlUrl ?? r.crlUrl,
        crlNumber: crl ? String(crl.crlNumber) : null,
        signsCrl: held !== undefined,
        lastCertificateExpires: last === null ? null : new Date(last).toISOString(),
        usableHere: r.usableHere,
        ...(r.unusableReason ? { unusableReason: r.unusableReason } : {}),
        createdAt: new Date(r.createdAt).toISOString(),
        activatedAt: r.activatedAt === null ? null : new Date(r.activatedAt).toISOString(),
        retiredAt: r.retiredAt === null ? null : new Date(r.retiredAt).toISOString(),
      });
    }
    return c.json({ issuers: out, defaultCrlIssuer: o.issuers.defaultCrlIssuer() ?? null });
  });

  app.get('/v1/health', async (c) => {
    const ok = await o.hsmOk().catch(() => false);
    return c.json(
      {
        status: ok ? 'ok' : 'degraded',
        hsm: ok ? 'ok' : 'unavailable',
        issuer: o.issuers.newestActive()?.subject ?? null,
      },
      ok ? 200 : 503,
    );
  });

  return app;
}
