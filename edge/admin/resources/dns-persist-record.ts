// Admin API: the exact dns-persist-01 TXT record an operator must publish for one account and one
// name (the challenge type a profile or an EAB key opts in to: edge/admin/opt-in-challenges.ts). The
// record is a standing grant: as long as it stands, whoever holds the account's key can have
// certificates issued for the name (and, with policy=wildcard, for every name under it), with no
// further DNS change (draft-ietf-acme-dns-persist-02 §7.2). The answer says so.
import { normalizeIdentifier } from '../../../shared/identifiers.ts';
import { AcmeProblem } from '../../../shared/problems.ts';
import { persistRecord } from '../../../validation/dns-persist-01.ts';
import { persistIssuer } from '../../acme/challenge-offer.ts';
import { AdminError, bad } from '../http.ts';
import { type AdminResource, route } from '../resource.ts';

export const PERSIST_RISK =
  'As long as this record stands, anyone holding this ACME account key can obtain certificates for this name ' +
  '(and, with policy=wildcard, for every name under it) without touching DNS again. Remove the record, or ' +
  'deactivate the account, to withdraw the grant; set persistUntil to bound it.';

export const DNS_PERSIST_RECORD: AdminResource = {
  routes: [
    route(
      'get',
      '/dns-persist-record',
      'The dns-persist-01 TXT record to publish for an account and a name (?account=&name=&wildcard=&persistUntil=), with its risk',
      async (c) => {
        const { svc } = c.var;
        const accountId = c.req.query('account') ?? '';
        const rawName = c.req.query('name') ?? '';
        if (!accountId) throw bad('account', 'is required (?account=<account id>)');
        if (!rawName) throw bad('name', 'is required (?name=<DNS name>, or *.<name> for a wildcard)');
        let name: string;
        try {
          const id = normalizeIdentifier({ type: 'dns', value: rawName });
          if (id.type !== 'dns') throw new Error('not a DNS name');
          name = id.value;
        } catch (e) {
          throw bad(
            'name',
            e instanceof AcmeProblem ? e.message : `${JSON.stringify(rawName)} is not a DNS name`,
          );
        }
        const account = await svc.accounts.get(accountId);
        if (!account) throw new AdminError('notFound', `no account "${accountId}"`, 'account');
        if (account.status !== 'valid') {
          throw new AdminError(
            'conflict',
            `account "${accountId}" is ${account.status}: no record can authorize it`,
          );
        }
        const issuer = persistIssuer(svc.config, svc.linker);
        if (!issuer) {
          throw new AdminError(
            'conflict',
            "the CA has no issuer domain name: set EDGECA_CAA_IDENTITIES (the CA's CAA identities) first; dns-persist-01 is never offered without one",
          );
        }
        const wildcardText = c.req.query('wildcard');
        if (wildcardText !== undefined && wildcardText !== 'true' && wildcardText !== 'false') {
          throw bad('wildcard', 'must be true or false');
        }
        const wildcard = wildcardText === 'true';
        const untilText = c.req.query('persistUntil');
        // draft -02 §2: a base-10 UNIX timestamp in seconds; refused when already past.
        if (
          untilText !== undefined &&
          (!/^[0-9]{1,12}$/.test(untilText) || Number(untilText) * 1000 <= Date.now())
        ) {
          throw bad('persistUntil', 'must be a future UNIX time in seconds (e.g. 1767225600)');
        }
        const persistUntil = untilText === undefined ? undefined : Number(untilText);
        const base = {
          name,
          issuer: issuer.issuerDomainNames[0] as string,
          accountUrl: svc.linker.account(account.id),
          wildcard: wildcard || name.startsWith('*.'),
          ...(persistUntil !== undefined ? { persistUntil } : {}),
        };
        // -02 (hashed URI) and -01 (raw account URL): both accepted; clients of today write the -01 form.
        const hashed = await persistRecord({
          ...base,
          thumbprint: account.thumbprint,
          accountHashPrefix: issuer.accountHashPrefix,
        });
        const raw = await persistRecord(base);
        return c.json({
          account: account.id,
          accountUrl: base.accountUrl,
          name,
          issuerDomainNames: issuer.issuerDomainNames,
          owner: hashed.owner,
          value: hashed.value,
          zoneLine: hashed.zoneLine,
          draft01: { value: raw.value, zoneLine: raw.zoneLine },
          warning: PERSIST_RISK,
        });
      },
    ),
  ],
  schemas: {},
};
