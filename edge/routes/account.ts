// newAccount (RFC 8555 §7.3), account update and deactivation (§7.3.2, §7.3.6), orders list (§7.1.2.1).
import type { Hono } from 'hono';
import { AcmeProblem } from '../../shared/problems.ts';
import { refuseBlockedAccountKey } from '../acme/compromised-keys.ts';
import { verifyEab } from '../acme/eab.ts';
import { acmeJws } from '../acme/jws.ts';
import { ensureOwner, json, requireAccount } from '../acme/respond.ts';
import { accountToWire } from '../acme/wire.ts';
import type { AppEnv } from '../context.ts';
import { PATHS } from '../linker.ts';
import { checkAccountLimit } from '../ratelimit/limits.ts';
import { newId } from '../storage/ids.ts';

const MAX_CONTACTS = 10;
// RFC 5321 §4.5.3.1: a path is at most 256 octets with its angle brackets, so an address at most 254;
// a local part at most 64.
const MAX_ADDRESS_OCTETS = 254;
const MAX_LOCAL_PART_OCTETS = 64;
const octets = (s: string) => new TextEncoder().encode(s).length;
// A practical addr-spec check: local@domain, no spaces, commas or hfields (RFC 8555 §7.3: no "?").
const MAILTO_RE =
  /^mailto:[^@\s,?<>;:"]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

export function parseContacts(v: unknown): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new AcmeProblem('invalidContact', '"contact" must be an array of URLs');
  if (v.length > MAX_CONTACTS) throw new AcmeProblem('invalidContact', `at most ${MAX_CONTACTS} contacts`);
  return v.map((c) => {
    if (typeof c !== 'string') throw new AcmeProblem('invalidContact', 'each contact must be a string');
    if (!c.toLowerCase().startsWith('mailto:')) {
      throw new AcmeProblem(
        'unsupportedContact',
        `contact ${JSON.stringify(c)}: only mailto: contacts are supported`,
      );
    }
    if (!MAILTO_RE.test(c))
      throw new AcmeProblem('invalidContact', `contact ${JSON.stringify(c)} is not a valid mailto: address`);
    const address = c.slice('mailto:'.length);
    if (octets(address) > MAX_ADDRESS_OCTETS)
      throw new AcmeProblem(
        'invalidContact',
        `contact address of ${octets(address)} octets: an email address has at most ${MAX_ADDRESS_OCTETS} (RFC 5321 §4.5.3.1)`,
      );
    const local = address.slice(0, address.lastIndexOf('@'));
    if (octets(local) > MAX_LOCAL_PART_OCTETS)
      throw new AcmeProblem(
        'invalidContact',
        `contact local part of ${octets(local)} octets: at most ${MAX_LOCAL_PART_OCTETS} (RFC 5321 §4.5.3.1.1)`,
      );
    return c;
  });
}

/** A field that must be a boolean when present (RFC 8555 §7.1.2 types them): malformed otherwise. */
function optionalBoolean(p: Record<string, unknown>, field: string): boolean | undefined {
  const v = p[field];
  if (v !== undefined && typeof v !== 'boolean')
    throw new AcmeProblem(
      'malformed',
      `"${field}" must be a boolean (true or false), got ${JSON.stringify(v)}`,
    );
  return v;
}

function asObject(payload: unknown, what: string): Record<string, unknown> {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new AcmeProblem('malformed', `${what} payload must be a JSON object`);
  }
  return payload as Record<string, unknown>;
}

