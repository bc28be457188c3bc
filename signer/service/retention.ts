// Runs the purge of the signer's store (store/retention.ts) on a timer, with signer.json's
// `retention` settings: one bounded run every intervalSeconds, one log line per run, the rows
// deleted counted in edgeca_signer_purged_rows_total. Audit rows are purged only up to a checkpoint
// whose signature verifies with its issuer's certificate in the store, so a checkpoint written
// into the database without the HSM cannot anchor a purge. Every signer sharing a store runs
// this; two runs at once delete each row once.
import { X509Certificate } from 'node:crypto';
import { checkpointSignatureValid } from '../audit-verify.ts';
import type { SignerConfig } from '../config.ts';
import type { SignerMetrics } from '../metrics.ts';
import type { Checkpoint } from '../store/checkpoints.ts';
import type { SignerPurgeOptions, SignerPurgeRun, SignerRetention } from '../store/retention.ts';
import type { SignerStore } from '../store/store.ts';

export const DEFAULT_RETENTION_INTERVAL_S = 300;
export const DEFAULT_ISSUANCE_DAYS = 90;
export const DEFAULT_AUDIT_DAYS = 365;

function days(name: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
    throw new Error(
      `signer config: ${name} must be a whole number of days (0 or more), got ${JSON.stringify(v)}`,
    );
  return v;
}

/** signer.json's `retention`, with defaults; throws naming the setting that is wrong. */
export function retentionOf(
  config: Pick<SignerConfig, 'retention'>,
): SignerRetention & { intervalSeconds: number } {
  const r = config.retention ?? {};
  return {
    issuanceDays: days('retention.issuanceDays', r.issuanceDays, DEFAULT_ISSUANCE_DAYS),
    auditDays: r.auditDays === null ? null : days('retention.auditDays', r.auditDays, DEFAULT_AUDIT_DAYS),
    intervalSeconds: days('retention.intervalSeconds', r.intervalSeconds, DEFAULT_RETENTION_INTERVAL_S),
  };
}

/** Whether a checkpoint's signature verifies with the certificate of the issuer it names. */
export async function checkpointTrust(store: SignerStore): Promise<(cp: Checkpoint) => boolean> {
  const certs = new Map<string, X509Certificate>();
  for (const r of await store.issuers.list()) if (r.certDer) certs.set(r.id, new X509Certificate(r.certDer));
  return (cp) => {
    const cert = certs.get(cp.issuer);
    return cert !== undefined && checkpointSignatureValid(cp, cert);
  };
}

export class StorePurger {
  private timer: ReturnType<typeof setInterval> | undefined;
  private running: Promise<SignerPurgeRun | undefined> | undefined;
  private readonly policy: ReturnType<typeof retentionOf>;

  constructor(
    private readonly o: {
      store: SignerStore;
      config: Pick<SignerConfig, 'retention'>;
      log: (line: Record<string, unknown>) => void;
      metrics?: Pick<SignerMetrics, 'purgedRows'>;
    },
  ) {
    this.policy = retentionOf(o.config);
  }

  /** One bounded run; failures are logged, not thrown. A run under way is joined, not doubled. */
  run(opts: Omit<SignerPurgeOptions, 'trustCheckpoint'> = {}): Promise<SignerPurgeRun | undefined> {
    this.running ??= this.runOnce(opts)
      .catch((e: unknown) => {
        this.o.log({ event: 'purge-failed', error: e instanceof Error ? e.message : String(e) });
        return undefined;
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async runOnce(opts: Omit<SignerPurgeOptions, 'trustCheckpoint'>): Promise<SignerPurgeRun> {
    const trustCheckpoint = await checkpointTrust(this.o.store);
    const r = await this.o.store.purgeExpired(this.policy, { ...opts, trustCheckpoint });
    if (r.issuance > 0) this.o.metrics?.purgedRows.inc({ table: 'issuance' }, r.issuance);
    if (r.audit > 0) this.o.metrics?.purgedRows.inc({ table: 'audit_log' }, r.audit);
    this.o.log({
      event: 'purge',
      purged: { issuance: r.issuance, audit_log: r.audit },
      ...(r.anchoredAt !== undefined ? { auditAnchoredAt: r.anchoredAt } : {}),
      ...(r.auditRefused ? { auditRefused: r.auditRefused } : {}),
      unfinished: r.unfinished,
      ms: r.ms,
    });
    return r;
  }

  /** Runs every intervalSeconds (not at all when 0); the timer does not keep the process alive. */
  start(): void {
    if (this.policy.intervalSeconds <= 0) return;
    this.timer = setInterval(() => void this.run(), this.policy.intervalSeconds * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
