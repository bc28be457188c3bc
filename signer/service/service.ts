// The signer's issuance logic behind POST /v1/sign and /v1/revoke. Order of checks: relay JWS
// (pinned edge key, op, freshness), then the jti is recorded durably (a replay is refused and
// audited), then the request itself. Signing is idempotent per orderId (invariant 3 in docs/architecture.md):
// the INTENT (serial + TBS) is stored before the HSM signs, so a crash or 503 between the two is
// completed by re-signing the SAME TBS: ECDSA signatures differ from one signing to the next,
// but serial, names, validity and key, everything the certificate says, are identical.

import { b64uDecode, derToPem, toHex } from '../../shared/encoding.ts';
import { canonicalIdentifiers, normalizeIdentifier } from '../../shared/identifiers.ts';
import { AcmeProblem, type Identifier } from '../../shared/problems.ts';
import {
  RELAY_VERSIONS_SERVED,
  type RelayKey,
  type RevokeRequest,
  type SignRequest,
  verifyRelay,
} from '../../shared/relay.ts';
import { HsmUnavailableError } from '../ca-signer.ts';
import { checkCeiling } from '../ceiling.ts';
import type { SignerConfig } from '../config.ts';
import { sha256Hex } from '../digest.ts';
import { nodeRelayCrypto } from '../relay-crypto.ts';
import type { IssuanceRow, NewIntent, SignerStore } from '../store/store.ts';
import { CrlIssuer } from './crl.ts';
import type { IssuerRegistry, LoadedIssuer } from './issuers.ts';
import { KeyedLock } from './keyed-lock.ts';
import type { CertTools, RequestLog } from './types.ts';

/** Seconds a client is asked to wait when the HSM is unavailable. */
export const HSM_RETRY_AFTER_S = 5;
/** RFC 5280 §5.3.1 CRLReason: 7 is unused; removeFromCRL (8) belongs in delta CRLs only, never a revocation. */
const REVOCATION_REASONS: ReadonlySet<number> = new Set([0, 1, 2, 3, 4, 5, 6, 9, 10]);
const SERIAL_RE = /^(?:[0-9a-f]{2}){1,20}$/;
/** Longest text an audit row keeps of a value the edge sent (the edge may be compromised). */
const AUDIT_TEXT_MAX = 200;

/**
 * A refusal of an AUTHENTICATED relay request: the problem answered, the rule it broke and what
 * the audit row records beside it. sign() and revoke() audit each one as a `refuse` row, so no
 * refusal path can forget its row (docs/threat-model.md: the edge cannot hide what it asked for).
 */
class Refusal extends AcmeProblem {
  constructor(
    readonly rule: string,
    problem: AcmeProblem,
    readonly details: Record<string, unknown> = {},
  ) {
    super(problem.kind, problem.message, {
      status: problem.status,
      subproblems: problem.subproblems,
      ...(problem.identifier ? { identifier: problem.identifier } : {}),
    });
  }
}

/** A string the edge sent, cut to what an audit row keeps; anything else is recorded by its type. */
function bounded(v: unknown): string | null {
  if (typeof v === 'string') return v.slice(0, AUDIT_TEXT_MAX);
  return v === undefined ? null : `<${typeof v}>`;
}

export interface ServiceOptions {
  config: SignerConfig;
  store: SignerStore;
  /** the issuers this signer signs with (service/issuers.ts) */
  issuers: IssuerRegistry;
  edgeKeys: ReadonlyMap<string, RelayKey>;
  log?: (line: Record<string, unknown>) => void;
}

export interface SignOutcome {
  chainPem: string;
  serial: string;
  /** true when an existing certificate was returned */
  existing: boolean;
}

export class SignerService {
  readonly crl: CrlIssuer;
  /** told after every HSM signature attempt whether the HSM answered (health without a probe) */
  onHsmState?: (ok: boolean) => void;
  private readonly orders = new KeyedLock();
  private readonly serials = new KeyedLock();

  get store(): SignerStore {
    return this.o.store;
  }

  constructor(private readonly o: ServiceOptions) {
    this.crl = new CrlIssuer(o.store, o.issuers, o.config.crl, o.log);
  }

