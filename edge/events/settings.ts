// The run-time settings of events and webhooks, one JSON row in edge_settings ("events"), changed
// through the admin API (PUT /admin/webhook-settings) like every other run-time setting. Private
// webhook targets have their own switch here, apart from validation's address rules: a CA that may
// probe internal hosts for http-01 need not post its events to them.
import { eq } from 'drizzle-orm';
import type { EdgeServices } from '../services.ts';
import { edgeSettings } from '../storage/admin-schema.ts';
import type { Db } from '../storage/db.ts';
import type { Stmt } from '../storage/settings.ts';

export interface EventSettings {
  /** webhooks may target RFC 1918 / ULA addresses (loopback, link-local, metadata: never) */
  allowPrivateTargets: boolean;
  /** a certificate with less than this share of its lifetime left and no replacement is reported */
  expiryWarnShare: number;
  /** how often the expiry watch and the delivery loop run (Node/Deno timer; Workers: the cron) */
  intervalSeconds: number;
  /** attempts of one delivery before it is dead-lettered */
  maxAttempts: number;
  /** the wait before the second attempt; it doubles with each further one, up to an hour */
  retryBaseSeconds: number;
  /** time one attempt may take, connection and answer included */
  timeoutMs: number;
}

export const DEFAULT_EVENT_SETTINGS: EventSettings = Object.freeze({
  allowPrivateTargets: false,
  expiryWarnShare: 0.25,
  intervalSeconds: 60,
  maxAttempts: 10,
  retryBaseSeconds: 30,
  timeoutMs: 10_000,
});

/** Bounds of each number: [min, max]. */
export const EVENT_SETTING_BOUNDS = {
  expiryWarnShare: [0.01, 0.9],
  intervalSeconds: [1, 3600],
  maxAttempts: [1, 50],
  retryBaseSeconds: [1, 3600],
  timeoutMs: [500, 30_000],
} as const;

const NAME = 'events';

export async function readEventSettings(db: Db): Promise<EventSettings> {
  const row = (await db.select().from(edgeSettings).where(eq(edgeSettings.name, NAME)))[0];
  if (!row) return { ...DEFAULT_EVENT_SETTINGS };
  return { ...DEFAULT_EVENT_SETTINGS, ...(JSON.parse(row.value) as Partial<EventSettings>) };
}

export function writeEventSettings(db: Db, s: EventSettings): Stmt {
  return db
    .insert(edgeSettings)
    .values({ name: NAME, value: JSON.stringify(s) })
    .onConflictDoUpdate({ target: edgeSettings.name, set: { value: JSON.stringify(s) } });
}

export const eventSettingsOf = (svc: EdgeServices) => readEventSettings(svc.database.db);
