// The CRL (RFC 5280 §5): signed in the HSM on every revocation and on a timer, with a CRL number
// that only grows (§5.2.3) and nextUpdate = now + config.crl.nextUpdateSeconds. One CRL per issuer,
// listing only that issuer's serials. Every signer sharing the store signs CRLs; the numbers come
// from the store (allocateCrlNumber), so they grow whoever signs, and the store keeps whichever
// has the highest number.

import { fromHex } from '../../shared/encoding.ts';
import type { CaSigner } from '../ca-signer.ts';
import type { SignerConfig } from '../config.ts';
import type { SignerStore } from '../store/store.ts';
import type { CertTools } from './types.ts';

export class CrlIssuer {
  private tail: Promise<unknown> = Promise.resolve();
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly store: SignerStore,
    private readonly signer: CaSigner,
    private readonly tools: CertTools,
    private readonly issuerCertDer: Uint8Array,
    private readonly issuerId: string,
    private readonly cfg: SignerConfig['crl'],
    private readonly log: (line: Record<string, unknown>) => void = () => {},
  ) {}

  /** The current CRL DER, or undefined before the first one was signed. */
  async current(): Promise<Uint8Array | undefined> {
    const row = await this.store.currentCrl(this.issuerId);
    return row ? new Uint8Array(row.der) : undefined;
  }

  /** Signs and stores the next CRL (one at a time in this process); returns its number. */
  reissue(cause: string): Promise<bigint> {
    const run = this.tail.then(() => this.reissueNow(cause));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async reissueNow(cause: string): Promise<bigint> {
    // The number first, then the list: a revocation committed before this CRL's number was handed
    // out is on this CRL or on any CRL with a higher number.
    const crlNumber = BigInt(await this.store.allocateCrlNumber(this.issuerId));
    const thisUpdate = new Date(Math.floor(Date.now() / 1000) * 1000);
    const nextUpdate = new Date(thisUpdate.getTime() + this.cfg.nextUpdateSeconds * 1000);
    const revoked = (await this.store.revokedUnexpired(this.issuerId, thisUpdate)).map((r) => ({
      serial: fromHex(r.serial),
      revokedAt: new Date(r.revokedAt),
      reason: r.revocationReason,
    }));
    const der = await this.tools.buildCrl({
      issuerCertDer: this.issuerCertDer,
      signer: this.signer,
      crlNumber,
      thisUpdate,
      nextUpdate,
      revoked,
    });
    const saved = await this.store.saveCrl(
      this.issuerId,
      {
        crlNumber: Number(crlNumber),
        thisUpdate: thisUpdate.getTime(),
        nextUpdate: nextUpdate.getTime(),
        der,
      },
      {
        crlNumber: crlNumber.toString(),
        cause,
        entries: revoked.length,
        nextUpdate: nextUpdate.toISOString(),
      },
    );
    if (saved) return crlNumber;
    // Another signer published a CRL with a higher number meanwhile: its number was handed out
    // after this one, so its list was read later and holds everything this one does.
    const newer = await this.store.currentCrl(this.issuerId);
    if (!newer) throw new Error('a newer CRL was published but none is stored');
    return BigInt(newer.crlNumber);
  }

  /**
   * Signs one now, then every refreshSeconds. Always at start, even when the stored one is fresh:
   * a store restored from a backup holds an older CRL than the one last published, and a relying
   * party must never be served a CRL number lower than one it has seen (RFC 5280 §5.2.3).
   */
  async start(): Promise<void> {
    await this.reissue('start').catch((e: unknown) =>
      this.log({ event: 'crl-failed', cause: 'start', error: msg(e) }),
    );
    this.timer = setInterval(() => {
      this.reissue('refresh').catch((e: unknown) =>
        this.log({ event: 'crl-failed', cause: 'refresh', error: msg(e) }),
      );
    }, this.cfg.refreshSeconds * 1000);
    this.timer.unref();
  }

  /** Stops the timer and waits for a CRL being signed. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.tail;
  }
}

function msg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