  async sign(jws: string, log: RequestLog = {}): Promise<SignOutcome> {
    const payload = await this.verified<SignRequest>(jws, 'sign', log);
    if (typeof payload.rid === 'string') log.rid = payload.rid;
    try {
      const shape = signShapeProblem(payload);
      if (shape) {
        await this.consumeJti(payload.jti, payload.exp, 'sign', { orderId: bounded(payload.orderId) });
        throw new Refusal('requestShape', shape);
      }
      log.orderId = payload.orderId;
      const out = await this.orders.run(payload.orderId, () => this.signLocked(payload));
      log.serial = out.serial;
      return out;
    } catch (e) {
      if (e instanceof Refusal)
        await this.auditRefusal('sign', payload, e, { orderId: bounded(payload.orderId) });
      throw e;
    }
  }

  /** The `refuse` row of a refused authenticated request: rule, bounded detail, what was asked. */
  private async auditRefusal(
    op: 'sign' | 'revoke',
    payload: { jti: string },
    r: Refusal,
    ctx: Record<string, unknown>,
  ): Promise<void> {
    await this.o.store.auditEvent('refuse', {
      op,
      jti: payload.jti,
      ...ctx,
      ...r.details,
      rule: r.rule,
      detail: r.message.slice(0, AUDIT_TEXT_MAX),
    });
  }

  /**
   * The jti is recorded before anything is acted on. For a new order (the common case) it is
   * recorded in the same transaction as the intent, so an issuance costs two commits: jti +
   * intent before the HSM signs, then certificate + audit row.
   */
  private async signLocked(req: SignRequest): Promise<SignOutcome> {
    const ctx = { orderId: req.orderId };
    let csrDer: Uint8Array;
    try {
      csrDer = b64uDecode(req.csr);
    } catch {
      await this.consumeJti(req.jti, req.exp, 'sign', ctx);
      throw new Refusal('csrEncoding', new AcmeProblem('malformed', 'csr is not base64url'));
    }
    const csrHash = sha256Hex(csrDer);
    let jtiConsumed = false;
    // Two rounds at most: the second only when another process recorded this order's intent first.
    for (let round = 0; round < 2; round++) {
      const row = await this.o.store.byOrder(req.orderId);
      if (row) {
        if (!jtiConsumed) await this.consumeJti(req.jti, req.exp, 'sign', ctx);
        jtiConsumed = true;
        if (row.csrHash !== csrHash) {
          throw new Refusal(
            'csrChanged',
            new AcmeProblem('badCSR', `order ${req.orderId} was already signed for a different CSR`, {
              status: 409,
            }),
            { serial: row.serial },
          );
        }
        if (row.status === 'issued' && row.chainPem)
          return { chainPem: row.chainPem, serial: row.serial, existing: true };
        return this.completeIntent(row);
      }
      const intent = await this.prepareIntent(req, csrDer, csrHash, jtiConsumed);
      if (jtiConsumed) {
        if (await this.o.store.insertIntent(intent)) return this.completeIntent(intentRow(intent));
        continue;
      }
      const r = await this.o.store.recordJtiAndIntent(req.jti, req.exp, intent);
      if (!r.jtiFresh) await this.refuseReplay(req.jti, 'sign', ctx);
      jtiConsumed = true;
      if (r.intentInserted) return this.completeIntent(intentRow(intent));
    }
    throw new Error(`order ${req.orderId}: intent could not be recorded`);
  }

