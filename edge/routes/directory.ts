// The directory (RFC 8555 §7.1.1, meta.profiles from draft-ietf-acme-profiles) and newNonce (§7.2).
import type { Hono } from 'hono';
import { persistIssuer } from '../acme/challenge-offer.ts';
import type { AppEnv } from '../context.ts';
import { PATHS } from '../linker.ts';

export function registerDirectory(app: Hono<AppEnv>): void {
  app.get(PATHS.directory, async (c) => {
    const { config, linker } = c.var.svc;
    // draft-ietf-acme-profiles: the profiles admins defined, read from the database per request.
    const profiles = await (await c.var.svc.stores()).settings.profiles();
    const meta: Record<string, unknown> = {
      caaIdentities: config.caaIdentities,
      externalAccountRequired: config.eabRequired,
      profiles: Object.fromEntries(profiles.map((p) => [p.name, p.description])),
    };
    const persist = persistIssuer(config, linker);
    if (persist) {
      // draft-ietf-acme-dns-persist-02 §3.2: what a client needs to build the record before any order.
      meta.issuerDomainNames = persist.issuerDomainNames;
      meta.accountHashPrefix = persist.accountHashPrefix;
    }
    if (config.termsOfService) meta.termsOfService = config.termsOfService;
    if (config.website) meta.website = config.website;
    return c.json({
      newNonce: linker.newNonce(),
      newAccount: linker.newAccount(),
      newOrder: linker.newOrder(),
      // RFC 8555 §7.4.1: pre-authorization
      newAuthz: linker.requestUrl(PATHS.newAuthz),
      revokeCert: linker.revokeCert(),
      keyChange: linker.keyChange(),
      // RFC 9773 §3: ACME Renewal Information
      renewalInfo: linker.renewalInfo(),
      meta,
    });
  });

  // RFC 8555 §7.2: HEAD answers 200, GET 204; both carry a fresh Replay-Nonce (added by the app
  // middleware) and must not be cached.
  app.on(['HEAD', 'GET'], PATHS.newNonce, (c) => {
    c.header('Cache-Control', 'no-store');
    return c.body(null, c.req.method === 'HEAD' ? 200 : 204);
  });
}
