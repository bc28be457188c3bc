// The signer's HTTP face (relay protocol in docs/architecture.md): POST /v1/sign, POST /v1/revoke (compact JWS
// bodies, signed answers), GET /v1/crl (signed by the CA itself), GET /v1/health. Every error is an RFC 7807 problem document; one JSON log
// line per request names the order/serial and the relay `rid`, never a secret.
import type { Hono } from 'hono';
import { AcmeProblem } from '../../shared/problems.ts';
import type { RelayKey } from '../../shared/relay.ts';
import { relayApp } from '../onprem-http.ts';
import { answered } from './answer.ts';
import type { SignerService } from './service.ts';
import type { RequestLog } from './types.ts';

export const MAX_BODY_BYTES = 64 * 1024;

export interface AppOptions {
  service: SignerService;
  /** signs the answers to sign and revoke (./answer.ts) */
  answerKey: RelayKey;
  /** answers whether the HSM is usable now (health) */
  hsmOk: () => Promise<boolean>;
  issuerSubject: string;
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

  app.get('/v1/crl', async (c) => {
    const der = await o.service.crl.current();
    if (!der) throw new AcmeProblem('serviceUnavailable', 'no CRL has been signed yet', { retryAfter: 5 });
    return c.body(der.slice().buffer, 200, {
      'Content-Type': 'application/pkix-crl',
      'Cache-Control': 'max-age=60',
    });
  });

  app.get('/v1/health', async (c) => {
    const ok = await o.hsmOk().catch(() => false);
    return c.json(
      { status: ok ? 'ok' : 'degraded', hsm: ok ? 'ok' : 'unavailable', issuer: o.issuerSubject },
      ok ? 200 : 503,
    );
  });

  return app;
}