  /** Parses the CSR, checks the ceiling (auditing a refusal) and builds the TBS certificate. */
  private async prepareIntent(
    req: SignRequest,
    csrDer: Uint8Array,
    csrHash: string,
    jtiConsumed: boolean,
  ): Promise<NewIntent> {
    // The issuer first: a 503 when none is usable here records nothing, not even the jti.
    const issuer = this.o.issuers.forNewOrder(req.profile);
    let csr: Awaited<ReturnType<CertTools['parseCsr']>>;
    try {
      csr = await issuer.tools.parseCsr(csrDer);
    } catch (e) {
      // A refused request still uses up its jti (recorded before the answer, replays refused).
      if (!jtiConsumed) await this.consumeJti(req.jti, req.exp, 'sign', { orderId: req.orderId });
      const problem =
        e instanceof AcmeProblem
          ? e
          : new AcmeProblem(
              'badCSR',
              `the CSR cannot be parsed: ${e instanceof Error ? e.message : String(e)}`,
            );
      throw new Refusal('csrUnparsable', problem);
    }
    const notBefore = new Date(req.notBefore);
    const notAfter = new Date(req.notAfter);
    const violation = checkCeiling(this.o.config.ceiling, {
      identifiers: req.identifiers,
      profile: req.profile,
      notBefore,
      notAfter,
      csr,
    });
    if (violation) {
      if (!jtiConsumed) await this.consumeJti(req.jti, req.exp, 'sign', { orderId: req.orderId });
      throw new Refusal(
        violation.rule,
        new AcmeProblem(
          'unauthorized',
          `refused by the signer ceiling (${violation.rule}): ${violation.detail.slice(0, AUDIT_TEXT_MAX)}`,
        ),
        {
          accountId: bounded(req.accountId),
          // At most 100 identifiers (signShapeProblem), each value cut to what a row keeps.
          identifiers: req.identifiers.map((i) =>
            typeof i === 'object' && i !== null
              ? { type: bounded(i.type), value: bounded(i.value) }
              : bounded(i),
          ),
          profile: bounded(req.profile),
        },
      );
    }
    const profile = this.o.config.ceiling.profiles[req.profile];
    if (!profile || csr.keyType === 'unsupported')
      throw new Error('ceiling passed an unknown profile or key type');
    const identifiers = canonicalIdentifiers(req.identifiers.map((i) => normalizeIdentifier(i)));
    const serial = issuer.tools.randomSerial();
    const tbs = issuer.tools.leafBuilder.buildTbs({
      serial,
      spki: csr.spki,
      identifiers,
      notBefore,
      notAfter,
      ekus: profile.ekus,
      leafKeyType: csr.keyType,
    });
    return {
      orderId: req.orderId,
      serial: toHex(serial),
      issuer: issuer.id,
      csrHash,
      tbs,
      identifiers,
      profile: req.profile,
      accountId: req.accountId,
      notBefore,
      notAfter,
    };
  }

  /**
   * The issuer an intent was recorded with: after a rotation a retry is still completed by the
   * issuer it began with (a retiring one signs it too).
   */
  private async issuerOf(row: IssuanceRow): Promise<LoadedIssuer> {
    let known = this.o.issuers.byId(row.issuer);
    if (!known) {
      // Recorded by a signer that learnt of a rotation first: read the store's issuers again.
      await this.o.issuers.refresh();
      known = this.o.issuers.byId(row.issuer);
    }
    if (known) return known;
    throw new AcmeProblem(
      'serviceUnavailable',
      `order ${row.orderId} was begun by issuer ${row.issuer}, whose key this signer does not hold`,
      { retryAfter: HSM_RETRY_AFTER_S },
    );
  }

  /** Signs a recorded TBS in the HSM and records the certificate with its audit row. */
  private async completeIntent(row: IssuanceRow): Promise<SignOutcome> {
    const issuer = await this.issuerOf(row);
    const tbs = new Uint8Array(row.tbs);
    let signature: Uint8Array;
    try {
      signature = await issuer.signer.sign(tbs);
      this.onHsmState?.(true);
    } catch (e) {
      if (e instanceof HsmUnavailableError) {
        this.onHsmState?.(false);
        throw new AcmeProblem('serviceUnavailable', 'the HSM is unavailable; retry later', {
          retryAfter: HSM_RETRY_AFTER_S,
        });
      }
      throw e;
    }
    const certDer = issuer.tools.leafBuilder.assemble(tbs, signature);
    const chainPem = derToPem(certDer) + issuer.chainPem;
    const applied = await this.o.store.markIssued(row.orderId, certDer, chainPem, {
      orderId: row.orderId,
      issuer: issuer.id,
      accountId: row.accountId,
      serial: row.serial,
      identifiers: JSON.parse(row.identifiers) as Identifier[],
      profile: row.profile,
      notBefore: new Date(row.notBefore).toISOString(),
      notAfter: new Date(row.notAfter).toISOString(),
      certSha256: sha256Hex(certDer),
    });
    if (applied) return { chainPem, serial: row.serial, existing: false };
    // Another process completed the same intent first: its certificate is the one on record.
    const done = await this.o.store.byOrder(row.orderId);
    if (!done?.chainPem) throw new Error(`order ${row.orderId}: issued row has no chain`);
    return { chainPem: done.chainPem, serial: done.serial, existing: true };
  }