export function registerAccount(app: Hono<AppEnv>): void {
  app.post(PATHS.newAccount, acmeJws('jwk', { postAsGet: false }), async (c) => {
    const { svc, jws } = c.var;
    const p = asObject(jws.payload, 'newAccount');
    // Every field's type first: a wrong type is malformed whether or not the account exists.
    const onlyReturnExisting = optionalBoolean(p, 'onlyReturnExisting');
    optionalBoolean(p, 'termsOfServiceAgreed');
    if (
      p.externalAccountBinding !== undefined &&
      (typeof p.externalAccountBinding !== 'object' ||
        p.externalAccountBinding === null ||
        Array.isArray(p.externalAccountBinding))
    )
      throw new AcmeProblem(
        'malformed',
        '"externalAccountBinding" must be a flattened JWS object (RFC 8555 §7.3.4)',
      );
    const keyDigest = await refuseBlockedAccountKey(svc, jws.jwk);
    const existing = await svc.accounts.byThumbprint(jws.thumbprint);
    if (existing) {
      // RFC 8555 §7.3.6: the deactivated account's key asking for its account is a request from it.
      if (existing.status !== 'valid')
        throw new AcmeProblem('unauthorized', `the account for this key is ${existing.status}`, {
          status: 401,
        });
      return json(c, accountToWire(existing, svc.linker), 200, svc.linker.account(existing.id));
    }
    if (onlyReturnExisting === true)
      throw new AcmeProblem('accountDoesNotExist', 'no account exists for this key');
    const contact = parseContacts(p.contact);
    if (svc.config.termsOfService && p.termsOfServiceAgreed !== true) {
      throw new AcmeProblem(
        'malformed',
        `you must agree to the terms of service at ${svc.config.termsOfService}`,
      );
    }
    let eabKid: string | null = null;
    if (p.externalAccountBinding !== undefined) {
      eabKid = await verifyEab(svc, p.externalAccountBinding, jws.thumbprint);
    } else if (svc.config.eabRequired) {
      throw new AcmeProblem(
        'externalAccountRequired',
        'this CA requires an external account binding (ask an admin for an EAB key)',
      );
    }
    // New accounts per client address (an EAB key may carry its own override).
    await checkAccountLimit(svc, c.var.clientAddress, eabKid);
    const res = await svc.accounts.create({
      id: newId(),
      thumbprint: jws.thumbprint,
      jwk: JSON.stringify(jws.jwk),
      status: 'valid',
      contact: JSON.stringify(contact),
      tosAgreed: p.termsOfServiceAgreed === true,
      eabKid,
      keyDigest,
    });
    if (res.status === 'keyBlocked') {
      // blocked since the check above: the same refusal
      await refuseBlockedAccountKey(svc, jws.jwk);
      throw new AcmeProblem(
        'badPublicKey',
        'this key cannot be used as an account key: it was reported compromised',
      );
    }
    if (res.status === 'eabUnavailable') {
      throw new AcmeProblem(
        'unauthorized',
        'the external account key was revoked, or bound the accounts it may bind, while this account was being created',
      );
    }
    svc.log({ event: 'account-created', accountId: res.account.id, eab: eabKid ?? undefined });
    return json(
      c,
      accountToWire(res.account, svc.linker),
      res.status === 'created' ? 201 : 200,
      svc.linker.account(res.account.id),
    );
  });

  app.post(PATHS.account, acmeJws('kid'), async (c) => {
    const { svc, jws } = c.var;
    const account = requireAccount(c);
    ensureOwner(c.req.param('id'), account, 'this account');
    if (jws.payload === null)
      return json(c, accountToWire(account, svc.linker), 200, svc.linker.account(account.id));
    const p = asObject(jws.payload, 'account update');
    optionalBoolean(p, 'termsOfServiceAgreed');
    if (p.status !== undefined) {
      if (p.status !== 'deactivated')
        throw new AcmeProblem('malformed', 'an account may only be updated to status "deactivated"');
      await svc.accounts.deactivate(account.id);
    } else if (p.contact !== undefined) {
      await svc.accounts.updateContact(account.id, parseContacts(p.contact));
    }
    // RFC 8555 §7.3.6: the account's next request on this edge is refused, not served from the cache
    svc.accountCache.forget(account.id);
    const fresh = (await svc.accounts.get(account.id)) ?? account;
    return json(c, accountToWire(fresh, svc.linker), 200, svc.linker.account(account.id));
  });

  app.post(PATHS.accountOrders, acmeJws('kid', { postAsGet: true }), async (c) => {
    const { svc } = c.var;
    const account = requireAccount(c);
    ensureOwner(c.req.param('id'), account, 'this orders list');
    const PAGE = 100;
    const cursor = c.req.query('cursor');
    const before = cursor && /^\d{1,15}$/.test(cursor) ? Number(cursor) : undefined;
    const rows = await svc.orders.listIdsByAccount(account.id, PAGE + 1, before);
    const page = rows.slice(0, PAGE);
    if (rows.length > PAGE) {
      const last = page[page.length - 1]!;
      c.header('Link', `<${svc.linker.accountOrders(account.id)}?cursor=${last.createdAt}>;rel="next"`, {
        append: true,
      });
    }
    return json(c, { orders: page.map((r) => svc.linker.order(r.id)) });
  });
}
