// The name and IP policy engine: pure, no I/O. A policy is an allow list and a deny list of rules;
// an identifier must pass every scope that applies (global, the account's EAB key, the account), so
// a narrower scope can only narrow. Within a scope deny wins over allow; an empty allow list allows
// everything the deny list does not refuse.
//
// Rules (one string each, lowercase):
//   host.example.internal   exactly that DNS name
//   *.example.internal      names exactly one label under example.internal, and the wildcard
//                           identifier "*.example.internal" itself
//   .example.internal       every name under example.internal at any depth (wildcards included),
//                           not example.internal itself
//   10.0.0.0/8, fd00::/8    IP identifiers inside the range; a bare address is a /32 or /128
// A DNS rule never matches an IP identifier and an IP rule never matches a DNS name: an allow list
// with only DNS rules therefore refuses every IP identifier (and the other way round).
//
// Wildcard identifiers are judged by what the certificate would cover: "*.x.internal" is refused by
// a deny rule matching any name one label under x.internal ("a.x.internal", "*.x.internal",
// ".x.internal" or a suffix above it), and allowed only by "*.x.internal" or a suffix covering it.
import {
  type Cidr,
  formatIp,
  ipInCidr,
  isValidDnsName,
  parseCidr,
  parseIp,
} from '../../shared/identifiers.ts';
import type { Identifier } from '../../shared/problems.ts';
import type { NamePolicy } from '../storage/settings.ts';

export type { NamePolicy };

export type Rule =
  | { kind: 'exact'; name: string; text: string }
  | { kind: 'wildcard'; parent: string; text: string }
  | { kind: 'suffix'; parent: string; text: string }
  | { kind: 'cidr'; cidr: Cidr; text: string };

export interface PolicyScope {
  /** "global", "EAB key eab-…", "account …": named in refusals */
  label: string;
  policy: NamePolicy;
}

export type Verdict = { allowed: true } | { allowed: false; reason: string };

/** Parses one rule; returns an error message instead when it is not one. */
export function parseRule(text: unknown): Rule | string {
  if (typeof text !== 'string' || text.length === 0) return 'a rule must be a non-empty string';
  const t = text.trim().toLowerCase();
  if (t.includes('/') || parseIp(t)) {
    const cidr = parseCidr(t);
    if (!cidr) return `"${text}" is not an IP address or CIDR range`;
    return { kind: 'cidr', cidr, text: `${formatIp(cidr.network)}/${cidr.prefix}` };
  }
  if (t.startsWith('*.')) {
    const parent = t.slice(2);
    if (!isValidDnsName(parent)) return `"${text}": the part after "*." is not a DNS name`;
    return { kind: 'wildcard', parent, text: t };
  }
  if (t.startsWith('.')) {
    const parent = t.slice(1);
    if (!isValidDnsName(parent)) return `"${text}": the part after "." is not a DNS name`;
    return { kind: 'suffix', parent, text: t };
  }
  if (t.includes('*')) return `"${text}": "*" may only be the whole leftmost label ("*.example.internal")`;
  if (!isValidDnsName(t)) return `"${text}" is not a DNS name, wildcard, suffix or CIDR range`;
  return { kind: 'exact', name: t, text: t };
}

/** Checks a whole policy; returns the canonical policy or the first error with its field. */
export function parsePolicy(
  p: unknown,
): { ok: true; policy: NamePolicy } | { ok: false; field: string; error: string } {
  if (typeof p !== 'object' || p === null || Array.isArray(p))
    return { ok: false, field: 'policy', error: 'must be an object {allow, deny}' };
  const o = p as Record<string, unknown>;
  const out: NamePolicy = { allow: [], deny: [] };
  for (const k of Object.keys(o)) {
    if (k !== 'allow' && k !== 'deny') return { ok: false, field: k, error: 'unknown field (allow, deny)' };
  }
  for (const list of ['allow', 'deny'] as const) {
    const v = o[list] ?? [];
    if (!Array.isArray(v)) return { ok: false, field: list, error: 'must be an array of rule strings' };
    if (v.length > 1000) return { ok: false, field: list, error: 'at most 1000 rules' };
    for (const [i, r] of v.entries()) {
      const rule = parseRule(r);
      if (typeof rule === 'string') return { ok: false, field: `${list}[${i}]`, error: rule };
      if (!out[list].includes(rule.text)) out[list].push(rule.text);
    }
  }
  return { ok: true, policy: out };
}

function under(name: string, parent: string): boolean {
  return name.endsWith(`.${parent}`);
}

/** Does `rule` match the plain (non-wildcard) DNS name? */
function matchesName(rule: Rule, name: string): boolean {
  switch (rule.kind) {
    case 'exact':
      return rule.name === name;
    case 'wildcard':
      return under(name, rule.parent) && !name.slice(0, -rule.parent.length - 1).includes('.');
    case 'suffix':
      return under(name, rule.parent);
    case 'cidr':
      return false;
  }
}

/** Allow: does `rule` cover everything the identifier names? */
function allows(rule: Rule, id: Identifier): boolean {
  if (id.type === 'ip') {
    const ip = parseIp(id.value);
    return rule.kind === 'cidr' && ip !== null && ipInCidr(ip, rule.cidr);
  }
  if (!id.value.startsWith('*.')) return matchesName(rule, id.value);
  const parent = id.value.slice(2);
  if (rule.kind === 'wildcard') return rule.parent === parent;
  if (rule.kind === 'suffix') return parent === rule.parent || under(parent, rule.parent);
  return false;
}

/** Deny: does `rule` match anything the identifier names? */
function denies(rule: Rule, id: Identifier): boolean {
  if (id.type === 'ip' || !id.value.startsWith('*.')) return allows(rule, id);
  const parent = id.value.slice(2);
  switch (rule.kind) {
    case 'exact':
      // "*.x" covers "a.x": a denied name one label under the wildcard refuses the wildcard
      return under(rule.name, parent) && !rule.name.slice(0, -parent.length - 1).includes('.');
    case 'wildcard':
      return rule.parent === parent;
    case 'suffix':
      return parent === rule.parent || under(parent, rule.parent);
    case 'cidr':
      return false;
  }
}

/** Parses rules known to be valid (stored policies); a stored rule that no longer parses is skipped. */
function rules(texts: string[]): Rule[] {
  const out: Rule[] = [];
  for (const t of texts) {
    const r = parseRule(t);
    if (typeof r !== 'string') out.push(r);
  }
  return out;
}

/** Judges one identifier (canonical form) against one policy. */
export function checkPolicy(id: Identifier, policy: NamePolicy): Verdict {
  const deny = rules(policy.deny).find((r) => denies(r, id));
  if (deny) return { allowed: false, reason: `denied by rule "${deny.text}"` };
  if (policy.allow.length === 0) return { allowed: true };
  if (rules(policy.allow).some((r) => allows(r, id))) return { allowed: true };
  return { allowed: false, reason: 'not matched by any allow rule' };
}

/** Judges one identifier against every scope; the first refusal names its scope. */
export function checkScopes(id: Identifier, scopes: PolicyScope[]): Verdict {
  for (const s of scopes) {
    const v = checkPolicy(id, s.policy);
    if (!v.allowed) return { allowed: false, reason: `${s.label} policy: ${v.reason}` };
  }
  return { allowed: true };
}

/** True when the identifier is matched by an allow rule of the policy (not merely by an empty list). */
export function explicitlyAllowed(id: Identifier, policy: NamePolicy): boolean {
  return rules(policy.allow).some((r) => allows(r, id)) && checkPolicy(id, policy).allowed;
}
