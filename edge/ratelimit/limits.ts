// The four rate limits of the edge, each read from the database per request (no cache):
//   newOrdersPerAccount          GCRA bucket per account
//   newAccountsPerIP             GCRA bucket per client address
//   certificatesPerDomain        certificates issued in the last window naming the registered domain
//                                (counted from the certificates table: exact and shared)
//   failedValidationsPerAccount  challenges of the account that failed in the last window (counted)
// A limit with no row is off. Overrides for an account or an EAB key win over the global limit
// (account first). Renewals inside the renewal window (the caller asks edge/acme/ari.ts) are exempt
// from the order and certificate limits, as Let's Encrypt does for ARI renewals. Refusals are
// `rateLimited` with Retry-After.
import { AcmeProblem, type Identifier } from '../../shared/problems.ts';
import type { EdgeServices } from '../services.ts';
import type { AccountRow } from '../storage/schema.ts';
import type { LimitName } from '../storage/settings.ts';

function limited(name: LimitName, detail: string, retryAfter: number): AcmeProblem {
  return new AcmeProblem('rateLimited', `${detail} (limit ${name}); retry after ${retryAfter} s`, {
    retryAfter,
  });
}

function scopesOf(account: Pick<AccountRow, 'id' | 'eabKid'>): string[] {
  return [`account:${account.id}`, ...(account.eabKid ? [`eab:${account.eabKid}`] : [])];
}

/**
 * "Registered domain" without the Public Suffix List (names here are internal): the last two labels
 * of a DNS name; an IP address counts as its own domain.
 */
export function registeredDomain(id: Identifier): string {
  if (id.type === 'ip') return id.value;
  const labels = id.value.replace(/^\*\./, '').split('.');
  return labels.slice(-2).join('.');
}

/** newOrder: the order limit of the account and the certificate limit of each registered domain. */
export async function checkOrderLimits(
  svc: EdgeServices,
  account: AccountRow,
  identifiers: Identifier[],
  /** a renewal inside its ARI window (edge/acme/ari.ts, isRenewalInWindow): exempt */
  renewal: boolean,
): Promise<void> {
  if (renewal) return;
  const now = Date.now();
  const { settings, admin, buckets } = await svc.stores();
  const scopes = scopesOf(account);
  const perDomain = await settings.limitFor('certificatesPerDomain', scopes);
  if (perDomain) {
    const window = perDomain.windowSeconds * 1000;
    for (const domain of new Set(identifiers.map(registeredDomain))) {
      const { count, oldest } = await admin.certificatesUnder(domain, now - window);
      if (count >= perDomain.count) {
        const wait = Math.max(1, Math.ceil(((oldest ?? now) + window - now) / 1000));
        throw limited(
          'certificatesPerDomain',
          `${count} certificates for ${domain} in the last ${perDomain.windowSeconds} s`,
          wait,
        );
      }
    }
  }
  const perAccount = await settings.limitFor('newOrdersPerAccount', scopes);
  if (perAccount) {
    const t = await buckets.take(`newOrdersPerAccount:${account.id}`, perAccount, now);
    if (!t.ok) {
      throw limited(
        'newOrdersPerAccount',
        `this account may create ${perAccount.count} orders per ${perAccount.windowSeconds} s`,
        t.retryAfterSeconds,
      );
    }
  }
}

/** newAccount: the account limit of the client address (an EAB key may carry an override). */
export async function checkAccountLimit(
  svc: EdgeServices,
  clientIp: string,
  eabKid: string | null,
): Promise<void> {
  const { settings, buckets } = await svc.stores();
  const limit = await settings.limitFor('newAccountsPerIP', eabKid ? [`eab:${eabKid}`] : []);
  if (!limit) return;
  const t = await buckets.take(`newAccountsPerIP:${clientIp}`, limit);
  if (!t.ok) {
    throw limited(
      'newAccountsPerIP',
      `${limit.count} new accounts per ${limit.windowSeconds} s from ${clientIp}`,
      t.retryAfterSeconds,
    );
  }
}

/** challenge response: refused while the account has too many recent failed validations. */
export async function checkFailedValidations(svc: EdgeServices, account: AccountRow): Promise<void> {
  const { settings, admin } = await svc.stores();
  const limit = await settings.limitFor('failedValidationsPerAccount', scopesOf(account));
  if (!limit) return;
  const now = Date.now();
  const window = limit.windowSeconds * 1000;
  const { count, oldest } = await admin.failedValidations(account.id, now - window);
  if (count >= limit.count) {
    const wait = Math.max(1, Math.ceil(((oldest ?? now) + window - now) / 1000));
    throw limited(
      'failedValidationsPerAccount',
      `${count} failed validations for this account in the last ${limit.windowSeconds} s`,
      wait,
    );
  }
}
