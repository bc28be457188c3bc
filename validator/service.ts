// The validator's logic behind POST /v1/validate. Order of checks, as the signer's /v1/sign: the
// relay JWS (pinned edge key, op "validate", iat/exp freshness), the request's shape, then its jti
// recorded durably (a replay is refused), then the identifier against the signer's ceiling. Only
// then does it dial anything: http-01, dns-01 (through the internal resolver) or tls-alpn-01, with
// validation/'s code and address rules (no loopback, link-local or metadata addresses), on
// ports 80 and 443 only. Every http-01 redirect target is held to the same ceiling as the
// identifier, so a name inside it cannot send the validator to a host outside it. The answer, valid
// or the exact ACME problem, is a JWS by the validator key carrying the request's jti, so the edge
// can tell it from a forged or replayed one.

import type { NameScope } from '../onprem/config.ts';
import {
  type Cidr,
  dnsNameUnder,
  ipInCidr,
  normalizeIdentifier,
  parseCidr,
  parseIp,
} from '../shared/identifiers.ts';
import { AcmeProblem, type Identifier } from '../shared/problems.ts';
import {
  type RelayKey,
  signRelay,
  type ValidateAnswer,
  type ValidateRequest,
  verifyRelay,
} from '../shared/relay.ts';
import { isIssuerDomainName } from '../validation/issue-value.ts';
import type { ValidationNet } from '../validation/net.ts';
import { CHALLENGE_TYPES, type ChallengeType, isChallengeType } from '../validation/registry.ts';
import type { ChallengeInput, ValidationOptions, ValidationResult } from '../validation/types.ts';
import { validateChallenge, validationOptions } from '../validation/validate.ts';
import type { ValidatorConfig } from './config.ts';
import type { JtiStore } from './store.ts';

/** "http-01, dns-01 or tls-alpn-01": the registry's types, for the problem that names them. */
const TYPES_TEXT =
  CHALLENGE_TYPES.length > 1
    ? `${CHALLENGE_TYPES.slice(0, -1).join(', ')} or ${CHALLENGE_TYPES.at(-1)}`
    : CHALLENGE_TYPES.join('');
/** RFC 8555 §8: tokens are base64url; 128 bits at least. Bounded above so nothing huge is echoed. */
const TOKEN_RE = /^[A-Za-z0-9_-]{22,128}$/;
/** token "." base64url(SHA-256 thumbprint): 43 characters for SHA-256; a little room for others. */
const THUMBPRINT_RE = /^[A-Za-z0-9_-]{20,128}$/;
const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_MAX_CONCURRENT = 16;
/** Seconds a caller is asked to wait when every validation slot is busy. */
export const BUSY_RETRY_AFTER_S = 2;

export interface ValidatorServiceOptions {
  config: ValidatorConfig;
  net: ValidationNet;
  store: JtiStore;
  edgeKeys: ReadonlyMap<string, RelayKey>;
  answerKey: RelayKey;
  log?: (line: Record<string, unknown>) => void;
}

/** Filled in as the request is understood; logged with the request line. */
export interface ValidateLog {
  rid?: string;
  jti?: string;
  challengeType?: string;
  identifier?: string;
  result?: string;
  problem?: string;
}

export class ValidatorService {
  readonly options: ValidationOptions;
  private inFlight = 0;
  private readonly maxConcurrent: number;
  private readonly ranges: Cidr[];

  constructor(private readonly o: ValidatorServiceOptions) {
    const t = o.config.testOnly ?? {};
    const ranges = o.config.ceiling.ipRanges.map((r) => {
      const c = parseCidr(r);
      if (!c) throw new Error(`ceiling.ipRanges: "${r}" is not a CIDR`);
      return c;
    });
    this.ranges = ranges;
    this.options = validationOptions({
      // RFC 8555 §8.3 and RFC 8737 §3 fix these ports; only tests move them.
      http01Port: t.http01Port ?? 80,
      tlsAlpnPort: t.tlsAlpnPort ?? 443,
      timeoutMs: o.config.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      addressPolicy: { allowLoopback: t.allowLoopback ?? false, allowPrivate: true, allowLinkLocal: false },
      redirectScope: (target) => scopeProblem(o.config.ceiling, ranges, target)?.message ?? null,
    });
    this.maxConcurrent = o.config.maxConcurrent ?? DEFAULT_MAX_CONCURRENT;
  }

  /** Verifies a relay JWS, performs the challenge and returns the signed answer (compact JWS). */
  async validate(jws: string, log: ValidateLog = {}): Promise<string> {
    const { payload } = await verifyRelay<ValidateRequest>(jws, { op: 'validate', keys: this.o.edgeKeys });
    if (typeof payload.rid === 'string') log.rid = payload.rid.slice(0, 64);
    const { id, type, extra } = checkShape(payload);
    log.jti = payload.jti;
    log.challengeType = payload.challengeType;
    log.identifier = id.value;
    if (this.inFlight >= this.maxConcurrent) {
      throw new AcmeProblem('serviceUnavailable', 'every validation slot is busy; retry later', {
        retryAfter: BUSY_RETRY_AFTER_S,
      });
    }
    this.inFlight++;
    try {
      if (!(await this.o.store.record(payload.jti, payload.exp))) {
        this.o.log?.({ event: 'replay', op: 'validate', jti: payload.jti, identifier: id.value });
        throw new AcmeProblem('unauthorized', 'relay request was already used (replayed jti)');
      }
      // A wildcard authorization is held to the ceiling's wildcard rule, as its order's name was.
      const asOrdered = extra.wildcard ? { type: id.type, value: `*.${id.value}` } : id;
      const outOfScope = scopeProblem(this.o.config.ceiling, this.ranges, asOrdered);
      const result: ValidationResult = outOfScope
        ? { status: 'invalid', problem: outOfScope }
        : await validateChallenge(
            this.o.net,
            {
              type,
              identifier: id,
              token: payload.token,
              keyAuthorization: payload.keyAuthorization,
              ...extra,
            },
            this.options,
          );
      log.result = result.status;
      if (result.status === 'invalid') log.problem = result.problem.kind;
      return await this.answer(payload.jti, result);
    } finally {
      this.inFlight--;
    }
  }

