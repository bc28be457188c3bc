// Where a challenge is validated: at the edge, on-prem by the validator, or both (both
// perspectives must agree, Boulder's multi-perspective idea applied to the inside/outside split).
// Rules match an identifier by DNS suffix or IP range; the most specific match wins (longest
// suffix, longest prefix). Without a matching rule, a challenge this runtime cannot perform (for
// tls-alpn-01: raw TLS, which Workers and Deno lack) goes on-prem when a validator is configured;
// everything else stays at the edge. Which challenges are offered follows from the routes and from
// each challenge's own rules (validation/registry.ts).
// Deployment config for now (EDGECA_VALIDATION_ROUTES, JSON); portable, no runtime imports.
import { dnsNameUnder, ipInCidr, parseCidr, parseIp } from '../../shared/identifiers.ts';
import type { Identifier } from '../../shared/problems.ts';
import { type Capabilities, capabilitiesOf, type ValidationNet } from '../../validation/net.ts';
import { CHALLENGES, type ChallengeType, challengeOf } from '../../validation/registry.ts';

export type ValidationRoute = 'edge' | 'onprem' | 'both';
const ROUTES: readonly ValidationRoute[] = ['edge', 'onprem', 'both'];

/** `match`: a DNS suffix ("corp.internal" matches it and every name under it; "." every name) or a CIDR. */
export interface RouteRule {
  match: string;
  route: ValidationRoute;
}

export interface RoutingContext {
  /** what this runtime can do itself (raw TLS or not) */
  runtime: Capabilities;
  /** a validator URL and its pinned key are configured */
  validator: boolean;
}

/** The on-prem validator runs on Node (validator/server.ts), whose network can do every challenge. */
const VALIDATOR: Capabilities = { tlsAlpn: true };

/** The context from the runtime (raw TLS or not) and the config (validator set or not). */
export function routingContext(
  runtime: Pick<ValidationNet, 'tlsAlpn'>,
  config: { validatorUrl?: string | undefined; validatorKeyJwk?: unknown },
): RoutingContext {
  return {
    runtime: capabilitiesOf(runtime),
    validator: Boolean(config.validatorUrl && config.validatorKeyJwk),
  };
}

/** Parses EDGECA_VALIDATION_ROUTES: `[{"match":"corp.internal","route":"onprem"}, ...]`. Throws naming the bad entry. */
export function parseValidationRoutes(json: string): RouteRule[] {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    throw new Error(`EDGECA_VALIDATION_ROUTES is not JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(raw)) throw new Error('EDGECA_VALIDATION_ROUTES must be a JSON array of {match, route}');
  return raw.map((r: unknown, i) => {
    const { match, route } = (r ?? {}) as { match?: unknown; route?: unknown };
    if (typeof match !== 'string' || match === '') {
      throw new Error(`EDGECA_VALIDATION_ROUTES[${i}]: "match" must be a DNS suffix or a CIDR`);
    }
    if (!ROUTES.includes(route as ValidationRoute)) {
      throw new Error(`EDGECA_VALIDATION_ROUTES[${i}]: "route" must be edge, onprem or both`);
    }
    if (match.includes('/') && !parseCidr(match)) {
      throw new Error(`EDGECA_VALIDATION_ROUTES[${i}]: "${match}" is not a CIDR`);
    }
    return { match: match.toLowerCase(), route: route as ValidationRoute };
  });
}

/** How specific a rule is for this identifier, or -1 when it does not match. */
function specificity(rule: RouteRule, id: Identifier): number {
  if (id.type === 'ip') {
    const cidr = rule.match.includes('/') || parseIp(rule.match) ? parseCidr(rule.match) : null;
    const ip = parseIp(id.value);
    return cidr && ip && ipInCidr(ip, cidr) ? cidr.prefix : -1;
  }
  if (rule.match.includes('/') || parseIp(rule.match)) return -1;
  if (rule.match === '.') return 0;
  return dnsNameUnder(id.value, rule.match) ? rule.match.replace(/^\.+/, '').split('.').length : -1;
}

/** The route for one challenge: the most specific matching rule, else the default described above. */
export function routeFor(
  id: Identifier,
  type: ChallengeType,
  rules: readonly RouteRule[],
  ctx: RoutingContext,
): ValidationRoute {
  let best: RouteRule | undefined;
  let bestScore = -1;
  for (const rule of rules) {
    const s = specificity(rule, id);
    if (s > bestScore) {
      best = rule;
      bestScore = s;
    }
  }
  if (best) return best.route;
  const challenge = challengeOf(type);
  const onlyOnPrem =
    challenge !== undefined && !challenge.offeredFor(id, ctx.runtime) && challenge.offeredFor(id, VALIDATOR);
  return onlyOnPrem && ctx.validator ? 'onprem' : 'edge';
}

/**
 * The challenge types offered for `id` (as the order names it), in the registry's order: those this
 * runtime can perform itself, and those its route sends to the validator alone; an opt-in type
 * (validation/types.ts Challenge.optIn) only when it is in `optedIn`.
 */
export function offeredChallenges(
  id: Identifier,
  rules: readonly RouteRule[],
  ctx: RoutingContext,
  optedIn: ReadonlySet<string> = new Set(),
): ChallengeType[] {
  return CHALLENGES.filter(
    (c) =>
      (!c.optIn || optedIn.has(c.type)) &&
      (c.offeredFor(id, ctx.runtime) ||
        (ctx.validator && c.offeredFor(id, VALIDATOR) && routeFor(id, c.type, rules, ctx) === 'onprem')),
  ).map((c) => c.type);
}
