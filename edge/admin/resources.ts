// The admin API's resources, each one file that registers its routes and holds their OpenAPI
// part: index.ts registers them from this list and openapi.ts documents them from it, so a
// resource is routed and documented together or not at all.
import type { Hono } from 'hono';
import { CHALLENGE_OPT_IN_API, registerChallengeOptInRoutes } from './challenge-opt-ins.ts';
import { EAB_KEY_API, registerEabKeyRoutes } from './eab-key-routes.ts';
import type { AdminApiPart, AdminEnv } from './http.ts';
import { INCIDENT_API, registerIncidentRoutes } from './incident-routes.ts';
import { OBJECT_API, registerObjectRoutes } from './object-routes.ts';
import { RENEWAL_API, registerRenewalRoutes } from './renewal-routes.ts';
import { registerSettingsRoutes, SETTINGS_API } from './settings-routes.ts';
import { registerWebhookRoutes, WEBHOOK_API } from './webhook-routes.ts';

export interface AdminResource {
  register(r: Hono<AdminEnv>): void;
  api: AdminApiPart;
}

export const ADMIN_RESOURCES: readonly AdminResource[] = [
  { register: registerSettingsRoutes, api: SETTINGS_API },
  { register: registerEabKeyRoutes, api: EAB_KEY_API },
  { register: registerObjectRoutes, api: OBJECT_API },
  { register: registerRenewalRoutes, api: RENEWAL_API },
  { register: registerIncidentRoutes, api: INCIDENT_API },
  { register: registerWebhookRoutes, api: WEBHOOK_API },
  { register: registerChallengeOptInRoutes, api: CHALLENGE_OPT_IN_API },
];
