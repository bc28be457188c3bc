// EAB key changes as statements plus their change-log entry, and the view of a key the admin API
// answers with. The admin API and `edgeca eab` (which writes the database directly, for the first
// key before any admin token exists) both build their changes here, so every way to create or
// revoke a key writes the same rows and the same change-log entry.
import { newEabCredentials } from '../acme/eab.ts';
import type { NamePolicy } from '../policy/engine.ts';
import type { Stores } from '../services.ts';
import type { Change } from '../storage/admin.ts';
import type { EabKeyRow } from '../storage/schema.ts';
import type { EabSettings, Stmt } from '../storage/settings.ts';

export { MAX_ACCOUNTS_LIMIT } from './eab-limits.ts';

const iso = (ms: number | null | undefined) =>
  ms === null || ms === undefined ? null : new Date(ms).toISOString();

export interface EabKeyView {
  kid: string;
  name: string;
  /** the first account the key bound */
  accountId: string | null;
  /** accounts bound so far (deactivated ones included) */
  boundAccounts: number;
  /** how many it may bind; null: no limit */
  maxAccounts: number | null;
  createdAt: string | null;
  revokedAt: string | null;
  expiresAt: string | null;
  profiles: string[] | null;
  preAuthorize: boolean;
  /** opt-in challenge types offered to the key's accounts (dns-persist-01) */
  optInChallenges: string[];
  policy: NamePolicy | null;
}

export function eabKeyView(
  k: EabKeyRow,
  s: EabSettings,
  policy: NamePolicy | undefined,
  boundAccounts: number,
): EabKeyView {
  return {
    kid: k.kid,
    name: k.name,
    accountId: k.accountId,
    boundAccounts,
    maxAccounts: k.maxAccounts,
    createdAt: iso(k.createdAt),
    revokedAt: iso(k.revokedAt),
    expiresAt: iso(s.expiresAt),
    profiles: s.profiles,
    preAuthorize: s.preAuthorize,
    optInChallenges: s.optInChallenges ?? [],
    policy: policy ?? null,
  };
}

export interface NewEabKey {
  name: string;
  settings: EabSettings;
  policy: NamePolicy | null;
  maxAccounts: number | null;
}

export type ChangeWithoutToken = Omit<Change, 'tokenId'>;

/** A new key: its credentials (the HMAC key is shown once), its rows, its change-log entry. */
export function eabKeyCreation(
  stores: Pick<Stores, 'admin' | 'settings'>,
  k: NewEabKey,
): { kid: string; hmacKey: string; stmts: Stmt[]; change: ChangeWithoutToken } {
  const { kid, hmacKey } = newEabCredentials();
  const stmts: Stmt[] = [
    stores.admin.newEabKey({ kid, hmacKey, name: k.name, maxAccounts: k.maxAccounts }),
    stores.settings.putEabSettings(kid, k.settings),
  ];
  if (k.policy) stmts.push(stores.settings.putPolicy(`eab:${kid}`, k.policy));
  const after = {
    kid,
    name: k.name,
    maxAccounts: k.maxAccounts,
    ...k.settings,
    expiresAt: iso(k.settings.expiresAt),
    policy: k.policy,
  };
  return { kid, hmacKey, stmts, change: { action: 'eab.create', target: `eab:${kid}`, before: null, after } };
}

/** Revoking a key: it binds no further account, and accounts bound to it can no longer order. */
export function eabKeyRevocation(
  stores: Pick<Stores, 'admin'>,
  before: EabKeyView,
  now = Date.now(),
): { stmts: Stmt[]; change: ChangeWithoutToken } {
  return {
    stmts: [stores.admin.revokeEabKey(before.kid)],
    change: {
      action: 'eab.revoke',
      target: `eab:${before.kid}`,
      before,
      after: { ...before, revokedAt: iso(now) },
    },
  };
}
