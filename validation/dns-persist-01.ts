// dns-persist-01 (draft-ietf-acme-dns-persist-02): one standing TXT record at
// _validation-persist.<name> names the CA (an issuer domain name) and binds the name to an ACME
// account, so renewals never touch DNS again. The record's value is a CAA issue-value (RFC 8659
// §4.2, issue-value.ts): "<issuer>; accounturi=<uri>[; policy=wildcard][; persistUntil=<unix>]".
//
// Which accounturi is accepted: the -02 hashed URI, <accountHashPrefix>sha-256/<b64url(SHA-256(
// len(d) || d || thumbprint || accountUrl))> with d the validated name or "*" (§4.1 item 3), and,
// when the CA allows it (PersistIssuer.acceptAccountUrl), the raw account URL of -00 and -01, which
// is what every deployed client (lego 5, acme.sh 3.1.4) writes. Only the current account key's
// thumbprint is tried: keys an account rolled over from are not retained (-02 §4.2 asks for them).
//
// Refusals (§9.3.1): a record naming us whose syntax is wrong is `malformed`; a well-formed record
// naming us that does not authorize this account, this time or this wildcard is `unauthorized`;
// no record at all, or none naming us, is `unauthorized` too (as Boulder and Pebble: the name's
// owner has not authorized this CA); a DNS failure is `dns`. Records naming another CA are ignored
// (§4.3.2 step 2). Only the authorization's own name is looked at: -02 defines no discovery of an
// ancestor's record (§6), so policy=wildcard gates wildcard authorizations only.

import { b64uEncode, sha256, utf8 } from '../shared/encoding.ts';
import { AcmeProblem } from '../shared/problems.ts';
import { baseName, forDnsNames, lookupFailure, lookupTxt, refuseNonDns } from './dns-txt.ts';
import { parseIssueValue } from './issue-value.ts';
import type { ValidationNet } from './net.ts';
import { excerpt, invalid, valid } from './result.ts';
import type {
  Challenge,
  ChallengeInput,
  PersistIssuer,
  ValidationOptions,
  ValidationResult,
} from './types.ts';

export const dnsPersist01: Challenge<'dns-persist-01'> = {
  type: 'dns-persist-01',
  // §8.1 registers it for "dns" identifiers; wildcards included (policy=wildcard decides).
  offeredFor: forDnsNames,
  optIn: true,
  validate: validateDnsPersist01,
};

/** §4: the Validation Domain Name. */
export function persistRecordName(name: string): string {
  return `_validation-persist.${baseName(name).toLowerCase()}`;
}

/**
 * §4.1 item 3: the hashed account URI for one key and one domain ("*" for the wildcard opt-out
 * form): SHA-256 over the domain's length (one octet), the domain, the key's JWK thumbprint and the
 * account URL, base64url without padding.
 */
export async function hashedAccountUri(
  prefix: string,
  domain: string,
  thumbprint: string,
  accountUrl: string,
): Promise<string> {
  const d = utf8.encode(domain);
  const rest = utf8.encode(`${thumbprint}${accountUrl}`);
  const input = new Uint8Array(1 + d.length + rest.length);
  input[0] = d.length;
  input.set(d, 1);
  input.set(rest, 1 + d.length);
  return `${prefix}sha-256/${b64uEncode(await sha256(input))}`;
}

export interface PersistRecordRequest {
  /** the identifier, "*." + name for a wildcard */
  name: string;
  issuer: string;
  accountUrl: string;
  /** the account key's JWK thumbprint (RFC 7638, base64url): needed for the -02 form only */
  thumbprint?: string;
  accountHashPrefix?: string;
  /** also authorize wildcards and subdomains (§5) */
  wildcard?: boolean;
  /** unix seconds after which the record no longer counts (§4.1 item 5) */
  persistUntil?: number;
}

/**
 * The TXT record an operator publishes, as "owner" and "value": the -02 form when a thumbprint and
 * prefix are given (hashed over the name, or over "*" with policy=wildcard), else the -01 form with
 * the raw account URL. Split into 255-octet strings it is a zone-file line (`zoneLine`).
 */
export async function persistRecord(
  r: PersistRecordRequest,
): Promise<{ owner: string; value: string; zoneLine: string }> {
  const base = baseName(r.name).toLowerCase();
  const wildcard = r.wildcard || r.name.startsWith('*.');
  const uri =
    r.thumbprint && r.accountHashPrefix
      ? await hashedAccountUri(r.accountHashPrefix, wildcard ? '*' : base, r.thumbprint, r.accountUrl)
      : r.accountUrl;
  let value = `${r.issuer}; accounturi=${uri}`;
  if (wildcard) value += '; policy=wildcard';
  if (r.persistUntil !== undefined) value += `; persistUntil=${r.persistUntil}`;
  const owner = persistRecordName(base);
  // RFC 1035 §3.3.14: character-strings of at most 255 octets, concatenated by the reader (§9.1).
  const strings = value.match(/.{1,255}/g) ?? [''];
  return { owner, value, zoneLine: `${owner}. IN TXT ${strings.map((s) => JSON.stringify(s)).join(' ')}` };
}

/** persistUntil (§2): a base-10 UNIX timestamp; no sign, and small enough to be exact here. */
const PERSIST_UNTIL_RE = /^[0-9]{1,15}$/;
const SHA256_B64U_RE = /^sha-256\/[A-Za-z0-9_-]{43}$/;

type Verdict = { ok: true } | { ok: false; kind: 'malformed' | 'unauthorized'; why: string };

