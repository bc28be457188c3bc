// The validator's HTTP face: POST /v1/validate (a compact JWS by an edge relay key; the answer is a
// compact JWS by the validator key, application/jose) and GET /v1/health. Errors before an answer
// can be signed (bad JWS, replay, busy) are RFC 7807 problem documents; the edge never trusts them
// to settle a challenge. One JSON log line per request, never a key authorization.
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { AcmeProblem } from '../shared/problems.ts';
import { RELAY_CONTENT_TYPE } from '../shared/relay.ts';
import type { ValidateLog, ValidatorService } from './service.ts';

/** A validate request is a few hundred bytes; this leaves room and refuses anything bigger early. */
export const MAX_BODY_BYTES = 16 * 1024;

type Env = { Variables: { reqLog: ValidateLog } };

export function validatorApp(o: {
  service: ValidatorService;
  answerKid: string;
  log: (line: Record<string, unknown>) => void;
}): Hono<Env> {
  const app = new Hono<Env>();

  app.use(async (c, next) => {
    const started = performance.now();
    const reqLog: ValidateLog = {};
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

  app.post('/v1/validate', limit, async (c) => {
    const type = (c.req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== RELAY_CONTENT_TYPE) {
      throw new AcmeProblem('unsupportedMediaType', `Content-Type must be ${RELAY_CONTENT_TYPE}`);
    }
    const answer = await o.service.validate((await c.req.text()).trim(), c.get('reqLog'));
    return c.body(answer, 200, { 'Content-Type': RELAY_CONTENT_TYPE });
  });

  app.get('/v1/health', (c) => c.json({ status: 'ok', role: 'validator', answerKid: o.answerKid }));

  app.notFound(() => problemResponse(new AcmeProblem('notFound', 'no such validator endpoint')));

  app.onError((err, c) => {
    if (err instanceof AcmeProblem) return problemResponse(err);
    o.log({ event: 'error', path: c.req.path, error: err.message, ...c.get('reqLog') });
    return problemResponse(new AcmeProblem('serverInternal', 'the validator failed to process the request'));
  });

  return app;
}

function problemResponse(problem: AcmeProblem): Response {
  const headers: Record<string, string> = { 'Content-Type': 'application/problem+json' };
  if (problem.retryAfter !== undefined) headers['Retry-After'] = String(problem.retryAfter);
  return new Response(JSON.stringify(problem.toJSON()), { status: problem.status, headers });
}
