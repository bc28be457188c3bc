// Run-time settings admins change (invariant 6 in docs/architecture.md): name policies, profiles, the default
// profile, EAB key settings, rate limits and overrides. Reads go to the database on every call (no
// in-process cache), so a change applies to the next request on every instance. Writes are returned
// as unexecuted statements: the admin API batches them with their change-log row (nothing half-done).
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { LEAF_KEY_TYPES, type LeafKeyType } from '../../shared/key-types.ts';
import type { ProfileConfig } from '../config.ts';
import {
  type EabKeySettingsRow,
  eabKeySettings,
  edgeSettings,
  namePolicies,
  type ProfileRow,
  profiles,
  rateLimitOverrides,
  rateLimits,
} from './admin-schema.ts';
import { type Db, perListLength, rowBy } from './db.ts';

export type Stmt = BatchItem<'sqlite'>;

export { LEAF_KEY_TYPES, type LeafKeyType };

/** A name policy as stored: rule texts, parsed and applied by edge/policy/engine.ts. */
export interface NamePolicy {
  allow: string[];
  deny: string[];
}
export const EKUS = ['serverAuth', 'clientAuth'] as const;
export type Eku = (typeof EKUS)[number];
export const IDENTIFIER_TYPES = ['dns', 'ip'] as const;

export interface Profile {
  name: string;
  description: string;
  validitySeconds: number;
  keyTypes: LeafKeyType[];
  ekus: Eku[];
  identifierTypes: ('dns' | 'ip')[];
  allowWildcards: boolean;
  /** the signer ceiling profile this profile is relayed as (the signer enforces its own limits) */
  signerProfile: string;
  /** opt-in challenge types offered for orders under this profile (validation/registry.ts OPT_IN_TYPES) */
  optInChallenges?: string[];
}

export interface EabSettings {
  /** profiles accounts bound to the key may use; null: every profile */
  profiles: string[] | null;
  expiresAt: number | null;
  preAuthorize: boolean;
  /** opt-in challenge types offered to accounts bound to the key (validation/registry.ts OPT_IN_TYPES) */
  optInChallenges?: string[];
}

export const DEFAULT_EAB_SETTINGS: EabSettings = { profiles: null, expiresAt: null, preAuthorize: false };

export const LIMIT_NAMES = [
  'newOrdersPerAccount',
  'certificatesPerDomain',
  'newAccountsPerIP',
  'failedValidationsPerAccount',
] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];

export interface Limit {
  count: number;
  windowSeconds: number;
}

export interface LimitOverride extends Limit {
  name: LimitName;
  scope: string;
}

/** EKUs of the seeded profiles: the names `signer init --dev` gives its ceiling profiles. */
const SEED_EKUS: Record<string, Eku[]> = { tlsserver: ['serverAuth'], tlsclient: ['clientAuth'] };

export function profileFromRow(r: ProfileRow): Profile {
  return {
    name: r.name,
    description: r.description,
    validitySeconds: r.validitySeconds,
    keyTypes: JSON.parse(r.keyTypes),
    ekus: JSON.parse(r.ekus),
    identifierTypes: JSON.parse(r.identifierTypes),
    allowWildcards: r.allowWildcards,
    signerProfile: r.signerProfile,
    optInChallenges: r.optInChallenges ? (JSON.parse(r.optInChallenges) as string[]) : [],
  };
}

const optInColumn = (types: string[] | undefined) =>
  types && types.length > 0 ? JSON.stringify(types) : null;

function profileToRow(p: Profile): ProfileRow {
  return {
    name: p.name,
    description: p.description,
    validitySeconds: p.validitySeconds,
    keyTypes: JSON.stringify(p.keyTypes),
    ekus: JSON.stringify(p.ekus),
    identifierTypes: JSON.stringify(p.identifierTypes),
    allowWildcards: p.allowWildcards,
    signerProfile: p.signerProfile,
    optInChallenges: optInColumn(p.optInChallenges),
    updatedAt: Date.now(),
  };
}

