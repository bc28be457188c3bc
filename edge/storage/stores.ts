// The run-time settings stores of one edge (settings, admin, rate-limit buckets), made once per
// EdgeServices and kept beside it, so the services object needs no new members. `storesOf` also
// seeds the profiles of the deployment config into a database that has never had any (once).
import type { EdgeServices } from '../context.ts';
import { type Bucket, createBucket } from '../ratelimit/gcra.ts';
import { type AdminStore, createAdminStore } from './admin.ts';
import { createSettingsStore, type SettingsStore } from './settings.ts';

export interface Stores {
  settings: SettingsStore;
  admin: AdminStore;
  buckets: Bucket;
}

const made = new WeakMap<EdgeServices, { stores: Stores; seeded: Promise<void> }>();

export async function storesOf(svc: EdgeServices): Promise<Stores> {
  let entry = made.get(svc);
  if (!entry) {
    const db = svc.database.db;
    const stores: Stores = {
      settings: createSettingsStore(db),
      admin: createAdminStore(db),
      buckets: createBucket(db),
    };
    const seeded = stores.settings.ensureSeeded(svc.config.profiles, svc.config.defaultProfile);
    entry = { stores, seeded };
    made.set(svc, entry);
    // a failed seed is retried by the next request rather than remembered
    seeded.catch(() => made.delete(svc));
  }
  await entry.seeded;
  return entry.stores;
}