  private answer(jti: string, result: ValidationResult): Promise<string> {
    const body: ValidateAnswer = {
      op: 'validate-answer',
      jti,
      iat: Math.floor(Date.now() / 1000),
      status: result.status,
    };
    if (result.status === 'invalid')
      body.error = { type: result.problem.type, detail: result.problem.message };
    return signRelay<ValidateAnswer>(body, this.o.answerKey);
  }
}

/** The request's challenge type and identifier in canonical form, or `malformed` naming what is wrong. */
function checkShape(p: ValidateRequest): {
  id: Identifier;
  type: ChallengeType;
  extra: Pick<ChallengeInput, 'accountUrl' | 'wildcard' | 'persist'>;
} {
  if (!isChallengeType(p.challengeType)) {
    throw new AcmeProblem('malformed', `challengeType must be ${TYPES_TEXT}`);
  }
  if (typeof p.token !== 'string' || !TOKEN_RE.test(p.token)) {
    throw new AcmeProblem('malformed', 'token must be 22 to 128 base64url characters');
  }
  const ka = p.keyAuthorization;
  if (
    typeof ka !== 'string' ||
    !ka.startsWith(`${p.token}.`) ||
    !THUMBPRINT_RE.test(ka.slice(p.token.length + 1))
  ) {
    throw new AcmeProblem('malformed', 'keyAuthorization must be the token, ".", and a base64url thumbprint');
  }
  const id = normalizeIdentifier(p.identifier);
  if (id.type === 'dns' && id.value.length > 253) throw new AcmeProblem('malformed', 'DNS name too long');
  const extra: Pick<ChallengeInput, 'accountUrl' | 'wildcard' | 'persist'> = {};
  if (p.accountUrl !== undefined) {
    if (typeof p.accountUrl !== 'string' || !isHttpUrl(p.accountUrl)) {
      throw new AcmeProblem('malformed', 'accountUrl must be an http(s) URL of at most 2048 characters');
    }
    extra.accountUrl = p.accountUrl;
  }
  if (p.wildcard !== undefined) {
    if (typeof p.wildcard !== 'boolean') throw new AcmeProblem('malformed', 'wildcard must be a boolean');
    if (p.wildcard) extra.wildcard = true;
  }
  if (p.persist !== undefined) {
    const names = (p.persist as { issuerDomainNames?: unknown } | null)?.issuerDomainNames;
    const prefix = (p.persist as { accountHashPrefix?: unknown } | null)?.accountHashPrefix;
    if (
      !Array.isArray(names) ||
      names.length < 1 ||
      names.length > 10 ||
      !names.every((n) => typeof n === 'string' && isIssuerDomainName(n)) ||
      typeof prefix !== 'string' ||
      !isHttpUrl(prefix)
    ) {
      throw new AcmeProblem(
        'malformed',
        'persist must be {issuerDomainNames: 1 to 10 lowercase domain names, accountHashPrefix: an http(s) URL}',
      );
    }
    const legacy = (p.persist as { acceptAccountUrl?: unknown }).acceptAccountUrl;
    extra.persist = {
      issuerDomainNames: names as string[],
      accountHashPrefix: prefix,
      ...(legacy === true ? { acceptAccountUrl: true } : {}),
    };
  }
  return { id, type: p.challengeType, extra };
}

function isHttpUrl(s: string): boolean {
  return s.length <= 2048 && /^https?:\/\/[^\s]+$/.test(s) && URL.canParse(s);
}

/**
 * Null when the identifier lies inside the signer's ceiling; else `rejectedIdentifier`. It is first
 * made canonical as an order's identifier is (an IPv4 address in IPv6 form is refused there), so a
 * redirect's host gets exactly the identifier's checks.
 */
export function scopeProblem(scope: NameScope, ranges: Cidr[], given: Identifier): AcmeProblem | null {
  let id: Identifier;
  try {
    id = normalizeIdentifier(given);
  } catch (e) {
    if (e instanceof AcmeProblem) return e;
    throw e;
  }
  if (id.type === 'dns') {
    if (id.value.startsWith('*.') && !scope.allowWildcards) {
      return new AcmeProblem('rejectedIdentifier', `${id.value}: wildcards are outside the CA's ceiling`, {
        identifier: id,
      });
    }
    if (scope.dnsSuffixes.some((s) => s === '.' || dnsNameUnder(id.value, s))) return null;
    return new AcmeProblem(
      'rejectedIdentifier',
      `${id.value} is outside the CA's allowed DNS suffixes; the validator does not validate it`,
      { identifier: id },
    );
  }
  const ip = parseIp(id.value);
  if (ip && ranges.some((r) => ipInCidr(ip, r))) return null;
  return new AcmeProblem(
    'rejectedIdentifier',
    `${id.value} is outside the CA's allowed IP ranges; the validator does not validate it`,
    { identifier: id },
  );
}
