// The name pattern admins select certificates with (renew now, bulk revocation): one policy rule —
// an exact name, "*.wildcard", ".suffix" or an IP/CIDR range (edge/policy/engine.ts) — matched as an
// allow rule against each identifier; a certificate matches when any of its identifiers does.
import type { Identifier } from '../../shared/problems.ts';
import { checkPolicy, parseRule } from '../policy/engine.ts';
import type { CertificateRow } from '../storage/schema.ts';

/** The canonical pattern, or an error message saying what is wrong with it. */
export function parsePattern(text: string): { pattern: string } | { error: string } {
  const rule = parseRule(text);
  return typeof rule === 'string' ? { error: rule } : { pattern: rule.text };
}

export function matchesPattern(cert: Pick<CertificateRow, 'identifiers'>, pattern: string): boolean {
  const ids = JSON.parse(cert.identifiers) as Identifier[];
  return ids.some((id) => checkPolicy(id, { allow: [pattern], deny: [] }).allowed);
}
