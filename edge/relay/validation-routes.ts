// Where a challenge is validated: at the edge, on-prem by the validator, or both (both
// perspectives must agree, Boulder's multi-perspective idea applied to the inside/outside split).
// Rules match an identifier by DNS suffix or IP range; the most specific match wins (longest
// suffix, longest prefix). Without a matching rule: tls-alpn-01 goes on-prem when this runtime has
// no raw TLS and a validator is configured (Workers, Deno), everything else stays at the edge.
// Deployment config for now (EDGECA_VALIDATION_ROUTES, JSON); portable, no runtime imports.
import { dnsNameUnder, ipInCidr, parseCidr, parseIp } from '../../shared/identifiers.ts';
import type { Identifier } from '../../shared/problems.ts';
import type { ChallengeType } from '../../validation/types.ts';

export type ValidationRoute = 'edge' | 'onprem' | 'both';
const ROUTES: readonly ValidationRoute[] = ['edge', 'onprem', 'both'];

/** `match`: a DNS suffix ("corp.internal" matches it and every name under it; "." every name) or a CIDR. */
export interface RouteRule {
  match: string;
  route: ValidationRoute;
}

export interface RoutingContext {
  /** the runtime can do tls-alpn-01 itself (EdgeRuntime.tlsAlpn) */
  runtimeTlsAlpn: boolean;
  /** a validator URL and its pinned key are configured */
  validator: boolean;
}

/** The context from the runtime (raw TLS or not) and the config (validator set or not). */
export function routingContext(
  runtime: { tlsAlpn?: unknown },
  config: { validatorUrl?: string | undefined; validatorKeyJwk?: unknown },
): RoutingContext {
  return {
    runtimeTlsAlpn: Boolean(runtime.tlsAlpn),
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
  return type === 'tls-alpn-01' && !ctx.runtimeTlsAlpn && ctx.validator ? 'onprem' : 'edge';
}

/**
 * tls-alpn-01 can be offered for this identifier: the runtime does it itself, or the route sends
 * it on-prem (RFC 8737 needs raw TLS, which Deno and Workers do not have).
 */
export function tlsAlpnOffered(id: Identifier, rules: readonly RouteRule[], ctx: RoutingContext): boolean {
  if (ctx.runtimeTlsAlpn) return true;
  return ctx.validator && routeFor(id, 'tls-alpn-01', rules, ctx) === 'onprem';
}