function eabFromRow(r: EabKeySettingsRow | undefined): EabSettings {
  if (!r) return { ...DEFAULT_EAB_SETTINGS };
  return {
    profiles: r.profiles === null ? null : (JSON.parse(r.profiles) as string[]),
    expiresAt: r.expiresAt,
    preAuthorize: r.preAuthorize,
    ...(r.optInChallenges ? { optInChallenges: JSON.parse(r.optInChallenges) as string[] } : {}),
  };
}

/**
 * How long a read of run-time settings is reused by this instance. A change applies to
 * the next request on every instance sharing the database, with no in-process cache staler than a
 * few seconds; the instance that makes the change drops its cache at once.
 */
export const SETTINGS_CACHE_MS = 2000;
/** Rows of a policy table (limits, overrides, name policies) held whole by the settings cache. */
export const TABLE_IN_MEMORY = 2000;

export function createSettingsStore(db: Db) {
  const getSetting = async (name: string) =>
    (await db.select().from(edgeSettings).where(eq(edgeSettings.name, name)))[0]?.value;
  const cache = new Map<string, { at: number; value: Promise<unknown> }>();
  /** a read shared for SETTINGS_CACHE_MS (callers must not mutate what it returns) */
  const memo = <T>(key: string, load: () => Promise<T>): Promise<T> => {
    const now = Date.now();
    const hit = cache.get(key);
    if (hit && now - hit.at < SETTINGS_CACHE_MS) return hit.value as Promise<T>;
    const value = load();
    cache.set(key, { at: now, value });
    value.catch(() => cache.delete(key));
    return value;
  };
  // The reads behind the limits and name policies, prepared once (per number of scopes), for a
  // table too large to hold whole (below).
  const globalLimit = rowBy<typeof rateLimits.$inferSelect>(db, rateLimits, rateLimits.name);
  const overridesIn = perListLength(
    (scopes) =>
      db
        .select()
        .from(rateLimitOverrides)
        .where(
          and(
            eq(rateLimitOverrides.name, sql.placeholder('name')),
            inArray(rateLimitOverrides.scope, scopes),
          ),
        )
        .prepare(),
    'scope',
  );
  const policiesIn = perListLength(
    (scopes) => db.select().from(namePolicies).where(inArray(namePolicies.scope, scopes)).prepare(),
    'scope',
  );
  /**
   * A whole small table, read once per SETTINGS_CACHE_MS whatever the request asks of it: limits and
   * policies are looked up by scopes that differ from request to request (an account, a name), so
   * a read per lookup would rarely be reused. A table past TABLE_IN_MEMORY rows is not held (each
   * lookup then reads what it needs, prepared), so an admin who keeps thousands of overrides costs
   * reads, not memory.
   */
  const wholeTable = <R>(key: string, load: (limit: number) => Promise<R[]>): Promise<R[] | undefined> =>
    memo(key, async () => {
      const rows = await load(TABLE_IN_MEMORY + 1);
      return rows.length > TABLE_IN_MEMORY ? undefined : rows;
    });
  const allLimits = () => wholeTable('table:rate_limits', (n) => db.select().from(rateLimits).limit(n));
  const allOverrides = () =>
    wholeTable('table:rate_limit_overrides', (n) => db.select().from(rateLimitOverrides).limit(n));
  const allPolicies = () => wholeTable('table:name_policies', (n) => db.select().from(namePolicies).limit(n));
  /** the limit that applies: the first override among `scopes` (narrowest first), else the global one */
  const loadLimit = async (name: LimitName, scopes: string[]): Promise<Limit | undefined> => {
    if (scopes.length > 0) {
      const held = await allOverrides();
      const prepared = held ? undefined : overridesIn.query(scopes.length);
      const rows = held
        ? held.filter((x) => x.name === name)
        : prepared
          ? await prepared.all({ name, ...overridesIn.values(scopes) })
          : await db
              .select()
              .from(rateLimitOverrides)
              .where(and(eq(rateLimitOverrides.name, name), inArray(rateLimitOverrides.scope, scopes)));
      for (const s of scopes) {
        const r = rows.find((x) => x.scope === s);
        if (r) return { count: r.count, windowSeconds: r.windowSeconds };
      }
    }
    // a held table answers "no such limit" too; only a table not held is asked
    const held = await allLimits();
    const g = held ? held.find((x) => x.name === name) : await globalLimit(name);
    return g ? { count: g.count, windowSeconds: g.windowSeconds } : undefined;
  };
  /** every statement that changes settings drops this instance's cached reads */
  const changes = <T>(stmt: T): T => {
    cache.clear();
    return stmt;
  };
  return {
    /**
     * First use of a database: the profiles of the deployment config become rows, once. The marker
     * row is written in the same batch, so profiles an admin deletes later are not seeded again.
     */
    async ensureSeeded(seed: Record<string, ProfileConfig>, defaultProfile: string): Promise<void> {
      if ((await getSetting('profilesSeeded')) !== undefined) return;
      const stmts: Stmt[] = Object.entries(seed).map(([name, p]) =>
        db.run(sql`INSERT OR IGNORE INTO profiles (name, description, validity_seconds, key_types, ekus,
            identifier_types, allow_wildcards, signer_profile, updated_at)
          SELECT ${name}, ${p.description}, ${p.validitySeconds}, ${JSON.stringify(LEAF_KEY_TYPES)},
            ${JSON.stringify(SEED_EKUS[name] ?? EKUS)}, ${JSON.stringify(IDENTIFIER_TYPES)}, 1, ${name}, ${Date.now()}
          WHERE NOT EXISTS (SELECT 1 FROM edge_settings WHERE name = 'profilesSeeded')`),
      );
      stmts.push(
        db.run(sql`INSERT OR IGNORE INTO edge_settings (name, value)
          SELECT 'defaultProfile', ${defaultProfile}
          WHERE NOT EXISTS (SELECT 1 FROM edge_settings WHERE name = 'profilesSeeded')`),
        db.run(sql`INSERT OR IGNORE INTO edge_settings (name, value) VALUES ('profilesSeeded', '1')`),
      );
      await db.batch(stmts as [Stmt, ...Stmt[]]);
      cache.clear();
    },

    profiles(): Promise<Profile[]> {
      return memo('profiles', async () =>
        (await db.select().from(profiles).orderBy(asc(profiles.name))).map(profileFromRow),
      );
    },
    profile(name: string): Promise<Profile | undefined> {
      return memo(`profile:${name}`, async () => {
        const [r] = await db.select().from(profiles).where(eq(profiles.name, name));
        return r ? profileFromRow(r) : undefined;
      });
    },
    /** the profile orders get when they name none (may name a profile that was deleted) */
    defaultProfile(): Promise<string | undefined> {
      return memo('defaultProfile', () => getSetting('defaultProfile'));
    },
    putProfile(p: Profile): Stmt {
      const row = profileToRow(p);
      return changes(db.insert(profiles).values(row).onConflictDoUpdate({ target: profiles.name, set: row }));
    },
    deleteProfile(name: string): Stmt {
      return changes(db.delete(profiles).where(eq(profiles.name, name)));
    },
    setDefaultProfile(name: string): Stmt {
      return changes(
        db
          .insert(edgeSettings)
          .values({ name: 'defaultProfile', value: name })
          .onConflictDoUpdate({ target: edgeSettings.name, set: { value: name } }),
      );
    },

    async policy(scope: string): Promise<NamePolicy | undefined> {
      const [r] = await db.select().from(namePolicies).where(eq(namePolicies.scope, scope));
      return r ? { allow: JSON.parse(r.allow), deny: JSON.parse(r.deny) } : undefined;
    },
    /** the policies of several scopes in one query, in the order asked */
    async policiesOf(scopes: string[]): Promise<{ scope: string; policy: NamePolicy }[]> {
      // not memoised per scope list: the lists differ per request, and each would stay in the cache
      const held = await allPolicies();
      const prepared = held ? undefined : policiesIn.query(scopes.length);
      const rows =
        held ??
        (prepared
          ? await prepared.all(policiesIn.values(scopes))
          : await db.select().from(namePolicies).where(inArray(namePolicies.scope, scopes)));
      return scopes.flatMap((s) => {
        const r = rows.find((x) => x.scope === s);
        return r ? [{ scope: s, policy: { allow: JSON.parse(r.allow), deny: JSON.parse(r.deny) } }] : [];
      });
    },
    async policies(): Promise<{ scope: string; allow: string[]; deny: string[]; updatedAt: number }[]> {
      const rows = await db.select().from(namePolicies).orderBy(asc(namePolicies.scope));
      return rows.map((r) => ({ ...r, allow: JSON.parse(r.allow), deny: JSON.parse(r.deny) }));
    },
    putPolicy(scope: string, p: NamePolicy): Stmt {
      const row = {
        scope,
        allow: JSON.stringify(p.allow),
        deny: JSON.stringify(p.deny),
        updatedAt: Date.now(),
      };
      return changes(
        db.insert(namePolicies).values(row).onConflictDoUpdate({ target: namePolicies.scope, set: row }),
      );
    },
    deletePolicy(scope: string): Stmt {
      return changes(db.delete(namePolicies).where(eq(namePolicies.scope, scope)));
    },

    eabSettings(kid: string): Promise<EabSettings> {
      return memo(`eab:${kid}`, async () => {
        const [r] = await db.select().from(eabKeySettings).where(eq(eabKeySettings.kid, kid));
        return eabFromRow(r);
      });
    },
    async allEabSettings(): Promise<Map<string, EabSettings>> {
      const rows = await db.select().from(eabKeySettings);
      return new Map(rows.map((r) => [r.kid, eabFromRow(r)]));
    },
    putEabSettings(kid: string, s: EabSettings): Stmt {
      const row = {
        kid,
        profiles: s.profiles === null ? null : JSON.stringify(s.profiles),
        expiresAt: s.expiresAt,
        preAuthorize: s.preAuthorize,
        optInChallenges: optInColumn(s.optInChallenges),
      };
      return changes(
        db.insert(eabKeySettings).values(row).onConflictDoUpdate({ target: eabKeySettings.kid, set: row }),
      );
    },

    async limits(): Promise<({ name: string } & Limit)[]> {
      return db.select().from(rateLimits).orderBy(asc(rateLimits.name));
    },
    async overrides(): Promise<LimitOverride[]> {
      return (await db
        .select()
        .from(rateLimitOverrides)
        .orderBy(asc(rateLimitOverrides.name), asc(rateLimitOverrides.scope))) as LimitOverride[];
    },
    limitFor(name: LimitName, scopes: string[]): Promise<Limit | undefined> {
      return loadLimit(name, scopes);
    },
    putLimit(name: LimitName, l: Limit): Stmt {
      const row = { name, count: l.count, windowSeconds: l.windowSeconds };
      return changes(
        db.insert(rateLimits).values(row).onConflictDoUpdate({ target: rateLimits.name, set: row }),
      );
    },
    deleteLimit(name: LimitName): Stmt {
      return changes(db.delete(rateLimits).where(eq(rateLimits.name, name)));
    },
    putOverride(o: LimitOverride): Stmt {
      return changes(
        db
          .insert(rateLimitOverrides)
          .values(o)
          .onConflictDoUpdate({
            target: [rateLimitOverrides.name, rateLimitOverrides.scope],
            set: { count: o.count, windowSeconds: o.windowSeconds },
          }),
      );
    },
    deleteOverride(name: LimitName, scope: string): Stmt {
      return changes(
        db
          .delete(rateLimitOverrides)
          .where(and(eq(rateLimitOverrides.name, name), eq(rateLimitOverrides.scope, scope))),
      );
    },
  };
}

export type SettingsStore = ReturnType<typeof createSettingsStore>;