  async revoke(
    jws: string,
    log: RequestLog = {},
  ): Promise<{ serial: string; revokedAt: string; crlNumber?: string }> {
    const payload = await this.verified<RevokeRequest>(jws, 'revoke', log);
    if (typeof payload.rid === 'string') log.rid = payload.rid;
    const serial = typeof payload.serial === 'string' ? payload.serial.toLowerCase() : '';
    let revokedAt: Date;
    let issuerId: string;
    try {
      if (!SERIAL_RE.test(serial)) {
        await this.consumeJti(payload.jti, payload.exp, 'revoke', { serial: bounded(payload.serial) });
        throw new Refusal(
          'serialFormat',
          new AcmeProblem('malformed', 'serial must be the hex serial number'),
        );
      }
      log.serial = serial;
      await this.consumeJti(payload.jti, payload.exp, 'revoke', { serial });
      if (typeof payload.reason !== 'number' || !REVOCATION_REASONS.has(payload.reason)) {
        throw new Refusal(
          'revocationReason',
          new AcmeProblem(
            'badRevocationReason',
            'reason must be an RFC 5280 CRLReason: 0-6, 9 or 10 (8, removeFromCRL, is for delta CRLs)',
          ),
          { reason: typeof payload.reason === 'number' ? payload.reason : bounded(payload.reason) },
        );
      }
      const reason = payload.reason;
      const alreadyRevoked = () =>
        new Refusal(
          'alreadyRevoked',
          new AcmeProblem('alreadyRevoked', `certificate ${serial} is already revoked`),
          { reason },
        );
      ({ at: revokedAt, issuerId } = await this.serials.run(serial, async () => {
        const row = await this.o.store.bySerial(serial);
        if (row?.status !== 'issued') {
          throw new Refusal(
            'unknownSerial',
            new AcmeProblem('notFound', `no certificate with serial ${serial}`),
            {
              reason,
            },
          );
        }
        if (row.revokedAt !== null) throw alreadyRevoked();
        await this.knownIssuer(row.issuer, serial);
        const at = new Date(Math.floor(Date.now() / 1000) * 1000);
        const details = {
          serial,
          reason,
          orderId: row.orderId,
          accountId: row.accountId,
          issuer: row.issuer,
        };
        if (!(await this.o.store.markRevoked(serial, reason, at, details))) throw alreadyRevoked();
        return { at, issuerId: row.issuer };
      }));
    } catch (e) {
      if (e instanceof Refusal)
        await this.auditRefusal('revoke', payload, e, { serial: bounded(payload.serial) });
      throw e;
    }
    // The revocation is on record whatever happens next; a failed CRL is retried by the timer, and
    // an issuer whose key is not here has its CRL signed by a signer that holds it.
    const issuer = this.o.issuers.byId(issuerId);
    if (!issuer) {
      this.o.log?.({ event: 'crl-deferred', cause: `revoke ${serial}`, issuer: issuerId });
      return { serial, revokedAt: revokedAt.toISOString() };
    }
    try {
      const crlNumber = await this.crl.reissue(issuer, `revoke ${serial}`);
      return { serial, revokedAt: revokedAt.toISOString(), crlNumber: crlNumber.toString() };
    } catch (e) {
      this.o.log?.({
        event: 'crl-failed',
        cause: `revoke ${serial}`,
        error: e instanceof Error ? e.message : String(e),
      });
      return { serial, revokedAt: revokedAt.toISOString() };
    }
  }

  /**
   * A revocation must reach a CRL: the certificate's issuer must be one the store knows (a signer
   * holding its key signs its CRL). Otherwise nothing is recorded and the answer names the issuer;
   * the edge keeps the revocation to retry.
   */
  private async knownIssuer(id: string, serial: string): Promise<void> {
    if (this.o.issuers.row(id)) return;
    await this.o.issuers.refresh();
    if (this.o.issuers.row(id)) return;
    throw new AcmeProblem(
      'serverInternal',
      `certificate ${serial} was issued by issuer ${id}, which this signer's store does not know: no CRL could list its revocation`,
    );
  }

