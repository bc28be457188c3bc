// The signer's HTTP face (DESIGN.md relay protocol): POST /v1/sign, POST /v1/revoke (compact JWS
// bodies), GET /v1/crl, GET /v1/health. Every error is an RFC 7807 problem document; one JSON log
// line per request names the order/serial and the relay `rid`, never a secret.
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { AcmeProblem } from '../../shared/problems.ts';
import { RELAY_CONTENT_TYPE } from '../../shared/relay.ts';
import type { SignerService } from './service.ts';
import type { RequestLog } from './types.ts';

export const MAX_BODY_BYTES = 64 * 1024;

export interface AppOptions {
  service: SignerService;
  /** answers whether the HSM is usable now (health) */
  hsmOk: () => Promise<boolean>;
  issuerSubject: string;
  log: (line: Record<string, unknown>) => void;
}

type Env = { Variables: { reqLog: RequestLog } };

export function signerApp(o: AppOptions): Hono<Env> {
  const app = new Hono<Env>();

  app.use(async (c, next) => {
    const started = performance.now();
    const reqLog: RequestLog = {};
    c.set('reqLog', reqLog);
    await next();
    o.log({
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
      ...reqLog,
    });
  });

  const limit = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new AcmeProblem('payloadTooLarge', `request body exceeds ${MAX_BODY_BYTES} bytes`);
    },
  });

  const jwsBody = async (req: Request): Promise<string> => {
    const type = (req.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== RELAY_CONTENT_TYPE) {
      throw new AcmeProblem('unsupportedMediaType', `Content-Type must be ${RELAY_CONTENT_TYPE}`);
    }
    return (await req.text()).trim();
  };

  app.post('/v1/sign', limit, async (c) => {
    const out = await o.service.sign(await jwsBody(c.req.raw), c.get('reqLog'));
    return c.body(out.chainPem, 200, { 'Content-Type': 'application/pem-certificate-chain' });
  });

  app.post('/v1/revoke', limit, async (c) => {
    return c.json(await o.service.revoke(await jwsBody(c.req.raw), c.get('reqLog')));
  });

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

  app.notFound(() => problemResponse(new AcmeProblem('notFound', 'no such signer endpoint')));

  app.onError((err, c) => {
    if (err instanceof AcmeProblem) return problemResponse(err);
    // Internal causes are logged here, never sent (STYLE.md habit 3).
    o.log({ event: 'error', path: c.req.path, error: err.message, ...c.get('reqLog') });
    return problemResponse(new AcmeProblem('serverInternal', 'the signer failed to process the request'));
  });

  return app;
}

export function problemResponse(problem: AcmeProblem): Response {
  const headers: Record<string, string> = { 'Content-Type': 'application/problem+json' };
  if (problem.retryAfter !== undefined) headers['Retry-After'] = String(problem.retryAfter);
  return new Response(JSON.stringify(problem.toJSON()), { status: problem.status, headers });
}
