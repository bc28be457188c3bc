// Account key rollover (RFC 8555 §7.3.5): the outer JWS by the current key (kid), the inner JWS by
// the new key (jwk) over {account, oldKey}, both addressed to the keyChange URL.
import type { Hono } from 'hono';
import type { JWK } from 'jose';
import { b64uDecode } from '../../shared/encoding.ts';
import { AcmeProblem } from '../../shared/problems.ts';
import { refuseBlockedAccountKey } from '../acme/compromised-keys.ts';
import {
  acmeJws,
  canonicalPublicJwk,
  type JWS_ALGORITHMS,
  parseFlattenedJws,
  parseProtectedHeader,
  publicJwkOnly,
  thumbprintOf,
  verifyJwsSignature,
} from '../acme/jws.ts';
import { json, requireAccount } from '../acme/respond.ts';
import { accountToWire } from '../acme/wire.ts';
import type { AppEnv } from '../context.ts';
import { PATHS } from '../linker.ts';

export function registerKeyChange(app: Hono<AppEnv>): void {
  app.post(PATHS.keyChange, acmeJws('kid', { postAsGet: false }), async (c) => {
    const { svc, jws } = c.var;
    const account = requireAccount(c);
    const inner = parseFlattenedJws(jws.payload);
    const hdr = parseProtectedHeader(inner.protected);
    if (!hdr.jwk)
      throw new AcmeProblem('malformed', 'the inner keyChange JWS must carry the new key as "jwk"');
    if (hdr.url !== jws.protectedHeader.url)
      throw new AcmeProblem('malformed', 'inner and outer keyChange JWS must have the same "url"');
    const newJwk = canonicalPublicJwk(hdr.jwk as JWK);
    const newThumb = await thumbprintOf(newJwk);
    await verifyJwsSignature(inner, hdr.alg as (typeof JWS_ALGORITHMS)[number], newJwk, newThumb);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(new TextDecoder().decode(b64uDecode(inner.payload)));
    } catch {
      throw new AcmeProblem('malformed', 'the inner keyChange payload is not JSON');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new AcmeProblem('malformed', 'the inner keyChange payload must be an object');
    if (body.account !== svc.linker.account(account.id)) {
      throw new AcmeProblem('malformed', 'keyChange "account" must be the URL of the signing account');
    }
    if (typeof body.oldKey !== 'object' || body.oldKey === null || Array.isArray(body.oldKey))
      throw new AcmeProblem('malformed', 'keyChange needs "oldKey", the current key as a JWK object');
    if ((await thumbprintOf(body.oldKey as JWK)) !== account.thumbprint) {
      throw new AcmeProblem('unauthorized', 'keyChange "oldKey" is not the account\'s current key');
    }
    const keyDigest = await refuseBlockedAccountKey(svc, newJwk);
    const other = await svc.accounts.byThumbprint(newThumb);
    if (other) {
      c.header('Location', svc.linker.account(other.id));
      throw new AcmeProblem('malformed', 'the new key is already in use by an account', { status: 409 });
    }
    if (
      !(await svc.accounts.changeKey(
        account.id,
        account.thumbprint,
        JSON.stringify(publicJwkOnly(newJwk)),
        newThumb,
        keyDigest,
      ))
    ) {
      // blocked since the check above: the same refusal
      await refuseBlockedAccountKey(svc, newJwk);
      throw new AcmeProblem('malformed', 'the key changed concurrently or is already in use', {
        status: 409,
      });
    }
    // RFC 8555 §7.3.5: the old key is refused by this edge's next request, not served from the cache
    svc.accountCache.forget(account.id);
    const fresh = (await svc.accounts.get(account.id)) ?? account;
    return json(c, accountToWire(fresh, svc.linker), 200, svc.linker.account(account.id));
  });
}
