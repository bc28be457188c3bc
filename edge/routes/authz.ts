// newAuthz (RFC 8555 §7.4.1), authorizations (§7.5, deactivation §7.5.2) and challenges (§7.5.1).
import type { Hono } from 'hono';
import { isWildcard, normalizeIdentifier } from '../../shared/identifiers.ts';
import { AcmeProblem } from '../../shared/problems.ts';
import type { AppEnv } from '../acme/context.ts';
import { acmeJws } from '../acme/jws.ts';
import { newAuthorization } from '../acme/new-order.ts';
import { ensureOwner, json, notFound, requireAccount } from '../acme/respond.ts';
import { resumeStale, startValidation } from '../acme/validation-job.ts';
import { authzToWire, challengeToWire, effectiveAuthzStatus } from '../acme/wire.ts';
import { PATHS } from '../linker.ts';
import { accountContext, checkIdentifiers } from '../policy/issuance.ts';
import { checkFailedValidations, checkOrderLimits } from '../ratelimit/limits.ts';
import { insertIssuanceBundle } from '../storage/preauth.ts';

export function registerAuthz(app: Hono<AppEnv>): void {
  // RFC 8555 §7.4.1: pre-authorization. The identifier passes the same policies as in newOrder; an
  // EAB key with pre-authorization on answers with a valid authorization, otherwise it is pending.
  app.post(PATHS.newAuthz, acmeJws('kid', { postAsGet: false }), async (c) => {
    const { svc, jws } = c.var;
    const account = requireAccount(c);
    const p = jws.payload as Record<string, unknown> | null;
    if (typeof p !== 'object' || p === null || Array.isArray(p))
      throw new AcmeProblem('malformed', 'newAuthz payload must be a JSON object with "identifier"');
    const id = normalizeIdentifier(p.identifier);
    if (isWildcard(id)) {
      throw new AcmeProblem('rejectedIdentifier', 'newAuthz must not name a wildcard (RFC 8555 §7.4.1)', {
        identifier: id,
      });
    }
    const ctx = await accountContext(svc, account);
    checkIdentifiers([id], ctx);
    const now = Date.now();
    const reuse = await svc.orders.findReusableAuthz(account.id, id.type, id.value, false, now + 86_400_000);
    if (reuse) {
      const chals = await svc.orders.challengesOf(reuse.id);
      return json(c, authzToWire(reuse, chals, svc.linker, now), 200, svc.linker.authz(reuse.id));
    }
    await checkOrderLimits(svc, account, [id], undefined);
    const made = newAuthorization(svc, account, ctx, id, now + svc.config.authzLifetimeSeconds * 1000, now);
    await insertIssuanceBundle(svc.database.db, {
      authzs: [made.authz],
      challenges: made.challenges,
      marks: made.mark ? [made.mark] : [],
    });
    return json(
      c,
      authzToWire(made.authz, made.challenges, svc.linker, now),
      201,
      svc.linker.authz(made.authz.id),
    );
  });
  app.on(['GET', 'PUT', 'DELETE', 'PATCH', 'HEAD'], PATHS.newAuthz, (c) => {
    c.header('Allow', 'POST');
    throw new AcmeProblem('methodNotAllowed', `${c.req.method} is not allowed here: newAuthz takes a POST`);
  });

  app.post(PATHS.authz, acmeJws('kid'), async (c) => {
    const { svc, jws } = c.var;
    const account = requireAccount(c);
    const authz = await svc.orders.getAuthz(c.req.param('id'));
    if (!authz) throw notFound('this authorization');
    ensureOwner(authz.accountId, account, 'this authorization');
    if (jws.payload !== null) {
      const p = jws.payload as Record<string, unknown>;
      if (typeof p !== 'object' || p === null || p.status !== 'deactivated') {
        throw new AcmeProblem('malformed', 'an authorization may only be updated to status "deactivated"');
      }
      if (!(await svc.orders.deactivateAuthz(authz.id)) && authz.status !== 'deactivated') {
        throw new AcmeProblem(
          'malformed',
          `an authorization that is ${effectiveAuthzStatus(authz, Date.now())} cannot be deactivated`,
        );
      }
    }
    let chals = await svc.orders.challengesOf(authz.id);
    await resumeStale(svc, authz, chals, account.thumbprint);
    const fresh = (await svc.orders.getAuthz(authz.id)) ?? authz;
    if (fresh.status !== authz.status) chals = await svc.orders.challengesOf(authz.id);
    if (chals.some((ch) => ch.status === 'processing')) c.header('Retry-After', '1');
    return json(c, authzToWire(fresh, chals, svc.linker, Date.now()));
  });

  app.post(PATHS.challenge, acmeJws('kid'), async (c) => {
    const { svc, jws } = c.var;
    const account = requireAccount(c);
    const ch = await svc.orders.getChallenge(c.req.param('id'));
    if (!ch) throw notFound('this challenge');
    const authz = await svc.orders.getAuthz(ch.authzId);
    if (!authz) throw notFound('this challenge');
    ensureOwner(authz.accountId, account, 'this challenge');
    c.header('Link', `<${svc.linker.authz(authz.id)}>;rel="up"`, { append: true });
    if (jws.payload === null) {
      // POST-as-GET: read the challenge (and resume an abandoned attempt).
      await resumeStale(svc, authz, [ch], account.thumbprint);
      return json(c, challengeToWire((await svc.orders.getChallenge(ch.id)) ?? ch, svc.linker));
    }
    if (typeof jws.payload !== 'object' || Array.isArray(jws.payload)) {
      throw new AcmeProblem('malformed', 'a challenge response payload must be a JSON object ({})');
    }
    const status = effectiveAuthzStatus(authz, Date.now());
    if (ch.status === 'pending') {
      if (status !== 'pending') {
        throw new AcmeProblem(
          'malformed',
          `the authorization is ${status}; its challenges can no longer be attempted`,
        );
      }
      // Too many recent failed validations for this account → rateLimited.
      await checkFailedValidations(svc, account);
      if (!(await startValidation(svc, authz, ch, account.thumbprint))) {
        const other = (await svc.orders.challengesOf(authz.id)).find(
          (x) => x.status === 'processing' && x.id !== ch.id,
        );
        if (other)
          throw new AcmeProblem(
            'malformed',
            `another challenge (${other.type}) of this authorization is being validated`,
          );
      }
    }
    // RFC 8555 §7.5.1: responding again to a processing/valid/invalid challenge just returns it.
    const now = (await svc.orders.getChallenge(ch.id)) ?? ch;
    if (now.status === 'processing') c.header('Retry-After', '1');
    return json(c, challengeToWire(now, svc.linker));
  });
}
