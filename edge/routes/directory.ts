// The directory (RFC 8555 §7.1.1) and newNonce (§7.2).
import type { Hono } from 'hono';
import type { AppEnv } from '../acme/context.ts';
import { PATHS } from '../linker.ts';

export function registerDirectory(app: Hono<AppEnv>): void {
  app.get(PATHS.directory, (c) => {
    const { config, linker } = c.var.svc;
    const meta: Record<string, unknown> = {
      caaIdentities: config.caaIdentities,
      externalAccountRequired: config.eabRequired,
      profiles: Object.fromEntries(Object.entries(config.profiles).map(([k, v]) => [k, v.description])),
    };
    if (config.termsOfService) meta.termsOfService = config.termsOfService;
    if (config.website) meta.website = config.website;
    return c.json({
      newNonce: linker.newNonce(),
      newAccount: linker.newAccount(),
      newOrder: linker.newOrder(),
      revokeCert: linker.revokeCert(),
      keyChange: linker.keyChange(),
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