  /**
   * The relay JWS verified against the pinned edge keys. A request that fails (unpinned key, bad
   * signature, wrong op, stale) is refused AND audited, not only logged: the audit log
   * shows who tried. Details are bounded, since the sender is not yet authenticated.
   * Once verified, `log` holds what the signed answer binds: the jti, and the orderId or serial
   * as the edge sent them. A protocol version this signer does not serve is refused then.
   */
  private async verified<T extends SignRequest | RevokeRequest>(
    jws: string,
    op: 'sign' | 'revoke',
    log: RequestLog,
  ): Promise<T> {
    let payload: T;
    try {
      payload = (await verifyRelay<T>(jws, { op, keys: this.o.edgeKeys, crypto: nodeRelayCrypto })).payload;
    } catch (e) {
      if (e instanceof AcmeProblem) {
        await this.o.store.auditEvent('refuse', {
          op,
          rule: 'relay-authentication',
          detail: e.message.slice(0, 200),
          kid: relayKid(jws),
        });
      }
      throw e;
    }
    log.jti = payload.jti;
    const asked = payload as unknown as Record<string, unknown>;
    if (op === 'sign' && typeof asked.orderId === 'string' && asked.orderId.length <= 1024)
      log.orderId = asked.orderId;
    if (op === 'revoke' && typeof asked.serial === 'string' && asked.serial.length <= 64)
      log.serial = asked.serial.toLowerCase();
    const v = payload.v ?? 1;
    if (!RELAY_VERSIONS_SERVED.has(v)) {
      const problem = new AcmeProblem(
        'malformed',
        `relay protocol version ${String(v).slice(0, 20)} is not served here (${[...RELAY_VERSIONS_SERVED].join(', ')})`,
      );
      await this.auditRefusal(op, payload, new Refusal('protocolVersion', problem), {
        orderId: bounded(asked.orderId),
        serial: bounded(asked.serial),
      });
      throw problem;
    }
    return payload;
  }

  private async consumeJti(
    jti: string,
    exp: number,
    op: string,
    ctx: Record<string, unknown>,
  ): Promise<void> {
    if (await this.o.store.recordJti(jti, exp)) return;
    await this.refuseReplay(jti, op, ctx);
  }

  private async refuseReplay(jti: string, op: string, ctx: Record<string, unknown>): Promise<never> {
    await this.o.store.auditEvent('replay', { op, jti, ...ctx });
    throw new AcmeProblem('unauthorized', 'relay request was already used (replayed jti)');
  }
}

/** The kid a relay JWS names (unverified, bounded), for the audit row of a refusal. */
function relayKid(jws: string): string | null {
  try {
    const part = (typeof jws === 'string' ? jws.split('.')[0] : '') ?? '';
    const kid = (JSON.parse(new TextDecoder().decode(b64uDecode(part))) as { kid?: unknown }).kid;
    return typeof kid === 'string' ? kid.slice(0, 100) : null;
  } catch {
    return null;
  }
}

/** The row an intent was just stored as (no read back: the store wrote exactly these values). */
function intentRow(i: NewIntent): IssuanceRow {
  return {
    orderId: i.orderId,
    serial: i.serial,
    issuer: i.issuer,
    csrHash: i.csrHash,
    tbs: Buffer.from(i.tbs.buffer, i.tbs.byteOffset, i.tbs.byteLength),
    certDer: null,
    chainPem: null,
    status: 'intent',
    identifiers: JSON.stringify(i.identifiers),
    profile: i.profile,
    accountId: i.accountId,
    notBefore: i.notBefore.getTime(),
    notAfter: i.notAfter.getTime(),
    createdAt: Date.now(),
    issuedAt: null,
    revokedAt: null,
    revocationReason: null,
  };
}

/** What is wrong with the shape of a sign request, or null when nothing is. */
function signShapeProblem(p: SignRequest): AcmeProblem | null {
  const str = (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= 1024;
  if (!str(p.orderId) || !str(p.accountId) || !str(p.profile) || typeof p.csr !== 'string') {
    return new AcmeProblem('malformed', 'sign request needs orderId, accountId, profile and csr');
  }
  if (!Array.isArray(p.identifiers) || p.identifiers.length > 100) {
    return new AcmeProblem('malformed', 'sign request needs an identifiers array (at most 100)');
  }
  if (
    !str(p.notBefore) ||
    !str(p.notAfter) ||
    Number.isNaN(Date.parse(p.notBefore)) ||
    Number.isNaN(Date.parse(p.notAfter))
  ) {
    return new AcmeProblem('malformed', 'notBefore and notAfter must be RFC 3339 dates');
  }
  return null;
}
