// `edgeca signer audit-verify`: the hash chain (store/audit.ts) and its signed checkpoints
// (store/checkpoints.ts). The store is what an attacker may have rewritten, so nothing in it is
// trusted: a checkpoint counts only if its signature verifies with the key of an issuer
// certificate that chains to a root certificate given from outside the store (ca.rootCertFile or
// --root, which may hold several roots when issuers of several roots share the store). A chain rewritten consistently by someone who can write to the database, without
// the HSM, then fails: the head a checkpoint signed is no longer on the chain, or the checkpoint
// was changed too and its signature does not verify.
import { verify, X509Certificate } from 'node:crypto';
import { pemToDers } from '../shared/encoding.ts';
import { issuerIdOf } from './service/issuers.ts';
import { type Checkpoint, checkpointMessage } from './store/checkpoints.ts';
import type { SignerStore } from './store/store.ts';
import { chainsToRoots } from './x509/anchor.ts';
import { caKeyTypeOfSpki, caSignatureHash } from './x509/common.ts';

export interface AuditReport {
  ok: boolean;
  rows: number;
  firstBadSeq?: number;
  reason?: string;
  /** set after older rows were purged: the signed checkpoint the remaining chain starts from */
  anchoredAt?: number;
  /** checkpoints the chain passes through whose signatures were checked */
  checkpoints: number;
  newestCheckpoint?: { seq: number; time: string; issuer: string };
  /** rows after the newest checkpoint: a consistent rewrite of these is not yet detectable */
  rowsAfterNewestCheckpoint?: number;
  /** when no checkpoint was checked (allowUnsigned): the hash chain alone was */
  unsigned?: true;
}

export interface AuditVerifyOptions {
  /** the trust anchors (DER); required unless allowUnsigned */
  roots?: Uint8Array[];
  /** issuer certificates known from outside the store (signer.json's), beside the store's */
  extraIssuers?: Uint8Array[];
  /** check the hash chain alone when the store holds no checkpoint (or no root is given) */
  allowUnsigned?: boolean;
  /** fail when the newest checkpoint is older than this many seconds */
  maxAgeSeconds?: number;
  now?: number;
}

/** The issuer certificates among `candidates` that chain to one of `roots`, by issuer id. */
export function anchoredIssuers(
  candidates: Uint8Array[],
  intermediates: Uint8Array[],
  roots: Uint8Array[],
): Map<string, X509Certificate> {
  const out = new Map<string, X509Certificate>();
  for (const der of candidates)
    if (chainsToRoots(der, intermediates, roots)) out.set(issuerIdOf(der), new X509Certificate(der));
  return out;
}

/** The hash an issuer's key signs with: its key type's (shared/key-types.ts), else SHA-256. */
function hashOf(cert: X509Certificate): 'sha256' | 'sha384' {
  const type = caKeyTypeOfSpki(new Uint8Array(cert.publicKey.export({ type: 'spki', format: 'der' })));
  return type ? caSignatureHash(type) : 'sha256';
}

export function checkpointSignatureValid(cp: Checkpoint, cert: X509Certificate): boolean {
  try {
    return verify(
      hashOf(cert),
      checkpointMessage(cp),
      { key: cert.publicKey, dsaEncoding: 'der' },
      cp.signature,
    );
  } catch {
    return false;
  }
}

export async function verifyAudit(store: SignerStore, o: AuditVerifyOptions): Promise<AuditReport> {
  const chain = await store.verifyAudit({ withCheckpoints: true });
  const cps = chain.checkpoints ?? [];
  const base = {
    rows: chain.rows,
    ...(chain.anchoredAt !== undefined ? { anchoredAt: chain.anchoredAt } : {}),
    checkpoints: 0,
  };
  if (!chain.ok) {
    return {
      ok: false,
      ...base,
      ...(chain.firstBadSeq !== undefined ? { firstBadSeq: chain.firstBadSeq } : {}),
      reason: chain.reason ?? 'the audit chain is broken',
    };
  }
  const roots = o.roots ?? [];
  if (cps.length === 0 || roots.length === 0) {
    if (o.allowUnsigned) return { ok: true, ...base, unsigned: true };
    if (roots.length === 0) {
      return {
        ok: false,
        ...base,
        reason:
          'no root certificate to check the signed checkpoints against: set ca.rootCertFile or give --root ' +
          '(or --allow-unsigned to check the hash chain alone)',
      };
    }
    if (chain.rows > 0) {
      return {
        ok: false,
        ...base,
        firstBadSeq: 1,
        reason:
          'the store holds no signed checkpoint, so a consistent rewrite of the chain would not show: ' +
          'start a signer (it signs one when it starts), or give --allow-unsigned to check the hash chain alone',
      };
    }
    return { ok: true, ...base };
  }
  const issuerRows = await store.issuers.list();
  const candidates = [
    ...issuerRows.flatMap((r) => (r.certDer ? [r.certDer] : [])),
    ...(o.extraIssuers ?? []),
  ];
  const intermediates = issuerRows.flatMap((r) => pemToDers(r.chainPem));
  const trusted = anchoredIssuers(candidates, intermediates, roots);
  let previous = chain.anchoredAt ?? 0;
  for (const cp of cps) {
    const cert = trusted.get(cp.issuer);
    const bad = (reason: string): AuditReport => ({
      ok: false,
      ...base,
      checkpoints: cps.indexOf(cp),
      firstBadSeq: cp.seq === chain.anchoredAt ? cp.seq : previous + 1,
      reason,
    });
    if (!cert) {
      return bad(
        `the checkpoint at row ${cp.seq} names issuer ${cp.issuer}, which has no certificate chaining to the root (a root of another issuer sharing this store goes in the --root bundle)`,
      );
    }
    if (!checkpointSignatureValid(cp, cert)) {
      return bad(
        `the signature of the checkpoint at row ${cp.seq} does not verify: the checkpoint, or the rows ` +
          `before it, were changed without the HSM key`,
      );
    }
    previous = cp.seq;
  }
  const newest = cps[cps.length - 1] as Checkpoint;
  const report: AuditReport = {
    ok: true,
    ...base,
    checkpoints: cps.length,
    newestCheckpoint: { seq: newest.seq, time: new Date(newest.time).toISOString(), issuer: newest.issuer },
    rowsAfterNewestCheckpoint: (chain.anchoredAt ?? 0) + chain.rows - newest.seq,
  };
  if (o.maxAgeSeconds !== undefined) {
    const age = ((o.now ?? Date.now()) - newest.time) / 1000;
    if (age > o.maxAgeSeconds) {
      return {
        ...report,
        ok: false,
        reason: `the newest signed checkpoint is ${Math.round(age)} s old (more than ${o.maxAgeSeconds} s): rows after row ${newest.seq} are not covered by a signature`,
      };
    }
  }
  return report;
}