async function judge(
  text: string,
  input: ChallengeInput & { accountUrl: string; persist: PersistIssuer },
  base: string,
  thumbprint: string,
  now: number,
): Promise<Verdict | null> {
  const parsed = parseIssueValue(text);
  const issuer = parsed.ok ? parsed.value.issuer : parsed.issuer;
  // §4.3.2 step 2: a record for another CA is not ours to judge.
  if (issuer === null || !input.persist.issuerDomainNames.includes(issuer)) return null;
  if (!parsed.ok) return { ok: false, kind: 'malformed', why: parsed.error };
  const p = parsed.value.params;
  const uri = p.get('accounturi');
  if (uri === undefined) return { ok: false, kind: 'malformed', why: 'it has no accounturi parameter' };
  const until = p.get('persistuntil');
  if (until !== undefined && !PERSIST_UNTIL_RE.test(until)) {
    return { ok: false, kind: 'malformed', why: `persistUntil=${until} is not a UNIX timestamp in seconds` };
  }
  const { accountHashPrefix: prefix, acceptAccountUrl } = input.persist;
  // §4.1: accounturi is compared as a simple string (RFC 3986 §6.2.1), no case-folding.
  const bound =
    (acceptAccountUrl === true && uri === input.accountUrl) ||
    uri === (await hashedAccountUri(prefix, base, thumbprint, input.accountUrl)) ||
    uri === (await hashedAccountUri(prefix, '*', thumbprint, input.accountUrl));
  if (!bound) {
    if (uri.startsWith(prefix) && !SHA256_B64U_RE.test(uri.slice(prefix.length))) {
      // §4.1 item 3: a hash algorithm other than sha-256 (or a garbled value) MUST be malformed.
      return {
        ok: false,
        kind: 'malformed',
        why: `accounturi=${uri} is not ${prefix}sha-256/<43 base64url characters>`,
      };
    }
    const forms = acceptAccountUrl
      ? `${input.accountUrl} or this account's hashed URI`
      : "this account's hashed URI";
    return { ok: false, kind: 'unauthorized', why: `accounturi=${uri} is not ${forms}` };
  }
  if (until !== undefined && now > Number(until) * 1000) {
    // §4.1 item 5: "After timestamp T, a CA MUST NOT consider the record valid".
    const when = new Date(Number(until) * 1000).toISOString();
    return { ok: false, kind: 'unauthorized', why: `its persistUntil=${until} (${when}) has passed` };
  }
  if (input.wildcard && p.get('policy')?.toLowerCase() !== 'wildcard') {
    // §5.1: without policy=wildcard the record is not sufficient for a wildcard certificate.
    return { ok: false, kind: 'unauthorized', why: `it lacks policy=wildcard, which *.${base} needs` };
  }
  return { ok: true };
}

export async function validateDnsPersist01(
  net: ValidationNet,
  input: ChallengeInput,
  opts: ValidationOptions,
): Promise<ValidationResult> {
  const id = input.identifier;
  const refused = refuseNonDns('dns-persist-01', id);
  if (refused) return refused;
  const { accountUrl, persist } = input;
  if (!accountUrl || !persist || persist.issuerDomainNames.length === 0) {
    // A caller's bug, not the client's: the edge offers the challenge only with both known.
    return invalid(
      new AcmeProblem(
        'serverInternal',
        'dns-persist-01 validation was started without the account or the CA names',
      ),
      id,
    );
  }
  const base = baseName(id.value).toLowerCase();
  const name = persistRecordName(base);
  const thumbprint = input.keyAuthorization.slice(input.keyAuthorization.indexOf('.') + 1);
  const records = [{ hostname: base }];
  const issuers = persist.issuerDomainNames.join(', ');
  const found = await lookupTxt(net, name, opts.timeoutMs);
  if (found.status === 'absent') {
    return invalid(
      new AcmeProblem(
        'unauthorized',
        `No TXT record found at ${name}; create one naming ${issuers} and this account`,
      ),
      id,
      records,
    );
  }
  if (found.status === 'failed') {
    return invalid(new AcmeProblem('dns', lookupFailure(name, found.code)), id, records);
  }
  const { txts } = found;
  const now = Date.now();
  const refusals: Array<Extract<Verdict, { ok: false }> & { text: string }> = [];
  const full = { ...input, accountUrl, persist };
  for (const text of txts) {
    const v = await judge(text, full, base, thumbprint, now);
    if (v === null) continue;
    // §4.3: each record is an independent authorization; any one suffices.
    if (v.ok) return valid(records);
    refusals.push({ ...v, text });
  }
  if (refusals.length === 0) {
    return invalid(
      new AcmeProblem(
        'unauthorized',
        `None of the ${txts.length} TXT record(s) at ${name} names this CA (${issuers}): ${excerpt(txts[0] ?? '', 64)}${txts.length > 1 ? ' …' : ''}`,
      ),
      id,
      records,
    );
  }
  // A syntax error is reported first (as Boulder and Pebble do): fixing it may be all that is needed.
  const kind = refusals.some((r) => r.kind === 'malformed') ? 'malformed' : 'unauthorized';
  const shown = refusals.filter((r) => r.kind === kind);
  const detail = shown.map((r) => `${excerpt(r.text, 160)}: ${r.why}`).join('; ');
  return invalid(
    new AcmeProblem(
      kind,
      `${shown.length} TXT record(s) at ${name} name this CA but cannot be used: ${detail}`,
    ),
    id,
    records,
  );
}
