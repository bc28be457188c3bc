// The CRLs (RFC 5280 §5): one per issuer, listing only that issuer's serials, each with its own
// number sequence (§5.2.3: numbers only grow) and nextUpdate = now + config.crl.nextUpdateSeconds.
// Signed in the HSM on every revocation and on a timer, for every issuer this signer holds that is
// active or retiring; a retiring issuer whose last certificate has expired becomes retired and its
// CRL is no longer signed. Every signer sharing the store signs CRLs; the numbers come from the
// store (allocateCrlNumber), so they grow whoever signs, and the store keeps whichever has the
// highest number.

import { fromHex } from '../../shared/encoding.ts';
import type { SignerConfig } from '../config.ts';
import type { SignerStore } from '../store/store.ts';
import type { IssuerRegistry, LoadedIssuer } from './issuers.ts';

export class CrlIssuer {
  /** one CRL at a time per issuer in this process */
  private readonly tails = new Map<string, Promise<unknown>>();
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly store: SignerStore,
    private readonly issuers: IssuerRegistry,
    private readonly cfg: SignerConfig['crl'],
    private readonly log: (line: Record<string, unknown>) => void = () => {},
  ) {}

  /** The issuer's current CRL DER, or undefined before its first one was signed. */
  async current(issuerId: string): Promise<Uint8Array | undefined> {
    const row = await this.store.currentCrl(issuerId);
    return row ? new Uint8Array(row.der) : undefined;
  }

  /** Signs and stores the issuer's next CRL; returns its number. */
  reissue(issuer: LoadedIssuer, cause: string): Promise<bigint> {
    const run = (this.tails.get(issuer.id) ?? Promise.resolve()).then(() => this.reissueNow(issuer, cause));
    this.tails.set(
      issuer.id,
      run.catch(() => undefined),
    );
    return run;
  }

  private async reissueNow(issuer: LoadedIssuer, cause: string): Promise<bigint> {
    // The number first, then the list: a revocation committed before this CRL's number was handed
    // out is on this CRL or on any CRL with a higher number.
    const crlNumber = BigInt(await this.store.allocateCrlNumber(issuer.id));
    const thisUpdate = new Date(Math.floor(Date.now() / 1000) * 1000);
    const nextUpdate = new Date(thisUpdate.getTime() + this.cfg.nextUpdateSeconds * 1000);
    const revoked = (await this.store.revokedUnexpired(issuer.id, thisUpdate)).map((r) => ({
      serial: fromHex(r.serial),
      revokedAt: new Date(r.revokedAt),
      reason: r.revocationReason,
    }));
    const der = await issuer.tools.buildCrl({
      issuerCertDer: issuer.certDer,
      signer: issuer.signer,
      crlNumber,
      thisUpdate,
      nextUpdate,
      revoked,
    });
    const saved = await this.store.saveCrl(
      issuer.id,
      {
        crlNumber: Number(crlNumber),
        thisUpdate: thisUpdate.getTime(),
        nextUpdate: nextUpdate.getTime(),
        der,
      },
      {
        issuer: issuer.id,
        crlNumber: crlNumber.toString(),
        cause,
        entries: revoked.length,
        nextUpdate: nextUpdate.toISOString(),
      },
    );
    if (saved) return crlNumber;
    // Another signer published a CRL with a higher number meanwhile: its number was handed out
    // after this one, so its list was read later and holds everything this one does.
    const newer = await this.store.currentCrl(issuer.id);
    if (!newer) throw new Error('a newer CRL was published but none is stored');
    return BigInt(newer.crlNumber);
  }

  /**
   * Signs a CRL for each of `issuers` (all it holds by default), after retiring the retiring ones
   * whose certificates have all expired. Failures are logged; the timer tries again.
   */
  async reissueAll(cause: string, issuers = this.issuers.held()): Promise<void> {
    for (const issuer of issuers) {
      if (issuer.state === 'retiring') {
        const retired = await this.store.issuers
          .retireIfDone(issuer.id, Date.now())
          .catch((e: unknown) => this.failed(cause, issuer, e));
        if (retired) {
          this.log({ event: 'issuer-retired', issuer: issuer.id, detail: 'its last certificate expired' });
          await this.issuers.refresh().catch(() => undefined);
          continue;
        }
      }
      await this.reissue(issuer, cause).catch((e: unknown) => this.failed(cause, issuer, e));
    }
  }

  private failed(cause: string, issuer: LoadedIssuer, e: unknown): false {
    this.log({
      event: 'crl-failed',
      cause,
      issuer: issuer.id,
      error: e instanceof Error ? e.message : String(e),
    });
    return false;
  }

  /**
   * Signs one now for every issuer held, then every refreshSeconds. Always at start, even when
   * the stored one is fresh: a store restored from a backup holds an older CRL than the one last
   * published, and a relying party must never be served a CRL number lower than one it has seen
   * (RFC 5280 §5.2.3).
   */
  async start(): Promise<void> {
    await this.reissueAll('start');
    this.timer = setInterval(() => void this.reissueAll('refresh'), this.cfg.refreshSeconds * 1000);
    this.timer.unref();
  }

  /** Stops the timer and waits for CRLs being signed. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await Promise.all(this.tails.values());
  }
}
