// newAuthz (RFC 8555 §7.4.1), authorizations (§7.5, deactivation §7.5.2) and challenges (§7.5.1):
// the request parsed, the authorization module (acme/authz/) called, the resource rendered.
import type { Hono } from 'hono';
import { AcmeProblem } from '../../shared/problems.ts';
import { ownedChallenge, respondToChallenge } from '../acme/authz/challenge.ts';
import { newPreAuthorization } from '../acme/authz/new.ts';
import { readAuthz } from '../acme/authz/read.ts';
import { issuerDomainNames } from '../acme/challenge-offer.ts';
import { acmeJws } from '../acme/jws.ts';
import { json, requireAccount } from '../acme/respond.ts';
import { authzToWire, challengeToWire } from '../acme/wire.ts';
import type { AppEnv } from '../context.ts';
import { PATHS } from '../linker.ts';

export function registerAuthz(app: Hono<AppEnv>): void {
  app.post(PATHS.newAuthz, acmeJws('kid', { postAsGet: false, cachedAccount: true }), async (c) => {
    const { svc, jws } = c.var;
    const made = await newPreAuthorization(svc, requireAccount(c), jws.payload);
    return json(
      c,
      authzToWire(made.authz, made.challenges, svc.linker, made.now, issuerDomainNames(svc.config)),
      made.created ? 201 : 200,
      svc.linker.authz(made.authz.id),
    );
  });
  app.on(['GET', 'PUT', 'DELETE', 'PATCH', 'HEAD'], PATHS.newAuthz, (c) => {
    c.header('Allow', 'POST');
    throw new AcmeProblem('methodNotAllowed', `${c.req.method} is not allowed here: newAuthz takes a POST`);
  });

  app.post(PATHS.authz, acmeJws('kid', { cachedAccount: true }), async (c) => {
    const { svc, jws } = c.var;
    const { authz, challenges } = await readAuthz(svc, requireAccount(c), c.req.param('id'), jws.payload);
    if (challenges.some((ch) => ch.status === 'processing')) c.header('Retry-After', '1');
    return json(c, authzToWire(authz, challenges, svc.linker, Date.now(), issuerDomainNames(svc.config)));
  });

  app.post(PATHS.challenge, acmeJws('kid', { cachedAccount: true }), async (c) => {
    const { svc, jws } = c.var;
    const account = requireAccount(c);
    const { authz, challenge } = await ownedChallenge(svc, account, c.req.param('id'));
    c.header('Link', `<${svc.linker.authz(authz.id)}>;rel="up"`, { append: true });
    const now = await respondToChallenge(svc, account, authz, challenge, jws.payload);
    // A read (POST-as-GET) gets no Retry-After; a response to a challenge being validated does.
    if (jws.payload !== null && now.status === 'processing') c.header('Retry-After', '1');
    return json(
      c,
      challengeToWire(now, svc.linker, {
        accountId: authz.accountId,
        issuerDomainNames: issuerDomainNames(svc.config),
      }),
    );
  });
}
