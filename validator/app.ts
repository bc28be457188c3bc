// The validator's HTTP face: POST /v1/validate (a compact JWS by an edge relay key; the answer is a
// compact JWS by the validator key, application/jose) and GET /v1/health. Errors before an answer
// can be signed (bad JWS, replay, busy) are RFC 7807 problem documents; the edge never trusts them
// to settle a challenge. One JSON log line per request, never a key authorization.
import type { Hono } from 'hono';
import { relayApp } from '../onprem/http.ts';
import { RELAY_CONTENT_TYPE } from '../shared/relay.ts';
import type { ValidateLog, ValidatorService } from './service.ts';

/** A validate request is a few hundred bytes; this leaves room and refuses anything bigger early. */
export const MAX_BODY_BYTES = 16 * 1024;

export function validatorApp(o: {
  service: ValidatorService;
  answerKid: string;
  log: (line: Record<string, unknown>) => void;
}): Hono<{ Variables: { reqLog: ValidateLog } }> {
  const { app, limit, readJws } = relayApp<ValidateLog>({
    name: 'validator',
    maxBodyBytes: MAX_BODY_BYTES,
    log: o.log,
  });

  app.post('/v1/validate', limit, async (c) => {
    const answer = await o.service.validate(await readJws(c), c.get('reqLog'));
    return c.body(answer, 200, { 'Content-Type': RELAY_CONTENT_TYPE });
  });

  app.get('/v1/health', (c) => c.json({ status: 'ok', role: 'validator', answerKid: o.answerKid }));

  return app;
}
