// The admin API's resources, one file each under resources/ (routes, OpenAPI summaries and request
// schemas together, built with resource.ts): index.ts registers them from this list and openapi.ts
// documents them from it, in this order, so a resource is routed and documented together or not at
// all. openapi.test.ts holds the real app's routes to the document.

import type { AdminResource } from './resource.ts';
import { ACCOUNTS } from './resources/accounts.ts';
import { CERTIFICATES } from './resources/certificates.ts';
import { CHANGE_LOG } from './resources/change-log.ts';
import { CHARTS } from './resources/charts.ts';
import { DNS_PERSIST_RECORD } from './resources/dns-persist-record.ts';
import { EAB_KEYS } from './resources/eab-keys.ts';
import { EVENTS } from './resources/events.ts';
import { INCIDENTS } from './resources/incidents.ts';
import { METRICS } from './resources/metrics.ts';
import { ORDERS } from './resources/orders.ts';
import { POLICIES } from './resources/policies.ts';
import { PREAUTHORIZATIONS } from './resources/preauthorizations.ts';
import { PROFILES } from './resources/profiles.ts';
import { RATE_LIMITS } from './resources/rate-limits.ts';
import { RENEWALS } from './resources/renewals.ts';
import { TOKENS } from './resources/tokens.ts';
import { WEBHOOKS } from './resources/webhooks.ts';

export const ADMIN_RESOURCES: readonly AdminResource[] = [
  POLICIES,
  PROFILES,
  RATE_LIMITS,
  EAB_KEYS,
  ACCOUNTS,
  ORDERS,
  CERTIFICATES,
  TOKENS,
  PREAUTHORIZATIONS,
  CHANGE_LOG,
  RENEWALS,
  INCIDENTS,
  EVENTS,
  CHARTS,
  WEBHOOKS,
  DNS_PERSIST_RECORD,
  METRICS,
];
